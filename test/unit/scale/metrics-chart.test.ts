/**
 * kube-proxy metrics (histogram parsing, differencing, quantiles), the SVG chart (well-formed,
 * one line per mode, log-scale x), the result table and the --services/--modes parsing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  diffHistogram,
  histogramQuantile,
  parseHistogram,
  SYNC_METRIC,
  NETWORK_PROGRAMMING_METRIC,
} from '../../../src/scale/metrics.js';
import { parseModes, parseSizes, summaryTable } from '../../../src/commands/scale.js';
import {
  countIpsetTerse,
  countIptablesSave,
  countIpvsSave,
  countNftJson,
} from '../../../src/scale/bare.js';
import { countProcIpvs, manifests } from '../../../src/scale/cluster.js';
import type { ScaleReport } from '../../../src/scale/results.js';
import { UsageError } from '../../../src/core/errors.js';

// The exposition format kube-proxy serves on :10249/metrics (ExponentialBuckets(0.001, 2, 15)).
function scrape(counts: number[], sum: number, extra = ''): string {
  const bounds = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);
  let cum = 0;
  const lines = [
    `# HELP ${SYNC_METRIC} [ALPHA] SyncProxyRules latency in seconds`,
    `# TYPE ${SYNC_METRIC} histogram`,
  ];
  bounds.forEach((b, i) => {
    cum += counts[i] ?? 0;
    lines.push(`${SYNC_METRIC}_bucket{le="${+b.toPrecision(6)}"} ${cum}`);
  });
  lines.push(
    `${SYNC_METRIC}_bucket{le="+Inf"} ${cum}`,
    `${SYNC_METRIC}_sum ${sum}`,
    `${SYNC_METRIC}_count ${cum}`,
  );
  return `${lines.join('\n')}\n${extra}`;
}

test('histogram: parsed from the exposition format, labels summed, quantiles from buckets', () => {
  // 10 syncs: 4 in (0.008, 0.016], 6 in (0.016, 0.032]
  const text = scrape(
    [0, 0, 0, 0, 4, 6],
    0.21,
    '# TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds gauge\nkubeproxy_sync_proxy_rules_last_timestamp_seconds 1.7e9\n',
  );
  const h = parseHistogram(text, SYNC_METRIC);
  assert.ok(h);
  assert.equal(h.count, 10);
  assert.equal(h.sum, 0.21);
  assert.equal(h.buckets.length, 16);
  assert.equal(h.buckets[h.buckets.length - 1]!.le, Infinity);
  // p50: rank 5 → 1 of 6 into (0.016, 0.032] → 0.016 + 0.016/6
  assert.ok(Math.abs(histogramQuantile(h, 0.5)! - (0.016 + 0.016 / 6)) < 1e-9);
  assert.ok(Math.abs(histogramQuantile(h, 0.99)! - (0.016 + 0.016 * (5.9 / 6))) < 1e-9);
  assert.equal(parseHistogram(text, NETWORK_PROGRAMMING_METRIC), null);
  // Labelled series (network programming latency is per-something in some versions) are summed.
  const labelled = `${NETWORK_PROGRAMMING_METRIC}_bucket{a="x",le="1"} 2\n${NETWORK_PROGRAMMING_METRIC}_bucket{a="y",le="1"} 3\n${NETWORK_PROGRAMMING_METRIC}_bucket{a="x",le="+Inf"} 2\n${NETWORK_PROGRAMMING_METRIC}_bucket{a="y",le="+Inf"} 3\n${NETWORK_PROGRAMMING_METRIC}_count 5\n`;
  assert.deepEqual(parseHistogram(labelled, NETWORK_PROGRAMMING_METRIC)!.buckets, [
    { le: 1, count: 5 },
    { le: Infinity, count: 5 },
  ]);
});

test('histogram: the difference between two scrapes is what happened in between', () => {
  const before = parseHistogram(scrape([0, 0, 5], 0.015), SYNC_METRIC)!;
  const after = parseHistogram(scrape([0, 0, 5, 0, 0, 0, 0, 0, 0, 2], 0.015 + 0.9), SYNC_METRIC)!;
  const d = diffHistogram(after, before);
  assert.equal(d.count, 2);
  assert.ok(Math.abs(d.sum - 0.9) < 1e-9);
  // both new syncs fell in (0.256, 0.512]
  const p50 = histogramQuantile(d, 0.5)!;
  assert.ok(p50 > 0.256 && p50 <= 0.512, String(p50));
  // kube-proxy restarted between scrapes: counters reset, the later scrape stands alone
  const restarted = parseHistogram(scrape([1], 0.001), SYNC_METRIC)!;
  assert.equal(diffHistogram(restarted, after).count, 1);
  assert.equal(histogramQuantile({ buckets: [], sum: 0, count: 0 }, 0.5), null);
});

function report(): ScaleReport {
  const lat = (p: number) => ({
    target: 'x',
    samples: 100,
    errors: 0,
    connectP50Ms: p,
    connectP99Ms: p * 3,
    requestP50Ms: p * 2,
    requestP99Ms: p * 5,
    answeredBy: { 'server-1': 50, 'server-2': 50 },
  });
  const row = (mode: 'iptables' | 'nftables', services: number, programMs: number) => ({
    mode,
    services,
    programMs,
    updateMs: programMs / 10,
    updateSamplesMs: [programMs / 10],
    expected: {
      rules: 8 + 8 * services,
      chains: 4 + 3 * services,
      setMembers: 0,
      virtualServers: 0,
      realServers: 0,
      boundAddresses: 0,
    },
    kernel: { rules: 8 + 8 * services, chains: 4 + 3 * services },
    latency: [lat(0.2), lat(services / 1000)],
  });
  return {
    kind: 'proxylab-scale',
    version: 1,
    target: 'bare',
    machine: {
      cores: 2,
      cpu: 'Test CPU',
      memGiB: 4,
      kernel: '6.1.0',
      node: 'v20',
      backend: 'native',
      tools: { iptables: 'iptables v1.8.9 (nf_tables)' },
    },
    method: ['program = wall time of the restore <& "quoted">'],
    startedAt: '2026-11-21T00:00:00Z',
    finishedAt: '2026-11-21T00:10:00Z',
    modes: ['iptables', 'nftables', 'ipvs'],
    sizes: [100, 1000, 10000],
    bare: [
      row('iptables', 100, 60),
      row('iptables', 1000, 900),
      row('iptables', 10000, 60000),
      row('nftables', 100, 50),
      row('nftables', 1000, 300),
      row('nftables', 10000, 3000),
    ],
    skipped: [{ mode: 'ipvs', reason: 'no ip_vs module' }],
  };
}

test('VM rows: marked in the table (the chart: test/unit/scale/chart.test.ts)', () => {
  const r = report();
  const base = r.bare![0]!;
  r.bare!.push(
    {
      ...base,
      mode: 'ipvs',
      backend: 'vm',
      services: 100,
      programMs: 800,
      expected: { ...base.expected, virtualServers: 100 },
      kernel: { virtualServers: 100, setMembers: 100 },
    },
    {
      ...base,
      mode: 'ipvs',
      backend: 'vm',
      services: 1000,
      programMs: 1500,
      expected: { ...base.expected, virtualServers: 1000 },
      kernel: { virtualServers: 1000, setMembers: 1000 },
    },
    { ...base, mode: 'iptables', backend: 'vm', services: 100, programMs: 700 },
  );
  r.skipped = [];
  r.vm = {
    kernel: '6.1.0-56-amd64',
    bootMs: 5000,
    describe: 'QEMU micro-VM (Debian kernel 6.1.0-56-amd64, tcg)',
  };
  const t = summaryTable(r);
  assert.match(
    t,
    /^ipvs\s+vm\s+1000\s+1500\.0\s+\S+\s+1000 virtual servers, 1000 set members\s+0\.2 \/ 0\.5 \(whole nc request\)$/m,
  );
});

test('summary table names the kernel counts and the skipped modes', () => {
  const t = summaryTable(report());
  assert.match(t, /iptables\s+native\s+10000\s+60000\.0\s+6000\.0\s+80008 rules, 30004 chains/);
  assert.match(t, /ipvs: not measured — no ip_vs module/);
});

test('--services and --modes: lists, k suffix, duplicates, friendly usage errors', () => {
  assert.deepEqual(parseSizes(undefined), [100, 1000, 5000]);
  assert.deepEqual(parseSizes('5000, 100,10k,100'), [100, 5000, 10000]);
  assert.throws(
    () => parseSizes('100,lots'),
    (e: unknown) =>
      e instanceof UsageError &&
      /"lots"/.test(e.message) &&
      /--services 100,1000,5000/.test(e.hint ?? ''),
  );
  assert.throws(() => parseSizes('0'), UsageError);
  assert.throws(() => parseSizes('30000'), UsageError);
  assert.throws(() => parseSizes(','), UsageError);
  assert.deepEqual(parseModes(undefined), ['iptables', 'ipvs', 'nftables']);
  assert.deepEqual(parseModes('NFTables,iptables,nftables'), ['nftables', 'iptables']);
  assert.throws(
    () => parseModes('userspace'),
    (e: unknown) => e instanceof UsageError && /iptables, ipvs, nftables/.test(e.hint ?? ''),
  );
});

test('kernel read-back counters', () => {
  assert.deepEqual(
    countIptablesSave(
      '*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -j KUBE-SERVICES\nCOMMIT\n',
    ),
    { rules: 1, chains: 1 },
  );
  assert.deepEqual(
    countIpvsSave('-A -t 10.100.0.1:80 -s rr\n-a -t 10.100.0.1:80 -r 10.244.0.2:8080 -m -w 1\n'),
    { virtualServers: 1, realServers: 1 },
  );
  assert.equal(
    countIpsetTerse('Name: KUBE-CLUSTER-IP\nType: hash:ip,port\nNumber of entries: 42\n'),
    42,
  );
  const nft = JSON.stringify({
    nftables: [
      { metainfo: {} },
      { table: {} },
      { chain: {} },
      { chain: {} },
      { map: { name: 'service-ips', elem: [1, 2, 3] } },
      { rule: {} },
    ],
  });
  assert.deepEqual(countNftJson(nft), { rules: 1, chains: 2, setMembers: 3 });
  // /proc/net/ip_vs as the kernel prints it
  const proc = [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port Forward Weight ActiveConn InActConn',
    'TCP  0A600001:01BB rr',
    '  -> AC120002:192B      Masq    1      0          0',
    'UDP  0A60000A:0035 rr',
    '  -> 0AF40002:0035      Masq    1      0          0',
    '  -> 0AF40003:0035      Masq    1      0          0',
  ].join('\n');
  assert.deepEqual(countProcIpvs(proc), { virtualServers: 2, realServers: 3 });
});

test('cluster manifests: selectorless Services with one EndpointSlice each', () => {
  interface Item {
    kind: string;
    metadata: { name: string; labels: Record<string, string> };
    spec: { selector?: unknown };
    endpoints: { addresses: string[] }[];
    ports: { port: number }[];
  }
  const doc = JSON.parse(manifests(10, 13, '172.18.0.3')) as { kind: string; items: Item[] };
  assert.equal(doc.kind, 'List');
  assert.equal(doc.items.length, 6);
  const svc = doc.items[0]!;
  assert.equal(svc.kind, 'Service');
  assert.equal(svc.metadata.name, 'svc-00010');
  assert.equal(svc.spec.selector, undefined);
  const slice = doc.items[1]!;
  assert.equal(slice.kind, 'EndpointSlice');
  assert.equal(slice.metadata.labels['kubernetes.io/service-name'], 'svc-00010');
  assert.deepEqual(slice.endpoints[0]?.addresses, ['172.18.0.3']);
  assert.equal(slice.ports[0]?.port, 6443);
});

test('CPU time: the children line of sh `times` (dash and busybox formats)', async () => {
  const { parseTimes } = await import('../../../src/scale/bare.js');
  assert.equal(parseTimes('0m0.004000s 0m0.001000s\n0m1.250000s 0m0.750000s\n'), 2000);
  assert.equal(parseTimes('some warning\n0m0.00s 0m0.00s\n1m2.50s 0m0.50s'), 63000);
  assert.equal(parseTimes('iptables-restore: line 3 failed\n'), null);
});

test('merged reports keep every row and drop a skip another run measured', async () => {
  const { mergeReports } = await import('../../../src/commands/scale.js');
  const native = report();
  const vmRun: ScaleReport = {
    ...report(),
    machine: { ...report().machine, backend: 'vm' },
    bare: [{ ...report().bare![0]!, mode: 'ipvs', backend: 'vm' }],
    skipped: [{ mode: 'nftables', reason: 'no nft in the VM' }],
    vm: { kernel: '6.1.0-56-amd64', bootMs: 4000, describe: 'QEMU micro-VM' },
    spawnMs: { vm: 250 },
  };
  const m = mergeReports([{ ...native, spawnMs: { native: 20 } }, vmRun]);
  assert.equal(m.bare!.length, 7);
  assert.deepEqual(m.skipped, [], 'ipvs measured in the VM, nftables natively: nothing skipped');
  assert.equal(m.machine.backend, 'native+vm');
  assert.deepEqual(m.spawnMs, { native: 20, vm: 250 });
  assert.equal(m.vm?.kernel, '6.1.0-56-amd64');
  assert.throws(() => mergeReports([native, { ...native, target: 'cluster' }]), /cannot merge/);
});

test('CPU time from bash `time` with TIMEFORMAT="@cpu %3U %3S"', async () => {
  const { parseTimes } = await import('../../../src/scale/bare.js');
  assert.equal(parseTimes('warning: something\n@cpu 0.012 0.004\n'), 16);
  assert.equal(parseTimes('@cpu 1.500 0.250'), 1750);
});
