/**
 * `proxylab config` as a new user runs it: YAML that parses, exit 2 with every problem listed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { runCli } from '../helpers/cli.js';

test('config kubeadm --k8s 1.33 --mode ipvs --scheduler rr prints YAML with mode: ipvs', async () => {
  const r = await runCli([
    'config',
    'kubeadm',
    '--k8s',
    '1.33',
    '--mode',
    'ipvs',
    '--scheduler',
    'rr',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, unknown>);
  assert.equal(docs[0]!.apiVersion, 'kubeadm.k8s.io/v1beta4');
  assert.equal(docs[1]!.mode, 'ipvs');
  assert.deepEqual(docs[1]!.ipvs, { scheduler: 'rr' });
  assert.equal(r.stderr, '');
});

test('config kubeadm --scheduler rrr exits 2 listing the valid schedulers, prints no YAML', async () => {
  const r = await runCli([
    'config',
    'kubeadm',
    '--k8s',
    '1.33',
    '--mode',
    'ipvs',
    '--scheduler',
    'rrr',
  ]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(
    r.stderr,
    /✘ invalid options: 1 problem\n  • --scheduler: "rrr" is not an IPVS scheduler; valid: rr wrr lc wlc lblc lblcr sh dh sed nq mh\n  → /,
  );
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
});

test('config kubeadm refuses nftables before 1.31; config kind renders nftables for 1.33', async () => {
  const r = await runCli(['config', 'kubeadm', '--k8s', '1.30', '--mode', 'nftables']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nftables mode needs Kubernetes 1\.31 or newer \(asked for 1\.30\)/);
  const k = await runCli(['config', 'kind', '--k8s', '1.33', '--mode', 'nftables']);
  assert.equal(k.code, 0, k.stderr);
  assert.equal(
    (parse(k.stdout) as { networking: { kubeProxyMode: string } }).networking.kubeProxyMode,
    'nftables',
  );
  const ipvs35 = await runCli(['config', 'kubeadm', '--k8s', '1.35', '--mode', 'ipvs']);
  assert.equal(ipvs35.code, 0);
  assert.match(ipvs35.stderr, /⚠ IPVS mode is deprecated since Kubernetes 1\.35/);
});

test('config validate: a user file with several mistakes → exit 2, each listed; the fixed file passes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-config-'));
  try {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  scheduler: rrr\n  strictArp: true\n',
    );
    const r = await runCli(['config', 'validate', bad, '--k8s', '1.33']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is not valid: 2 problems/);
    assert.match(r.stderr, /ipvs\.strictArp: unknown key \(did you mean "strictARP"\?\)/);
    assert.match(r.stderr, /ipvs\.scheduler: "rrr" is not an IPVS scheduler/);
    const good = join(dir, 'good.yaml');
    writeFileSync(
      good,
      'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  scheduler: rr\n  strictARP: true\n',
    );
    const ok = await runCli(['config', 'validate', good, '--k8s', '1.33']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(
      ok.stdout,
      /✔ .*good\.yaml: KubeProxyConfiguration \(kubeproxy\.config\.k8s\.io\/v1alpha1\) — valid for Kubernetes 1\.33/,
    );
    const missing = await runCli(['config', 'validate', join(dir, 'nope.yaml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*nope\.yaml: ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config versions --json is the pinned table', async () => {
  const r = await runCli(['config', 'versions', '--json']);
  assert.equal(r.code, 0);
  const t = JSON.parse(r.stdout) as { kind: { version: string }; images: Record<string, string> };
  assert.equal(t.kind.version, 'v0.31.0');
  for (const img of Object.values(t.images))
    assert.match(img, /^kindest\/node:v1\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
  const bad = await runCli(['config', 'kubeadmin']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown config "kubeadmin"/);
});
