/**
 * `proxylab inspect --svg` in ipvs mode against the fake toolchain: the picture draws every
 * IPVS virtual server the node's table holds (the NodePort ones on the node's own addresses
 * too), kube-ipvs0, the ipset and masquerade rules, forwarding method and weight, the node of
 * each pod, and draws nodes with the same datapath once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newLab } from './steps-helpers.js';
import { parseXml, allText, walk } from '../helpers/xml.js';

test('inspect --svg (ipvs): every virtual server drawn, NodePort, kube-ipvs0, ipsets, masquerade, pod nodes; identical nodes once', async () => {
  const l = newLab({ mode: 'ipvs' });
  try {
    for (const args of [['node-tools'], ['web']]) {
      const r = await l.cli(args);
      assert.equal(r.code, 0, r.stderr);
    }
    const file = join(l.fake.dir, 'datapath.svg');
    const r = await l.cli(['--json', 'inspect', '--svg', file]);
    assert.equal(r.code, 0, r.stderr);
    const snap = JSON.parse(r.stdout) as {
      nodes: { node: string; ipvsServices: number }[];
      servicePorts: { service: string; ready: string[] }[];
    };
    const svg = readFileSync(file, 'utf8');
    const doc = parseXml(svg);
    const text = allText(doc);
    const counts = new Set(snap.nodes.map((n) => n.ipvsServices));
    assert.equal(counts.size, 1, 'the fake gives every node the same table size');
    const vs = snap.nodes[0]!.ipvsServices;
    assert.ok(vs >= 7, `${vs} virtual servers`);
    // one panel: the three nodes have the same datapath
    const panels = walk(doc).filter((e) => e.name === 'g' && e.attrs.class === 'node');
    assert.equal(panels.length, 1, 'identical nodes are drawn once');
    assert.ok(
      text.includes(`3 nodes with the same datapath — ipvs mode — ${vs} IPVS virtual servers`),
    );
    for (const n of snap.nodes) assert.ok(text.includes(`${n.node}: node address 1 = `), n.node);
    // the header's count is what is drawn: one "what kube-proxy built" box per virtual server
    const boxes = walk(doc).filter((e) => e.name === 'g' && /^svc\b/.test(e.attrs.class ?? ''));
    assert.equal(boxes.length, vs, 'every IPVS virtual server is drawn');
    // the NodePort path
    const np = walk(doc).filter((e) => e.name === 'g' && /^np\b/.test(e.attrs.class ?? ''));
    assert.ok(np.length >= 1, 'NodePort virtual servers drawn');
    assert.ok(text.includes('NodePort of default/web-nodeport'));
    assert.ok(text.includes('kube-ipvs0 (dummy interface)'));
    // ipsets and masquerade
    assert.match(text, /in ipset KUBE-CLUSTER-IP \(\d+ entries\) → KUBE-MARK-MASQ/);
    assert.match(text, /KUBE-NODE-PORT: in ipset KUBE-NODE-PORT-TCP \(1 entry\) → KUBE-MARK-MASQ/);
    assert.match(text, /KUBE-POSTROUTING: .*→ MASQUERADE/);
    // forwarding method, weight, and where each web pod runs
    const web = snap.servicePorts.find((p) => p.service === 'default/web')!;
    for (const ep of web.ready) assert.ok(text.includes(ep), ep);
    assert.match(text, /on proxylab-worker2? · Masq \(NAT\) · weight 1/);
    assert.doesNotMatch(svg, /<script|href=/);
  } finally {
    l.fake.cleanup();
  }
});
