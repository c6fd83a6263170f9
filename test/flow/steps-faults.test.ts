/**
 * The faults of issue 3, each ending in the stated state with a clear message:
 * crash-loop after the switch, /proxyMode still reporting the old mode, a node missing,
 * an invalid scheduler, a module missing / modprobe denied, apt failing in one node, Ctrl-C
 * during the rollout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { newLab, cmYaml, nodeExec, type Lab } from './steps-helpers.js';
import { interruptWhen } from '../helpers/interrupt.js';

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
const withoutRv = (y: string) =>
  y
    .split('\n')
    .filter((x) => !/^\s+resourceVersion:/.test(x))
    .join('\n');
const backups = (l: Lab) => {
  const d = join(l.env.PROXYLAB_STATE_DIR!, 'backups');
  return existsSync(d) ? readdirSync(d) : [];
};
const modeOn = (l: Lab, n: string) =>
  nodeExec(l, n, ['curl', '-s', 'http://127.0.0.1:10249/proxyMode']);

test(
  'kube-proxy crash-looping after the switch: ConfigMap restored byte-identical, rolled again, exit 1 saying so',
  withLab({ env: { FAKE_KUBE_PROXY_CRASH: 'ipvs' } }, async (l) => {
    const before = cmYaml(l);
    const r = await l.cli(['mode', 'ipvs', '--scheduler', 'rr', '--timeout', '10']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /✘ switching kube-proxy to ipvs failed: kube-proxy did not come up: kube-proxy-\w+ on proxylab-\S+ is CrashLoopBackOff/,
    );
    assert.match(
      r.stderr,
      /restored byte-identical from .*backups.*and kube-proxy runs iptables again on every node/,
    );
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
    const after = cmYaml(l);
    assert.equal(withoutRv(after), withoutRv(before));
    assert.equal(
      (parse(after) as { data: Record<string, string> }).data['config.conf'],
      (parse(before) as { data: Record<string, string> }).data['config.conf'],
    );
    assert.equal(
      l.fake.callsMatching('kubectl', 'rollout', 'restart').length,
      2,
      'rolled out, then rolled back',
    );
    for (const n of NODES) assert.equal(modeOn(l, n), 'iptables');
    assert.equal(
      l.fake.callsMatching('kubectl', 'delete').length,
      0,
      'never deletes the kube-proxy pods',
    );
  }),
);

test(
  '/proxyMode lags one restart behind: restored, exit 1 naming the nodes, and never claims the old mode is back',
  withLab({ env: { FAKE_PROXYMODE_STALE: '1' } }, async (l) => {
    const before = cmYaml(l);
    const r = await l.cli(['mode', 'nftables', '--timeout', '5']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /proxylab-worker: kube-proxy reports mode "iptables", not nftables/);
    assert.match(r.stderr, /restored byte-identical/);
    // After the rollback /proxyMode answers the interrupted pods' mode: proxylab says so.
    assert.match(
      r.stderr,
      /kube-proxy restarted, but not every node reports iptables again \(proxylab-control-plane: kube-proxy reports mode "nftables", not iptables\b.*\); check with `proxylab status`/,
    );
    assert.doesNotMatch(r.stderr, /runs iptables again/);
    assert.equal(withoutRv(cmYaml(l)), withoutRv(before));
    assert.equal(backups(l).length, 1);
  }),
);

test(
  'a node missing: the switch does not complete, the backup is restored, exit 1 naming the node',
  withLab(
    {
      env: {
        FAKE_FAIL:
          'docker exec proxylab-worker2=1:Error response from daemon: No such container: proxylab-worker2',
      },
    },
    async (l) => {
      const before = cmYaml(l);
      const r = await l.cli(['mode', 'nftables', '--timeout', '5']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /proxylab-worker2: could not ask kube-proxy for its mode: Error response from daemon: No such container: proxylab-worker2/,
      );
      assert.equal(withoutRv(cmYaml(l)), withoutRv(before));
    },
  ),
);

test(
  'invalid scheduler: exit 2 before anything changes (kube-proxy ≥1.27 would crash-loop on it)',
  withLab({}, async (l) => {
    const before = cmYaml(l);
    const r = await l.cli(['mode', 'ipvs', '--scheduler', 'rrr']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /✘ "rrr" is not an IPVS scheduler/);
    assert.match(r.stderr, /did you mean rr/);
    const s = await l.cli(['scheduler', 'fastest']);
    assert.equal(s.code, 2);
    assert.equal(cmYaml(l), before);
    assert.equal(l.fake.callsMatching('kubectl', 'replace').length, 0);
    assert.equal(backups(l).length, 0);
  }),
);

// the module step's faults (module missing, sudo wanting a password, remote engine): steps-modules.test.ts

test(
  'apt failing inside one node: the others get the tools, exit 1 naming that node; the re-run installs it from the cache',
  withLab({ env: { FAKE_APT_FAIL: 'proxylab-control-plane' } }, async (l) => {
    const r = await l.cli(['node-tools']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /✘ installing the node tools failed on proxylab-control-plane \(E: Unable to fetch some archives/,
    );
    // control-plane was first (it downloads for the others) and failed: the workers downloaded themselves
    for (const n of ['proxylab-worker', 'proxylab-worker2'])
      assert.match(nodeExec(l, n, ['ipvsadm', '-Ln']), /^IP Virtual Server version/);
    const again = await l.cli(['node-tools']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /proxylab-control-plane\s+installed-from-cache/);
    assert.match(again.stderr, /proxylab-worker\s+present/);
  }),
);

test(
  'Ctrl-C during the rollout: the old mode stays fully in place (backup restored) and the command says so, exit 130',
  withLab({ env: { FAKE_DELAY: 'kubectl rollout status=2500' } }, async (l) => {
    const before = cmYaml(l);
    const { code, out } = await interruptWhen(
      { kubeconfig: l.fake.kubeconfig, env: l.env },
      ['mode', 'nftables', '--keep-rules'],
      (text) =>
        l.fake.callsMatching('kubectl', 'rollout', 'restart').length >= 1 &&
        /waiting ≤ \d+ s for the kube-proxy DaemonSet/.test(text),
    );
    assert.equal(code, 130, out);
    assert.match(
      out,
      /interrupted by Ctrl-C; the ConfigMap was restored byte-identical .* kube-proxy runs iptables again on every node/,
    );
    assert.equal(withoutRv(cmYaml(l)), withoutRv(before));
    for (const n of NODES) assert.equal(modeOn(l, n), 'iptables');
    assert.ok(
      !existsSync(join(l.env.PROXYLAB_STATE_DIR!, 'locks', 'proxylab.lock')),
      'lock released',
    );
  }),
);

test(
  'Ctrl-C during the leftover cleanup: the switch stands and the command says kube-proxy runs the new mode, exit 130',
  // iptables → ipvs: kube-proxy in IPVS mode leaves iptables mode's chains (only a start in
  // nftables mode cleans up after the others: server_linux.go platformCleanup), so there is
  // a cleanup to interrupt; the apply call is slowed so the Ctrl-C lands during it
  withLab({ env: { FAKE_DELAY: 'docker exec -i sh=6000' } }, async (l) => {
    const { code, out } = await interruptWhen(
      { kubeconfig: l.fake.kubeconfig, env: l.env },
      ['mode', 'ipvs'],
      (text) =>
        /looking for iptables-mode leftovers/.test(text) &&
        l.fake
          .callsMatching('docker', 'exec', 'sh')
          .some((c) => c.argv.some((a) => a.includes('### proxylab:iptables-save'))),
      { delayMs: 300 },
    );
    assert.equal(code, 130, out);
    assert.match(
      out,
      /interrupted by Ctrl-C: the switch completed: kube-proxy runs ipvs[^\n]* on every node/,
    );
    for (const n of NODES) assert.equal(modeOn(l, n), 'ipvs');
    assert.match(cmYaml(l), /^ {4}mode: ipvs$/m);
  }),
);

test(
  'two runs on one cluster cannot interleave: a live lock holder makes the second run stop at once, changing nothing',
  withLab({}, async (l) => {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { hostname } = await import('node:os');
    mkdirSync(join(l.env.PROXYLAB_STATE_DIR!, 'locks'), { recursive: true });
    // pid 1 is always alive: another proxylab run "holds" the cluster
    writeFileSync(
      join(l.env.PROXYLAB_STATE_DIR!, 'locks', 'proxylab.lock'),
      JSON.stringify({
        pid: 1,
        host: hostname(),
        command: 'mode iptables',
        since: '2026-11-21T22:00:00.000Z',
      }),
    );
    const before = cmYaml(l);
    const r = await l.cli(['mode', 'ipvs']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /✘ another proxylab run \(pid 1, `proxylab mode iptables`, since 2026-11-21T22:00:00\.000Z\) is changing cluster "proxylab"/,
    );
    assert.equal(cmYaml(l), before);
    assert.equal(l.fake.callsMatching('docker', 'exec').length, 0);
  }),
);
