import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newLab, cmYaml, nodeExec, natSave, type Lab } from './steps-helpers.js';

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

const NODES = ['proxylab-control-plane', 'proxylab-worker', 'proxylab-worker2'];

test(
  'make ipvs: modules + node tools + switch + flush; every node reports ipvs; iptables leftovers gone; re-run changes nothing',
  withLab({}, async (l) => {
    const before = cmYaml(l);
    // iptables mode programmed KUBE-SVC chains on the nodes
    assert.match(natSave(l, 'proxylab-worker'), /^:KUBE-SVC-/m);
    const r = await l.cli(['mode', 'ipvs', '--scheduler', 'rr']);
    assert.equal(r.code, 0, r.stderr);
    for (const n of NODES)
      assert.equal(nodeExec(l, n, ['curl', '-s', 'http://127.0.0.1:10249/proxyMode']), 'ipvs');
    const after = cmYaml(l);
    const diff = before
      .split('\n')
      .map((x, i) => [x, after.split('\n')[i]])
      .filter(([a, b]) => a !== b);
    assert.deepEqual(
      diff.filter(([a]) => !/resourceVersion/.test(a!)),
      [
        ['      scheduler: ""', '      scheduler: rr'],
        // kind v0.31 writes the mode it created the cluster in (`mode: iptables`)
        [before.match(/^ {4}mode: .*$/m)![0], '    mode: ipvs'],
      ],
    );
    // leftovers flushed, Docker/kind chains kept, ipvs rules in place
    const save = natSave(l, 'proxylab-worker');
    assert.doesNotMatch(save, /KUBE-SVC-|KUBE-SEP-|KUBE-NODEPORTS/);
    assert.match(save, /^-A KUBE-SERVICES .*--match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT$/m);
    assert.match(save, /^:DOCKER_OUTPUT - \[0:0\]$/m);
    assert.match(save, /^-A KIND-MASQ-AGENT /m);
    assert.match(nodeExec(l, 'proxylab-worker', ['ipvsadm', '-Ln']), /^TCP  10\.96\.0\.1:443 rr$/m);
    assert.match(r.stderr, /removed \d+ rules?, \d+ chains/);
    assert.match(r.stderr, /deprecated/); // 1.35: warning, not failure
    // one backup, the original bytes
    const backups = readdirSync(join(l.env.PROXYLAB_STATE_DIR!, 'backups'));
    assert.equal(backups.length, 1);
    assert.equal(
      readFileSync(join(l.env.PROXYLAB_STATE_DIR!, 'backups', backups[0]!), 'utf8'),
      before,
    );
    // docker exec per node for the verification: exactly one (curl) per node per check
    const curls = l.fake
      .callsMatching('docker', 'exec')
      .filter((c) => c.argv.some((a) => a.includes('10249/proxyMode')));
    assert.ok(curls.length >= 3);
    // re-run: nothing to do, no new backup, no restart
    const restartsBefore = l.fake.callsMatching('kubectl', 'rollout', 'restart').length;
    const again = await l.cli(['mode', 'ipvs', '--scheduler', 'rr']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stdout + again.stderr,
      /already runs ipvs, scheduler rr on every node: nothing to do/,
    );
    assert.equal(l.fake.callsMatching('kubectl', 'rollout', 'restart').length, restartsBefore);
    assert.equal(readdirSync(join(l.env.PROXYLAB_STATE_DIR!, 'backups')).length, 1);
  }),
);

test(
  'make nftables: conntrack.tcpBeLiberal true, as kind writes it for a cluster it creates in nftables mode; a re-run changes nothing',
  withLab({}, async (l) => {
    const before = cmYaml(l);
    assert.match(before, /^ {6}tcpBeLiberal: false$/m);
    const r = await l.cli(['mode', 'nftables']);
    assert.equal(r.code, 0, r.stderr);
    const after = cmYaml(l);
    const diff = before
      .split('\n')
      .map((x, i) => [x, after.split('\n')[i]])
      .filter(([a, b]) => a !== b && !/resourceVersion/.test(a!));
    assert.deepEqual(diff, [
      ['      tcpBeLiberal: false', '      tcpBeLiberal: true'],
      [before.match(/^ {4}mode: .*$/m)![0], '    mode: nftables'],
    ]);
    for (const n of NODES)
      assert.equal(nodeExec(l, n, ['curl', '-s', 'http://127.0.0.1:10249/proxyMode']), 'nftables');
    const restarts = l.fake.callsMatching('kubectl', 'rollout', 'restart').length;
    const again = await l.cli(['mode', 'nftables']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout + again.stderr, /already runs nftables on every node: nothing to do/);
    assert.equal(l.fake.callsMatching('kubectl', 'rollout', 'restart').length, restarts);
  }),
);
