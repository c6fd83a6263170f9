import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitSnapshot, readNode, SNAPSHOT_SCRIPT } from '../../../src/inspect/snapshot.js';
import { joinSnapshot } from '../../../src/inspect/join.js';
import { findings, type Finding } from '../../../src/inspect/findings.js';
import { renderSvg } from '../../../src/inspect/svg.js';
import { ParseError } from '../../../src/inspect/errors.js';
import { parseXml, walk, allText } from '../../helpers/xml.js';
import { findChromium, NO_CHROMIUM, screenshot } from '../../helpers/chromium.js';
import {
  cluster,
  ipvsNode,
  iptablesNode,
  nodeOutput,
  IPVSADM,
  STALE_NAT,
} from './datapath-fixture.js';

function run(nodes: [string, string][], c = cluster()) {
  const snaps = nodes.map(([n, text]) => readNode(n, text));
  const s = joinSnapshot('proxylab', snaps, c.services, c.endpoints, c.configMap);
  return { s, f: findings(s) };
}
const ids = (f: Finding[]) => f.map((x) => x.id).sort();

test('the node script is a constant with one section per output', () => {
  assert.doesNotMatch(SNAPSHOT_SCRIPT, /\$\{/);
  for (const s of [
    'ipvsadm -Ln',
    'iptables-save',
    'ipset list',
    'ip addr show kube-ipvs0',
    'nft list table ip kube-proxy',
    '10249/proxyMode',
  ])
    assert.ok(SNAPSHOT_SCRIPT.includes(s), s);
});

test('splitSnapshot: sections, exit codes, a cut-off script, and no markers', () => {
  const { sections, complete } = splitSnapshot(ipvsNode());
  assert.equal(complete, true);
  assert.equal(sections.ipvsadm!.output, IPVSADM);
  assert.equal(sections['proxy-mode']!.output, 'ipvs');
  assert.equal(sections.ipvsadm!.exitCode, 0);
  const cut = splitSnapshot(
    nodeOutput({ ipvsadm: { out: 'x', code: 127 } }, false) +
      '\n@@proxylab-inspect begin iptables-save@@\n*nat\n',
  );
  assert.equal(cut.complete, false);
  assert.equal(cut.sections.ipvsadm!.exitCode, 127);
  assert.equal(cut.sections['iptables-save']!.exitCode, null);
  assert.throws(() => splitSnapshot('Error: No such container: proxylab-worker'), ParseError);
});

test('readNode parses each section; missing tools and interfaces become reasons', () => {
  const n = readNode('proxylab-worker', ipvsNode());
  assert.equal(n.proxyMode, 'ipvs');
  assert.equal(n.ipvs!.services.length, 12);
  assert.deepEqual(n.kubeIpvs0!.addresses.length, 7);
  assert.equal(n.ipsets!.sets[0]!.members.length, 9);
  assert.deepEqual(n.kubeProxy!.matchSets, ['KUBE-CLUSTER-IP']);
  assert.deepEqual(n.unavailable, { nft: 'the node has no nftables table ip kube-proxy' });
  assert.equal(n.nft, null);
  const t = readNode('proxylab-worker2', iptablesNode(['10.244.1.6']));
  assert.equal(t.ipvs, null);
  assert.match(
    t.unavailable.ipvsadm!,
    /ipvsadm is not installed in the node \(run `proxylab node-tools`\)/,
  );
  assert.equal(t.unavailable['kube-ipvs0'], 'the node has no kube-ipvs0 interface');
  assert.equal(t.proxyMode, 'iptables');
});

test('a consistent ipvs-mode node raises no error findings; the join sees VIP, VS, RS and ipset member', () => {
  const { s, f } = run([['proxylab-worker', ipvsNode()]]);
  assert.deepEqual(
    f.filter((x) => x.severity === 'error'),
    [],
  );
  assert.deepEqual(ids(f), []);
  const web = s.nodes[0]!.services['TCP 10.96.119.228:80']!;
  assert.equal(web.vipOnKubeIpvs0, true);
  assert.equal(web.inClusterIpSet, true);
  assert.deepEqual(web.ipvs && web.ipvs.realServers, ['10.244.1.6:80', '10.244.2.4:80']);
  assert.deepEqual(s.servicePorts.find((p) => p.service === 'default/web')!.ready, [
    '10.244.1.6:80',
    '10.244.2.4:80',
  ]);
  assert.equal(s.config!.effectiveScheduler, 'rr');
});

test('finding: a Service without a virtual server', () => {
  const noWeb = IPVSADM.replace(/TCP  10\.96\.119\.228:80 rr\n(?: {2}->.*\n)+/, '');
  assert.notEqual(noWeb, IPVSADM);
  const { f } = run([['proxylab-worker', ipvsNode({ ipvsadm: { out: noWeb } })]]);
  const hit = f.filter((x) => x.id === 'no-virtual-server');
  assert.equal(hit.length, 1);
  assert.equal(hit[0]!.service, 'default/web');
  assert.equal(hit[0]!.node, 'proxylab-worker');
  assert.match(
    hit[0]!.evidence[0]!,
    /ipvsadm -Ln on proxylab-worker lists no "TCP  10\.96\.119\.228:80"/,
  );
});

test('finding: real servers differ from the ready endpoints (and not when they agree)', () => {
  const { f } = run(
    [['proxylab-worker', ipvsNode()]],
    cluster({
      webReady: [
        ['10.244.1.6', true],
        ['10.244.2.4', false],
      ],
    }),
  );
  const hit = f.filter((x) => x.id === 'real-servers-mismatch');
  assert.equal(hit.length, 1);
  assert.ok(
    hit[0]!.evidence.includes('in IPVS but not ready: 10.244.2.4:80'),
    hit[0]!.evidence.join('\n'),
  );
  const more = run(
    [['proxylab-worker', ipvsNode()]],
    cluster({
      webReady: [
        ['10.244.1.6', true],
        ['10.244.2.4', true],
        ['10.244.2.9', true],
      ],
    }),
  ).f;
  assert.ok(
    more
      .find((x) => x.id === 'real-servers-mismatch')!
      .evidence.includes('missing from IPVS: 10.244.2.9:80'),
  );
});

test('finding: stale KUBE-SVC chains in ipvs mode (only when present)', () => {
  const { f } = run([['proxylab-worker', ipvsNode({ 'iptables-save': { out: STALE_NAT } })]]);
  const hit = f.find((x) => x.id === 'stale-iptables-chains')!;
  assert.ok(hit);
  assert.match(hit.message, /still has 1 KUBE-SVC and 3 KUBE-SEP chains/);
  assert.equal(
    run([['proxylab-worker', ipvsNode()]]).f.some((x) => x.id === 'stale-iptables-chains'),
    false,
  );
});

test('finding: scheduler differs from the ConfigMap (not when it matches)', () => {
  const { f } = run([['proxylab-worker', ipvsNode()]], cluster({ scheduler: 'sh' }));
  const hit = f.filter((x) => x.id === 'scheduler-mismatch');
  assert.equal(
    hit.length,
    5,
    'one per Service port with a virtual server (kubernetes, 3 × kube-dns, web)',
  );
  assert.match(hit[0]!.evidence[1]!, /ipvs\.scheduler: "sh"/);
  assert.equal(
    run([['proxylab-worker', ipvsNode()]], cluster({ scheduler: 'rr' })).f.some(
      (x) => x.id === 'scheduler-mismatch',
    ),
    false,
  );
});

test('finding: kube-proxy mode differs between nodes, and from the ConfigMap', () => {
  const { f } = run([
    ['proxylab-worker', ipvsNode()],
    ['proxylab-worker2', iptablesNode(['10.244.1.6', '10.244.2.4'])],
  ]);
  const mm = f.find((x) => x.id === 'mode-mismatch')!;
  assert.ok(mm);
  assert.deepEqual(mm.evidence, [
    'proxylab-worker: /proxyMode answers "ipvs"',
    'proxylab-worker2: /proxyMode answers "iptables"',
  ]);
  assert.ok(f.some((x) => x.id === 'mode-differs-from-config' && x.node === 'proxylab-worker2'));
  assert.equal(
    run([
      ['a', ipvsNode()],
      ['b', ipvsNode()],
    ]).f.some((x) => x.id === 'mode-mismatch'),
    false,
  );
});

test('iptables mode: KUBE-SVC endpoints compared with the ready endpoints', () => {
  const ok = run(
    [['w', iptablesNode(['10.244.1.6', '10.244.2.4'])]],
    cluster({ mode: 'iptables' }),
  );
  assert.deepEqual(
    ok.f.filter((x) => x.id === 'real-servers-mismatch' && x.service === 'default/web'),
    [],
  );
  const web = ok.s.nodes[0]!.services['TCP 10.96.119.228:80']!;
  assert.deepEqual(web.iptables && web.iptables.endpoints, ['10.244.1.6:80', '10.244.2.4:80']);
  const bad = run([['w', iptablesNode(['10.244.1.6'])]], cluster({ mode: 'iptables' }));
  assert.ok(
    bad.f.some(
      (x) =>
        x.id === 'real-servers-mismatch' &&
        x.service === 'default/web' &&
        x.evidence.includes('missing: 10.244.2.4:80'),
    ),
  );
});

test('SVG: well-formed, one panel per node, VIPs, schedulers and pods drawn; red where a finding is', () => {
  const { s, f } = run(
    [['proxylab-worker', ipvsNode()]],
    cluster({
      webReady: [
        ['10.244.1.6', true],
        ['10.244.2.4', false],
      ],
    }),
  );
  const svg = renderSvg(s, f);
  const doc = parseXml(svg);
  assert.equal(doc.name, 'svg');
  const text = allText(doc);
  for (const want of [
    'proxylab-worker — ipvs mode',
    '10.96.119.228:80/TCP',
    'IPVS TCP 10.96.119.228:80',
    'scheduler rr',
    '10.244.1.6:80  web-96d5df5c8-6bgpr',
    '10.244.2.4:80  web-96d5df5c8-wkfrb (NOT ready)',
  ]) {
    assert.ok(text.includes(want), `missing "${want}"`);
  }
  const bad = walk(doc).filter((e) => e.name === 'g' && /\bbad\b/.test(e.attrs.class ?? ''));
  assert.ok(bad.length >= 1, 'the web service row is drawn in red');
  assert.doesNotMatch(svg, /<script|href=/);
});

test('SVG renders in headless Chromium', { timeout: 120_000 }, (t) => {
  if (!findChromium()) {
    t.skip(NO_CHROMIUM);
    return;
  }
  const { s, f } = run([
    ['proxylab-worker', ipvsNode()],
    ['proxylab-worker2', iptablesNode(['10.244.1.6', '10.244.2.4'])],
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-svg-'));
  try {
    const svg = renderSvg(s, f, { skipNamespaces: ['kube-system'] });
    const file = join(dir, 'datapath.svg');
    writeFileSync(file, svg);
    const png = join(dir, 'datapath.png');
    const size = screenshot(file, png, 1000, 900);
    const head = readFileSync(png).subarray(0, 8);
    assert.deepEqual([...head], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
    assert.ok(size > 10_000, `a picture with content (${size} bytes)`);
    if (process.env.PROXYLAB_KEEP_SVG)
      writeFileSync(process.env.PROXYLAB_KEEP_SVG, readFileSync(png));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('finding: datapath unreadable in ipvs mode (ipvsadm missing) but not in iptables mode', () => {
  const { f } = run([
    ['proxylab-worker', ipvsNode({ ipvsadm: { out: 'sh: 1: ipvsadm: not found', code: 127 } })],
  ]);
  const hit = f.filter((x) => x.id === 'datapath-unreadable');
  assert.equal(hit.length, 1);
  assert.equal(hit[0]!.severity, 'warning');
  assert.match(
    hit[0]!.message,
    /ipvsadm on proxylab-worker: ipvsadm is not installed in the node \(run `proxylab node-tools`\)/,
  );
  assert.equal(
    f.some((x) => x.id === 'no-virtual-server'),
    false,
    'an unreadable table is not an empty one',
  );
  const t = run([['w', iptablesNode(['10.244.1.6', '10.244.2.4'])]], cluster({ mode: 'iptables' }));
  assert.equal(
    t.f.some((x) => x.id === 'datapath-unreadable'),
    false,
  );
});

test('servicePorts: each Service gets its own slices, by namespace and service-name label, in order', async () => {
  const { servicePorts } = await import('../../../src/inspect/join.js');
  const svc = (ns: string, name: string, ip: string) => ({
    metadata: { namespace: ns, name },
    spec: { clusterIP: ip, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  });
  const slice = (ns: string, service: string | undefined, ips: string[], ready = true) => ({
    metadata: {
      namespace: ns,
      name: `${service ?? 'x'}-abc`,
      labels: service === undefined ? {} : { 'kubernetes.io/service-name': service },
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready } })),
  });
  const ports = servicePorts(
    {
      items: [
        svc('a', 'web', '10.96.0.1'),
        svc('b', 'web', '10.96.0.2'),
        svc('a', 'undefined', '10.96.0.3'),
      ],
    } as never,
    {
      kind: 'EndpointSliceList',
      items: [
        slice('a', 'web', ['10.244.0.2']),
        slice('b', 'web', ['10.244.1.2']),
        slice('a', undefined, ['10.244.9.9']),
        slice('a', 'web', ['10.244.0.3', '10.244.0.9'], false),
        slice('a', 'web', ['10.244.0.1']),
      ],
    } as never,
  );
  assert.deepEqual(
    ports.map((p) => [p.service, p.ready]),
    [
      ['a/web', ['10.244.0.1:8080', '10.244.0.2:8080']],
      ['b/web', ['10.244.1.2:8080']],
      ['a/undefined', []],
    ],
  );
  // Endpoints (before EndpointSlices): by their own name
  const legacy = servicePorts(
    { items: [svc('a', 'web', '10.96.0.1'), svc('b', 'web', '10.96.0.2')] } as never,
    {
      kind: 'EndpointsList',
      items: [
        {
          metadata: { namespace: 'b', name: 'web' },
          subsets: [{ addresses: [{ ip: '10.244.1.2' }], ports: [{ name: 'http', port: 8080 }] }],
        },
      ],
    } as never,
  );
  assert.deepEqual(
    legacy.map((p) => p.ready),
    [[], ['10.244.1.2:8080']],
  );
});
