/**
 * Issue 13: a /proxyMode that keeps answering the old mode (a stale process on the node's
 * metrics port, a pod that read an old ConfigMap) made `proxylab mode` wait its whole limit
 * twice — 180 s for the switch, 180 s more for the restore — before failing. kube-proxy reads
 * its mode once, at start: once its pod is up and answering, and its own log says which
 * proxier it started, waiting changes nothing. A slow restart (no answer yet) is still waited
 * for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLab, cmYaml, nodeExec, type Lab } from './steps-helpers.js';
import { runCli } from '../helpers/cli.js';

const NODES = ['proxylab-control-plane', 'proxylab-worker', 'proxylab-worker2'];
const withoutRv = (y: string) =>
  y
    .split('\n')
    .filter((x) => !/^\s+resourceVersion:/.test(x))
    .join('\n');

/** The CLI with a limit well under one 180 s wait: the old code is killed, exit 128+. */
const cli = (l: Lab, args: string[], limitMs = 90_000) =>
  runCli(['--kubeconfig', l.fake.kubeconfig, ...args], { env: l.env, timeoutMs: limitMs });

test('a stale /proxyMode fails in seconds with the default 180 s limit: what answered, where, since when, what to do; the restore stops early too', async () => {
  const l = newLab({ env: { FAKE_PROXYMODE_STALE: '1' } });
  try {
    const before = cmYaml(l);
    const t0 = Date.now();
    const r = await cli(l, ['mode', 'nftables']);
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(r.code, 1, `exit ${r.code} after ${seconds.toFixed(0)} s\n${r.stderr}`);
    // the switch: which node, which pod, what it answers, since when, what its log says
    assert.match(
      r.stderr,
      /proxylab-\S+: kube-proxy reports mode "iptables", not nftables, since \d\d:\d\d:\d\d \(pod kube-proxy-\w+, started \d\d:\d\d:\d\d; \d+ s after its restart finished; its log says it started the nftables proxier: something else answers on 127\.0\.0\.1:10249 there\)/,
    );
    assert.match(
      r.stderr,
      /stopped waiting after \d+ s of ≤ 180: kube-proxy reads its mode only when it starts/,
    );
    // the hint: look (the pod's log, the port), then run the switch again — on this cluster
    assert.match(
      r.stderr,
      new RegExp(
        `→ see which proxier it started and what answers on its metrics port: kubectl --kubeconfig ${l.fake.kubeconfig} -n kube-system logs kube-proxy-\\w+ \\| grep Proxier and docker exec proxylab-\\S+ ss -ltnp 'sport = :10249'; then run \`proxylab mode nftables\` again`,
      ),
    );
    assert.doesNotMatch(r.stderr, /load the IPVS modules/);
    // the restore waited no 180 s either, and says why it stopped
    assert.match(r.stderr, /restored byte-identical/);
    assert.match(
      r.stderr,
      /but not every node reports iptables again \(proxylab-\S+: kube-proxy reports mode "nftables", not iptables, since [\d:]+ \(pod kube-proxy-\w+, started [\d:]+; .*its log says it started the iptables proxier/,
    );
    assert.doesNotMatch(r.stderr, /gave up after 180 s/);
    assert.equal(withoutRv(cmYaml(l)), withoutRv(before));
    // asked a few times, not for minutes: one /proxyMode a second per node at most
    const asked = l.fake
      .calls()
      .filter((c) => c.tool === 'docker' && c.argv.some((a) => a.endsWith(':10249/proxyMode')));
    assert.ok(asked.length <= 12 * NODES.length, `${asked.length} /proxyMode calls`);
  } finally {
    l.fake.cleanup();
  }
});

test('a slow kube-proxy restart (no answer on 127.0.0.1:10249 at first) is still waited for: the switch goes through', async () => {
  // the first 6 /proxyMode calls find nothing listening, as while kube-proxy starts
  const l = newLab({
    env: { FAKE_FAIL: 'docker exec curl http://127.0.0.1:10249/proxyMode=7@6:' },
  });
  try {
    const r = await cli(l, ['mode', 'nftables']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /kube-proxy runs nftables on 3 nodes \(was iptables\)/);
    for (const n of NODES)
      assert.equal(nodeExec(l, n, ['curl', '-s', 'http://127.0.0.1:10249/proxyMode']), 'nftables');
    const failed = l.fake
      .calls()
      .filter((c) => c.argv.some((a) => a.endsWith(':10249/proxyMode')) && c.exit === 7);
    assert.equal(failed.length, 6, 'the switch waited through the unanswered calls');
  } finally {
    l.fake.cleanup();
  }
});
