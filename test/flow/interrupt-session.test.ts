/**
 * Issue 13's tester session (scripts/interrupt-session.ts), on a few representative steps of
 * `proxylab lab --mode nftables --skip-check` on one fake cluster: Ctrl-C (SIGINT to the
 * process group, as a terminal sends it) while kind creates the cluster, during the
 * kube-proxy switch (a ConfigMap backup exists: it is restored) and during the web sample
 * (the switch is done) and in the checks' first step (a nested `make nftables`). Each ends with exit 130, a message naming the step and the mode in
 * place — true to the fake cluster's state —, no lock left, and the next lab run green.
 * The whole session (every step, the lab doc's checks included) is `npm run
 * interrupt-session`; its table is in issue 13's report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  closingMessage,
  session,
  row,
  runLab,
  HEADER,
  type Step,
} from '../../scripts/interrupt-session.js';
import { labRun } from './check-helpers.js';

test('Ctrl-C at sampled steps of lab: exit 130, the step and the mode in place named truly, no lock, the next lab green', async () => {
  const picked = (plan: Step[]): Step[] => {
    const find = (re: RegExp) => {
      const s = plan.find((x) => re.test(x.title));
      assert.ok(s, `the plan has a step matching ${re}: ${plan.map((x) => x.title).join(' | ')}`);
      return s;
    };
    return [
      find(/^Create cluster/),
      find(/^kube-proxy → nftables/),
      find(/^web sample/),
      // the checks' first step, a nested `make nftables` (this run also checks that the one
      // before goes green up to there)
      {
        n: plan.length + 1,
        title: 'step 1 · make nftables',
        occurrence: 1,
        fromNoCluster: false,
        labArgs: [],
      },
    ];
  };
  // kind create slowed a little, so Ctrl-C lands in it on a fast machine too
  // kind create and the web sample's rollout slowed, so a Ctrl-C 100 ms after they start
  // lands in them on a fast machine (the fake answers a call in milliseconds)
  const lab = labRun({
    env: { FAKE_DELAY: 'kind create=1500 ;; kubectl -n default rollout status=1500' },
  });
  let res: Awaited<ReturnType<typeof session>>;
  try {
    res = await session({
      lab,
      mode: 'nftables',
      labArgs: ['--skip-check'],
      steps: picked,
      rerun: 'chain',
      delayMs: 100,
    });
  } finally {
    lab.lab.fake.cleanup();
  }
  const table = [HEADER, ...res.outcomes.map(row)].join('\n');
  assert.equal(res.outcomes.length, 4, table);
  for (const o of res.outcomes) {
    const what = `${o.step.title}\n${table}\n${o.message}`;
    assert.equal(o.exit, 130, what);
    assert.ok(o.namesStep, what);
    assert.ok(o.claimed.length > 0, `says what is in place: ${what}`);
    assert.ok(o.consistent, `what it says is in place is: ${what}`);
    assert.equal(o.lockLeft, false, what);
    assert.notEqual(o.namesRestore, false, `names the backup and the restore: ${what}`);
    assert.equal(o.rerunOk, true, what);
  }
  const [create, sw, web, check] = res.outcomes;
  if (!create!.landed) assert.deepEqual(create!.claimed, ['no cluster'], table);
  // interrupted switch: restored to iptables; during the web sample: nftables is in place
  assert.deepEqual(sw!.claimed, ['iptables'], table);
  assert.deepEqual(web!.claimed, ['nftables'], table);
  assert.deepEqual(check!.claimed, ['nftables'], table);
  assert.match(check!.message, /at step 1 \(make nftables\)/, table);
  assert.match(
    web!.message,
    /replace -f \S+\.yaml && kubectl --kubeconfig \S+ -n kube-system rollout restart daemonset\/kube-proxy/,
  );
  assert.ok(res.finalOk, 'the last lab run is green');
});

test('Ctrl-C from a terminal while the node tools are checked: exit 130 and what is in place, not "installing the node tools failed"', async () => {
  // the terminal's SIGINT reaches the fake docker (dpkg-query, slowed) as well as proxylab
  const r = labRun({ env: { FAKE_DELAY: 'docker exec dpkg-query=3000' } });
  try {
    const run = await runLab(
      r,
      ['mode', 'ipvs'],
      (out) => /\[STARTED\] .*ipvsadm, ipset and conntrack in every node/.test(out),
      1000,
    );
    assert.ok(run.interrupted, run.output);
    assert.equal(run.code, 130, run.output);
    assert.doesNotMatch(closingMessage(run.output), /installing the node tools failed/);
    assert.match(
      closingMessage(run.output),
      /interrupted by Ctrl-C: the switch had not started; kube-proxy still runs its previous mode/,
    );
  } finally {
    r.lab.fake.cleanup();
  }
});
