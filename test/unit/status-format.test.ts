import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatStatus, readLastCheck, type Status } from '../../src/commands/status.js';

test('a missing, broken or foreign last-check.json reads as "no check yet", never as a crash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-status-'));
  try {
    const f = join(dir, 'last-check.json');
    assert.equal(readLastCheck(f), null);
    writeFileSync(f, '{"lab": "labs/ipvs", "ok": tr');
    assert.equal(readLastCheck(f), null);
    writeFileSync(f, '["not", "a", "result"]');
    assert.equal(readLastCheck(f), null);
    writeFileSync(
      f,
      JSON.stringify({
        lab: 'labs/ipvs',
        ok: true,
        finishedAt: '2026-11-21T22:00:00Z',
        counts: { total: 3, passed: 3, failed: 0, skipped: 0, errors: 0 },
        steps: [],
      }),
    );
    assert.deepEqual(readLastCheck(f), {
      lab: 'labs/ipvs',
      ok: true,
      passed: 3,
      failed: 0,
      total: 3,
      finishedAt: '2026-11-21T22:00:00Z',
      failedSteps: [],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the status screen: aligned nodes, ages, problems last', () => {
  const st: Status = {
    cluster: 'proxylab',
    exists: true,
    kubernetes: 'v1.33.7',
    configuredMode: '',
    nodes: [
      {
        name: 'proxylab-control-plane',
        role: 'control-plane',
        ready: true,
        kubeletVersion: 'v1.33.7',
        proxyMode: 'iptables',
      },
      {
        name: 'proxylab-worker',
        role: 'worker',
        ready: false,
        kubeletVersion: 'v1.33.7',
        proxyMode: null,
        problem: 'NotReady',
      },
    ],
    web: { deployed: true, replicas: 2, ready: 1, services: [] },
    lastCheck: {
      lab: 'labs/ipvs',
      ok: true,
      passed: 3,
      failed: 0,
      total: 3,
      finishedAt: '2026-11-21T20:00:00Z',
      failedSteps: [],
    },
    problems: ['proxylab-worker: NotReady'],
    notes: [],
  };
  const text = formatStatus(st, Date.parse('2026-11-21T22:00:00Z'));
  assert.equal(
    text,
    [
      'Cluster     proxylab: 2 nodes (1 control plane, 1 worker), 1/2 Ready',
      'Kubernetes  v1.33.7',
      'kube-proxy  configured: iptables (mode: "" in the ConfigMap)',
      '            ✔ proxylab-control-plane  iptables',
      '            ✘ proxylab-worker         ?          NotReady',
      'Web sample  1/2 pods ready; no service',
      'Last check  ✔ labs/ipvs: 3/3 steps passed (2 h ago)',
      '',
      'To look at:',
      '  → proxylab-worker: NotReady',
    ].join('\n'),
  );
});
