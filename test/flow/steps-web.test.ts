/**
 * The lab steps end to end on the fake toolchain: web sample, traffic per scheduler and
 * affinity, the scheduler command, ipvs → iptables with its leftovers flushed, flush-nat
 * --dry-run, and re-runs that change nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLab, nodeExec, natSave, type Lab } from './steps-helpers.js';

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

function counts(out: string): number[] {
  return [...out.matchAll(/^web-\S+\s+\S+\s+(\d+)$/gm)].map((m) => Number(m[1]));
}

test(
  'web + traffic: rr spreads evenly, scheduler sh and ClientIP affinity pin one pod, ipvsadm shows it, web re-run converges',
  withLab({}, async (l) => {
    let r = await l.cli(['mode', 'ipvs', '--scheduler', 'rr']);
    assert.equal(r.code, 0, r.stderr);
    r = await l.cli(['web']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /deployment\.apps\/web created/);
    assert.match(r.stderr, /service\/web-nodeport created/);
    const pods = l
      .kubectl(['get', 'pods', '-l', 'app=web', '-o', 'name'])
      .stdout.trim()
      .split('\n');
    assert.equal(pods.length, 2);

    r = await l.cli(['traffic', '-n', '20']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^20 requests to http:\/\/10\.96\.\d+\.\d+:80\/ from node proxylab-worker$/m,
    );
    assert.deepEqual(counts(r.stdout), [10, 10]);
    assert.match(r.stdout, /^failed\s+0$/m);

    r = await l.cli(['traffic', '--from', 'pod', '-n', '6']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^6 requests to http:\/\/10\.96\.\d+\.\d+:80\/ from a pod of deployment\/web$/m,
    );
    assert.deepEqual(counts(r.stdout), [3, 3]);

    r = await l.cli(['traffic', '--to', 'nodeport', '-n', '10', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as {
      url: string;
      perPod: { count: number }[];
      failures: number;
    };
    assert.match(j.url, /^http:\/\/172\.18\.0\.\d+:3\d{4}\/$/);
    assert.deepEqual(
      j.perPod.map((p) => p.count),
      [5, 5],
    );

    r = await l.cli(['scheduler', 'sh']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\$ docker exec proxylab-worker ipvsadm -Ln$/m);
    assert.match(r.stdout, /^TCP  10\.96\.0\.1:443 sh$/m);
    assert.doesNotMatch(r.stdout, / rr$/m);
    r = await l.cli(['traffic', '-n', '12']);
    assert.deepEqual(counts(r.stdout).sort(), [0, 12]);

    r = await l.cli(['scheduler', 'rr']);
    assert.equal(r.code, 0, r.stderr);
    r = await l.cli(['web', '--affinity', 'ClientIP', '--affinity-timeout', '60']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      nodeExec(l, 'proxylab-worker', ['ipvsadm', '-Ln']),
      /^TCP  10\.96\.\d+\.\d+:80 rr persistent 60$/m,
    );
    r = await l.cli(['traffic', '-n', '8']);
    assert.deepEqual(counts(r.stdout).sort(), [0, 8]);

    // re-run without affinity converges back; replicas change too
    r = await l.cli(['web', '--replicas', '3']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(nodeExec(l, 'proxylab-worker', ['ipvsadm', '-Ln']), /persistent/);
    assert.equal(
      l.kubectl(['get', 'pods', '-l', 'app=web', '-o', 'name']).stdout.trim().split('\n').length,
      3,
    );
    r = await l.cli(['traffic', '-n', '9']);
    assert.deepEqual(counts(r.stdout), [3, 3, 3]);
    // bad input: usage errors, exit 2
    assert.equal((await l.cli(['web', '--replicas', 'many'])).code, 2);
    assert.equal((await l.cli(['traffic', '--from', 'host', '--to', 'clusterip'])).code, 2);
  }),
);

test(
  'ipvs → iptables: virtual servers, kube-ipvs0, KUBE-* ipsets and match-set rules flushed; --keep-rules + flush-nat --dry-run lists exactly what goes',
  withLab({}, async (l) => {
    let r = await l.cli(['mode', 'ipvs', '--keep-rules']);
    assert.equal(r.code, 0, r.stderr);
    // leftovers kept: the dry run lists them, per node, and removes nothing
    r = await l.cli(['flush-nat', '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^proxylab-worker: would remove 0 rules, \d+ chains, 0 ipsets, 0 IPVS virtual servers$/m,
    );
    assert.match(
      r.stdout,
      /^ {2}iptables -t nat -X KUBE-SVC-[A-Z2-7]{16} {3}\(after flushing it\)$/m,
    );
    assert.match(r.stdout, /^ {2}iptables -t nat -X KUBE-NODEPORTS /m);
    // kube-proxy is dual-stack: its IPv6 proxier left its iptables-mode KUBE-NODEPORTS too
    assert.match(r.stdout, /^ {2}ip6tables -t nat -X KUBE-NODEPORTS /m);
    assert.doesNotMatch(r.stdout, /DOCKER|KIND-/);
    assert.match(natSave(l, 'proxylab-worker'), /^:KUBE-SVC-/m);
    r = await l.cli(['flush-nat']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(natSave(l, 'proxylab-worker'), /KUBE-SVC-|KUBE-SEP-/);
    const save6 = nodeExec(l, 'proxylab-worker', ['ip6tables-save']);
    assert.doesNotMatch(save6, /KUBE-NODEPORTS/);
    assert.match(save6, /^:KUBE-NODE-PORT - /m, 'the IPv6 ipvs-mode chains stay');
    r = await l.cli(['flush-nat', '--dry-run']);
    assert.match(r.stdout, /^proxylab-worker: nothing left over$/m);

    const w = 'proxylab-worker';
    const looks = () =>
      l.fake
        .callsMatching('docker', 'exec', w, 'sh', '-c')
        .filter((c) => c.argv.some((a) => a.includes('### proxylab:iptables-save'))).length;
    const applies = () => l.fake.callsMatching('docker', 'exec', '-i', w, 'sh', '-c').length;
    const [looks0, applies0] = [looks(), applies()];
    r = await l.cli(['mode', 'iptables']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      // per family: nat KUBE-NODE-PORT and KUBE-LOAD-BALANCER, filter KUBE-NODE-PORT,
      // KUBE-SOURCE-RANGES-FIREWALL, KUBE-IPVS-FILTER, KUBE-IPVS-OUT-FILTER; all 17 sets of
      // IPVS mode per family (kube-proxy creates every set, empty or not)
      /proxylab-worker: removed \d+ rules?, 12 chains, 34 ipsets, \d+ IPVS virtual servers/,
    );
    // the flush used ONE docker exec on the node to look and ONE to apply
    assert.deepEqual([looks() - looks0, applies() - applies0], [1, 1]);
    assert.equal(nodeExec(l, w, ['curl', '-s', 'http://127.0.0.1:10249/proxyMode']), 'iptables');
    assert.doesNotMatch(nodeExec(l, w, ['ipvsadm', '-Ln']), /^TCP/m);
    assert.equal(nodeExec(l, w, ['ipset', 'list', '-n']), '');
    assert.equal(l.fake.tool('docker', ['exec', w, 'ip', 'addr', 'show', 'kube-ipvs0']).code, 1);
    const save = natSave(l, w);
    assert.doesNotMatch(save, /match-set|KUBE-NODE-PORT\b/);
    assert.match(
      save,
      /^-A KUBE-SERVICES -d 10\.96\.0\.1\/32 -p tcp -m comment --comment "default\/kubernetes:https cluster IP" -m tcp --dport 443 -j KUBE-SVC-/m,
    );
    assert.match(save, /^-A DOCKER_POSTROUTING /m);
  }),
);
