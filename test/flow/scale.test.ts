/**
 * `proxylab scale` (cluster) end to end against the fake toolchain: kube-proxy switched to
 * each mode and back, Services + EndpointSlices created in batches through kubectl, the sync
 * histogram differenced between scrapes, the node's rules / map elements / virtual servers
 * counted, the probe run, JSON + SVG written, the namespace deleted. Handler for the node
 * side: test/fake/handlers/scale.mjs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFake, createFakeCluster, type Fake } from '../helpers/fake.js';
import { runCli } from '../helpers/cli.js';
import { parseXml } from '../helpers/xml.js';
import type { ScaleReport } from '../../src/scale/results.js';

function createCluster(f: Fake): void {
  const r = createFakeCluster(f, { workers: 1 });
  assert.equal(r.code, 0, r.stderr);
}

test(
  'scale on the (fake) cluster: iptables, ipvs and nftables at 3 and 7 services, then everything put back',
  { timeout: 120_000 },
  async () => {
    const f = createFake();
    try {
      createCluster(f);
      const out = join(f.dir, 'results');
      const r = await runCli(
        [
          'scale',
          '--services',
          '7,3',
          '--modes',
          'iptables,nftables,ipvs',
          '--probes',
          '20',
          '--out',
          out,
          '--kubeconfig',
          f.kubeconfig,
        ],
        {
          env: f.env,
          timeoutMs: 110_000,
        },
      );
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(
        readFileSync(join(out, 'scale-cluster.json'), 'utf8'),
      ) as ScaleReport;
      assert.equal(report.target, 'cluster');
      assert.deepEqual(report.sizes, [3, 7]);
      assert.equal(report.machine.backend, 'kind');
      const rows = report.cluster ?? [];
      assert.deepEqual(
        rows.map((x) => `${x.mode}@${x.services}`),
        ['iptables@3', 'iptables@7', 'nftables@3', 'nftables@7', 'ipvs@3', 'ipvs@7'],
      );
      const row = (mode: string, n: number) =>
        rows.find((x) => x.mode === mode && x.services === n)!;
      // The node holds our services plus the cluster's own (kubernetes:https, kube-dns ×3).
      assert.equal(
        row('iptables', 7).counts.chains! - row('iptables', 3).counts.chains!,
        8,
        'one KUBE-SVC + one KUBE-SEP per new service',
      );
      assert.equal(
        row('nftables', 7).counts.setMembers! - row('nftables', 3).counts.setMembers!,
        4,
      );
      assert.equal(
        row('ipvs', 7).counts.virtualServers! - row('ipvs', 3).counts.virtualServers!,
        4,
      );
      assert.equal(row('ipvs', 7).counts.realServers! - row('ipvs', 3).counts.realServers!, 4);
      // The sync histogram is differenced between scrapes: at 3 services (one batch) kube-proxy
      // synced once, taking 1 ms + 20 µs × the Service ports it then had.
      const sync = row('iptables', 3).syncProxyRules;
      assert.equal(sync.count, 1);
      assert.ok(
        sync.meanSeconds !== null && sync.meanSeconds > 0.001 && sync.meanSeconds < 0.0025,
        String(sync.meanSeconds),
      );
      assert.ok(
        row('nftables', 7).syncProxyRules.meanSeconds! <
          row('iptables', 7).syncProxyRules.meanSeconds!,
      );
      assert.ok(
        row('iptables', 7).networkProgramming && row('iptables', 7).networkProgramming!.count >= 1,
      );
      const lat = row('iptables', 7).latency!;
      assert.equal(lat.samples, 20);
      assert.equal(lat.errors, 0);
      assert.ok(lat.requestP50Ms !== null && lat.requestP50Ms > 0.39 && lat.requestP50Ms < 0.5);
      // The chart and the table
      const svg = readFileSync(join(out, 'scale-cluster.svg'), 'utf8');
      assert.equal(parseXml(svg).name, 'svg');
      assert.match(r.stdout, /^nftables\s+7\s/m);
      assert.match(r.stdout, /scale-cluster\.svg/);
      // Batches went through kubectl apply -f - (stdin), never through a file or a shell.
      assert.ok(f.callsMatching('kubectl', 'apply', '-f', '-').length >= 2);
      // Cleaned up: the namespace is gone and kube-proxy is back in iptables mode.
      const state = f.state().clusters.proxylab!;
      assert.equal(
        Object.keys(state.objects).filter((k) => k.includes('/proxylab-scale/')).length,
        0,
      );
      const cm = f.tool('kubectl', [
        '--kubeconfig',
        f.kubeconfig,
        '-n',
        'kube-system',
        'get',
        'configmap',
        'kube-proxy',
        '-o',
        'jsonpath={.data.config\\.conf}',
      ]);
      assert.match(cm.stdout, /^mode: (""|iptables)?\s*$/m);
    } finally {
      f.cleanup();
    }
  },
);

test('scale on the cluster: bad options are usage errors and touch nothing', async () => {
  const f = createFake();
  try {
    createCluster(f);
    const before = f.calls().length;
    const r = await runCli(['scale', '--modes', 'userspace', '--kubeconfig', f.kubeconfig], {
      env: f.env,
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /"userspace" is not a kube-proxy mode/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(f.calls().length, before);
    const r2 = await runCli(['scale', '--services', '100,abc', '--kubeconfig', f.kubeconfig], {
      env: f.env,
    });
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /--services 100,1000,5000/);
  } finally {
    f.cleanup();
  }
});

test('scale on the cluster: no cluster → one sentence and a hint, nothing written', async () => {
  const f = createFake();
  try {
    const out = join(f.dir, 'results');
    const r = await runCli(
      [
        'scale',
        '--services',
        '3',
        '--modes',
        'iptables',
        '--out',
        out,
        '--kubeconfig',
        f.kubeconfig,
      ],
      { env: f.env },
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cluster "proxylab" does not exist/);
    assert.match(r.stderr, /make up|proxylab up/);
    assert.equal(existsSync(join(out, 'scale-cluster.json')), false);
  } finally {
    f.cleanup();
  }
});

test('scale --from: re-draws the chart from results files; a wrong file is a usage error', async () => {
  const f = createFake();
  try {
    const bad = join(f.dir, 'bad.json');
    writeFileSync(bad, '{"kind":"something-else"}');
    const r1 = await runCli(['scale', '--from', bad, '--out', join(f.dir, 'o')], { env: f.env });
    assert.equal(r1.code, 2);
    assert.match(r1.stderr, /is not a proxylab scale results file/);
    const r2 = await runCli(['scale', '--from', join(f.dir, 'missing.json')], { env: f.env });
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /cannot read .*missing\.json/);
    // A real report from the cluster test's shape, then merged with itself: rows doubled.
    const rep = {
      kind: 'proxylab-scale',
      version: 1,
      target: 'bare',
      machine: {
        cores: 2,
        cpu: 'x',
        memGiB: 1,
        kernel: '6.1',
        node: 'v20',
        backend: 'native',
        tools: {},
      },
      method: ['m'],
      startedAt: '2026-01-01T00:00:00Z',
      finishedAt: '2026-01-01T00:01:00Z',
      modes: ['nftables'],
      sizes: [10],
      bare: [
        {
          mode: 'nftables',
          services: 10,
          programMs: 5,
          updateMs: 1,
          updateSamplesMs: [1],
          expected: {
            rules: 69,
            chains: 36,
            setMembers: 10,
            virtualServers: 0,
            realServers: 0,
            boundAddresses: 0,
          },
          kernel: { rules: 69, chains: 36, setMembers: 10 },
          latency: [],
        },
      ],
      skipped: [],
    };
    const good = join(f.dir, 'good.json');
    writeFileSync(good, JSON.stringify(rep));
    const out = join(f.dir, 'o2');
    const r3 = await runCli(['scale', '--from', `${good},${good}`, '--out', out], { env: f.env });
    assert.equal(r3.code, 0, r3.stderr);
    assert.equal(
      (JSON.parse(readFileSync(join(out, 'scale-bare.json'), 'utf8')) as ScaleReport).bare!.length,
      2,
    );
    assert.equal(parseXml(readFileSync(join(out, 'scale-bare.svg'), 'utf8')).name, 'svg');
    assert.equal(f.calls().length, 0, 'no tool was run');
  } finally {
    f.cleanup();
  }
});
