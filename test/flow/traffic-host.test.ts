/**
 * `proxylab traffic --from host --to nodeport`: requests leave this machine with the real
 * curl and reach `InternalIP:nodePort`. The fake cluster's worker is given the address
 * 127.0.0.1 and a real HTTP server on loopback stands in for kube-proxy's NodePort (it
 * answers with the web pods' names in turn, as the nginx sample answers with its hostname).
 * Proves the host path end to end (the URL built from the Service and the node, curl run on
 * the host, the answers counted per pod, failures counted and turned into exit 1); the
 * balancing itself is the real cluster's job (tier 4). Traffic stays on loopback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newLab, type Lab } from './steps-helpers.js';

/** Give a fake node another InternalIP (the fake reads its state file on every call). */
function setNodeIp(l: Lab, node: string, ip: string) {
  const f = join(l.fake.dir, 'state.json');
  type NodeObject = {
    kind: string;
    metadata: { name: string };
    status?: { addresses?: { type: string; address: string }[] };
  };
  const state = JSON.parse(readFileSync(f, 'utf8')) as {
    clusters: Record<
      string,
      { nodes: { name: string; ip: string }[]; objects: Record<string, NodeObject> }
    >;
  };
  let changed = 0;
  for (const c of Object.values(state.clusters)) {
    for (const n of c.nodes) if (n.name === node) n.ip = ip;
    for (const o of Object.values(c.objects))
      if (o.kind === 'Node' && o.metadata.name === node)
        for (const a of o.status?.addresses ?? [])
          if (a.type === 'InternalIP') {
            a.address = ip;
            changed++;
          }
  }
  assert.equal(changed, 1, `the fake has no Node ${node}`);
  writeFileSync(f, JSON.stringify(state));
}

function listen(port: number, answers: string[]): Promise<Server> {
  let i = 0;
  const server = createServer((_req, res) => {
    res.end(`${answers[i++ % answers.length]}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

test('traffic --from host --to nodeport: real requests from this machine to node-IP:nodePort, counted per pod; a dead port is exit 1', async (t) => {
  const l = newLab();
  let server: Server | undefined;
  try {
    let r = await l.cli(['web']);
    assert.equal(r.code, 0, r.stderr);
    const svc = JSON.parse(l.kubectl(['get', 'service', 'web-nodeport', '-o', 'json']).stdout) as {
      spec: { ports: { nodePort: number }[] };
    };
    const nodePort = svc.spec.ports[0]!.nodePort;
    assert.ok(nodePort >= 30000 && nodePort <= 32767, `nodePort ${nodePort}`);
    const pods = l
      .kubectl(['get', 'pods', '-l', 'app=web', '-o', 'name'])
      .stdout.trim()
      .split('\n')
      .map((p) => p.replace(/^pod\//, ''));
    assert.equal(pods.length, 2);
    setNodeIp(l, 'proxylab-worker', '127.0.0.1');
    try {
      server = await listen(nodePort, pods);
    } catch (e) {
      t.skip(`port ${nodePort} on 127.0.0.1 is in use here (${(e as Error).message})`);
      return;
    }

    r = await l.cli(['traffic', '--from', 'host', '--to', 'nodeport', '-n', '6']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`http://127\\.0\\.0\\.1:${nodePort}/`));
    assert.match(r.stdout, /this host/);
    const counts = Object.fromEntries(
      [...r.stdout.matchAll(/^(web-\S+)\s+\S+\s+(\d+)$/gm)].map((m) => [m[1], Number(m[2])]),
    );
    assert.deepEqual(counts, { [pods[0]!]: 3, [pods[1]!]: 3 });
    // no docker exec and no kubectl exec carried these requests
    assert.equal(l.fake.callsMatching('docker', 'exec', 'proxylab-worker', 'sh', '-c').length, 0);
    assert.equal(l.fake.callsMatching('kubectl', 'exec').length, 0);

    // --json carries the same figures
    r = await l.cli(['traffic', '--from', 'host', '--to', 'nodeport', '-n', '4', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { from: string; perPod: { count: number }[] };
    assert.equal(j.from, 'this host');
    assert.deepEqual(
      j.perPod.map((p) => p.count),
      [2, 2],
    );

    // nothing listening any more: every request fails, and the command says so with exit 1
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    r = await l.cli(['traffic', '--from', 'host', '--to', 'nodeport', '-n', '3', '--json']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { failures: number }).failures, 3);
  } finally {
    server?.close();
    l.fake.cleanup();
  }
});
