/**
 * `proxylab inspect` end to end on the fake toolchain: one docker exec per node, the table,
 * --json, --svg, --node, and findings raised / not raised on a live (fake) cluster.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newLab, type Lab } from './steps-helpers.js';
import { parseXml, allText } from '../helpers/xml.js';
import { SNAPSHOT_SCRIPT } from '../../src/inspect/snapshot.js';
// The fake's list of section commands must stay the real script's.
import { SECTIONS } from '../fake/handlers/inspect.mjs';

function withLab(opts: Parameters<typeof newLab>[0], fn: (l: Lab) => Promise<void>) {
  return async () => {
    const l = newLab(opts);
    try {
      await fn(l);
    } finally {
      l.fake.cleanup();
    }
  };
}

async function ok(l: Lab, args: string[]) {
  const r = await l.cli(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r;
}

interface Out {
  findings: {
    id: string;
    severity: string;
    node: string | null;
    service: string | null;
    evidence: string[];
  }[];
  nodes: {
    node: string;
    mode: string;
    services: Record<
      string,
      {
        vipOnKubeIpvs0: boolean;
        inClusterIpSet: boolean;
        ipvs: { scheduler: string; realServers: string[] } | false | null;
      }
    >;
  }[];
  servicePorts: {
    service: string;
    clusterIP: string;
    port: number;
    protocol: string;
    ready: string[];
  }[];
}

function setNodeMode(l: Lab, node: string, mode: string) {
  const file = join(l.fake.dir, 'state.json');
  const s = JSON.parse(readFileSync(file, 'utf8')) as {
    clusters: Record<
      string,
      { nodes: { name: string; datapath: { kubeProxy: { mode: string } } }[] }
    >;
  };
  const n = s.clusters.proxylab!.nodes.find((x) => x.name === node)!;
  n.datapath.kubeProxy.mode = mode;
  writeFileSync(file, JSON.stringify(s));
}

test('the fake answers the same section commands the real script runs', () => {
  for (const [, argv] of SECTIONS as [string, string[]][])
    assert.ok(SNAPSHOT_SCRIPT.includes(`${argv.join(' ')}`), argv.join(' '));
});

test(
  'ipvs mode: one docker exec per node, a consistent table, --json, --svg, --node; scheduler and mode findings raised and not raised',
  { timeout: 600_000 },
  withLab({ mode: 'ipvs' }, async (l) => {
    await ok(l, ['node-tools']);
    await ok(l, ['web']);
    const before = l.fake.calls().length;
    const r = await ok(l, ['inspect']);
    const during = l.fake.calls().slice(before);
    assert.deepEqual(
      during
        .filter((c) => c.tool === 'docker' && c.argv[0] === 'exec')
        .map((c) => c.argv[1])
        .sort(),
      ['proxylab-control-plane', 'proxylab-worker', 'proxylab-worker2'],
      'exactly one docker exec per node',
    );
    assert.ok(
      during.filter((c) => c.tool === 'kubectl').length <= 2,
      'services+endpointslices and the ConfigMap',
    );
    assert.match(
      r.stdout,
      // 6 ClusterIP ports + the NodePort on the node's address and on kindnet's ptp gateway
      /^proxylab-worker2 +ipvs +8 IPVS virtual servers, 4 ClusterIPs on kube-ipvs0$/m,
    );
    assert.match(
      r.stdout,
      /^default\/web:http +10\.96\.\d+\.\d+:80\/TCP +2 +✔ rr 2 RS +✔ rr 2 RS +✔ rr 2 RS$/m,
    );
    assert.match(r.stdout, /No findings: every Service matches the datapath on every node\./);

    const j = JSON.parse((await ok(l, ['inspect', '--json'])).stdout) as Out;
    assert.deepEqual(j.findings, []);
    const web = j.servicePorts.find((p) => p.service === 'default/web')!;
    assert.equal(web.ready.length, 2);
    const key = `TCP ${web.clusterIP}:80`;
    for (const n of j.nodes) {
      const v = n.services[key]!;
      assert.equal(n.mode, 'ipvs');
      assert.equal(v.vipOnKubeIpvs0, true);
      assert.equal(v.inClusterIpSet, true);
      assert.deepEqual(v.ipvs && v.ipvs.realServers, web.ready);
    }

    const svg = join(l.fake.dir, 'out', 'datapath.svg');
    const one = await ok(l, ['inspect', '--node', 'proxylab-worker', '--svg', svg]);
    assert.match(one.stderr, /datapath picture written to/);
    const doc = parseXml(readFileSync(svg, 'utf8'));
    const text = allText(doc);
    assert.ok(text.includes('proxylab-worker — ipvs mode'));
    // no panel for another node (pods still say which node they run on: `on proxylab-worker2`)
    assert.ok(!/proxylab-worker2 — /.test(text), 'only the node asked for');
    assert.ok(text.includes(`${web.clusterIP}:80/TCP`));
    for (const ep of web.ready) assert.ok(text.includes(ep), ep);

    const gone = await l.cli(['inspect'], {
      FAKE_FAIL:
        'docker exec proxylab-worker sh=1:Error response from daemon: container 4f2a is not running',
    });
    assert.equal(gone.code, 1);
    assert.match(
      gone.stderr,
      /✘ could not read the datapath of node proxylab-worker: Error response from daemon: container 4f2a is not running/,
    );
    assert.doesNotMatch(gone.stderr, /at .*\.ts:\d+/);

    const bad = await l.cli(['inspect', '--node', 'proxylab-worker9']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /cluster proxylab has no node named "proxylab-worker9"/);
    assert.match(
      bad.stderr,
      /its nodes: proxylab-control-plane, proxylab-worker, proxylab-worker2/,
    );

    // The ConfigMap says sh but kube-proxy was not restarted: every virtual server still uses rr.
    const cm = l.kubectl(['-n', 'kube-system', 'get', 'configmap', 'kube-proxy', '-o', 'json']);
    const obj = JSON.parse(cm.stdout) as { data: Record<string, string> };
    obj.data['config.conf'] = obj.data['config.conf']!.replace(/scheduler: ""/, 'scheduler: "sh"');
    assert.equal(l.kubectl(['replace', '-f', '-'], JSON.stringify(obj)).code, 0);
    let f = (JSON.parse((await ok(l, ['inspect', '--json'])).stdout) as Out).findings;
    const sched = f.filter((x) => x.id === 'scheduler-mismatch');
    assert.equal(sched.length, 6 * 3, 'every Service port on every node');
    assert.match(sched[0]!.evidence.join('\n'), /ipvs\.scheduler: "sh"/);

    // One node's kube-proxy runs iptables.
    setNodeMode(l, 'proxylab-worker2', 'iptables');
    const t = await l.cli(['inspect', '--strict']);
    assert.equal(t.code, 1, 'an error-level finding with --strict');
    assert.match(
      t.stdout,
      /✘ \[mode-mismatch\] kube-proxy runs in different modes on different nodes \(ipvs vs iptables\)/,
    );
    assert.match(t.stdout, /proxylab-worker2: \/proxyMode answers "iptables"/);
    f = (JSON.parse((await ok(l, ['inspect', '--json'])).stdout) as Out).findings;
    assert.ok(f.some((x) => x.id === 'mode-differs-from-config' && x.node === 'proxylab-worker2'));
  }),
);

test(
  'iptables → ipvs with --keep-rules: stale KUBE-SVC chains reported on every node, gone after flush-nat',
  { timeout: 600_000 },
  withLab({}, async (l) => {
    await ok(l, ['node-tools']);
    await ok(l, ['web']);
    let j = JSON.parse((await ok(l, ['inspect', '--json'])).stdout) as Out;
    assert.ok(j.nodes.every((n) => n.mode === 'iptables'));
    // (The fake's iptables-mode KUBE-SEP rules for kube-dns:metrics DNAT to :53 instead of
    // :9153, and inspect says so; the web Service is consistent.)
    assert.deepEqual(
      j.findings.filter(
        (x) => x.id === 'stale-iptables-chains' || (x.service ?? '').startsWith('default/web'),
      ),
      [],
    );
    assert.ok(
      j.findings.every(
        (x) => x.id !== 'real-servers-mismatch' || x.service === 'kube-system/kube-dns:metrics',
      ),
    );
    await ok(l, ['mode', 'ipvs', '--keep-rules']);
    j = JSON.parse((await ok(l, ['inspect', '--json'])).stdout) as Out;
    const stale = j.findings.filter((x) => x.id === 'stale-iptables-chains');
    assert.deepEqual(stale.map((x) => x.node).sort(), [
      'proxylab-control-plane',
      'proxylab-worker',
      'proxylab-worker2',
    ]);
    assert.match(stale[0]!.evidence[0]!, /KUBE-SVC-\*\/KUBE-SVL-\* chains, \d+ KUBE-SEP-\* chains/);
    await ok(l, ['flush-nat']);
    j = JSON.parse((await ok(l, ['inspect', '--json'])).stdout) as Out;
    assert.deepEqual(
      j.findings.filter((x) => x.id === 'stale-iptables-chains'),
      [],
    );
  }),
);

test(
  'nftables mode: the service-ips map, service chains and endpoints per node; a missing entry and a missing endpoint are findings',
  { timeout: 600_000 },
  withLab({}, async (l) => {
    await ok(l, ['mode', 'nftables']);
    await ok(l, ['web']);
    const r = await ok(l, ['inspect']);
    assert.match(r.stdout, /^proxylab-worker +nftables +6 entries in nftables map service-ips$/m);
    assert.match(
      r.stdout,
      /^default\/web:http +10\.96\.\d+\.\d+:80\/TCP +2 +✔ 2 endpoints +✔ 2 endpoints +✔ 2 endpoints$/m,
    );
    assert.match(r.stdout, /No findings/);
    const j = JSON.parse((await ok(l, ['inspect', '--json'])).stdout) as Out & {
      nodes: { services: Record<string, { nft: { chain: string; endpoints: string[] } }> }[];
    };
    const web = j.servicePorts.find((p) => p.service === 'default/web')!;
    const key = `TCP ${web.clusterIP}:80`;
    for (const n of j.nodes) {
      assert.equal(n.mode, 'nftables');
      assert.deepEqual(n.services[key]!.nft.endpoints, web.ready);
      assert.match(n.services[key]!.nft.chain, /^service-[A-Z0-9]{8}-default\/web\/tcp\/http$/);
    }

    // proxylab-worker's table lost one endpoint of the web Service: exactly that is reported
    const table = l.fake.tool('docker', [
      'exec',
      'proxylab-worker',
      'nft',
      'list',
      'table',
      'ip',
      'kube-proxy',
    ]).stdout;
    const second =
      /numgen random mod 2 vmap \{ 0 : goto endpoint-\S+-default\/web\/tcp\/http__\S+(, 1 : goto endpoint-\S+-default\/web\/tcp\/http__\S+) \}/.exec(
        table,
      );
    assert.ok(second, 'the web chain balances over two endpoint chains');
    const cmd = 'proxylab-worker nft list table ip kube-proxy';
    let f = JSON.parse(
      (await l.cli(['inspect', '--json'], { FAKE_LAB_BREAK: `${cmd}=${second[1]}=>` })).stdout,
    ) as Out;
    assert.deepEqual(
      f.findings.map((x) => `${x.id} ${x.node} ${x.service}`),
      ['real-servers-mismatch proxylab-worker default/web:http'],
    );
    assert.match(f.findings[0]!.evidence.join('\n'), /^missing: 10\.244\.\d+\.\d+:80$/m);

    // ... and lost the web ClusterIP's entry in service-ips
    const entry = new RegExp(`${web.clusterIP.replace(/\./g, '\\.')} \\. tcp \\. 80 : goto`).exec(
      table,
    )![0];
    f = JSON.parse(
      (
        await l.cli(['inspect', '--json'], {
          FAKE_LAB_BREAK: `${cmd}=${entry}=>${web.clusterIP} . tcp . 8080 : goto`,
        })
      ).stdout,
    ) as Out;
    assert.deepEqual(
      f.findings.map((x) => `${x.id} ${x.node} ${x.service}`),
      ['no-service-chain proxylab-worker default/web:http'],
    );
    assert.match(f.findings[0]!.evidence[0]!, /map service-ips has no element .* \. tcp \. 80/);

    // the picture draws the nftables path
    const svg = join(l.fake.dir, 'out', 'nft.svg');
    await ok(l, ['inspect', '--node', 'proxylab-worker', '--svg', svg]);
    const text = allText(parseXml(readFileSync(svg, 'utf8')));
    assert.ok(text.includes('proxylab-worker — nftables mode'));
    assert.ok(text.includes('2 endpoints (numgen random)'));
    for (const ep of web.ready) assert.ok(text.includes(ep), ep);
  }),
);
