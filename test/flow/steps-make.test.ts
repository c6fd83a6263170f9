/**
 * The make targets of issue 3 (`make ipvs`, `make flush-nat`, `make web`, `make traffic`,
 * `make iptables`, `make lab`) through the Makefile's own recipe lines (the make shim of
 * check-helpers reads them) against the fake toolchain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { labRun } from './check-helpers.js';
import { natSave, nodeExec } from './steps-helpers.js';
import { ROOT } from '../helpers/cli.js';

function make(env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const c = spawn('make', args, {
      cwd: ROOT,
      env: { ...env, NO_COLOR: '1', CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (out += b.toString()));
    c.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

const NODES = ['proxylab-control-plane', 'proxylab-worker', 'proxylab-worker2'];

test('make ipvs, flush-nat, web, traffic, iptables, lab: green on the fake toolchain, re-runs change nothing', async () => {
  const run = labRun();
  const env = { ...run.env, PROXYLAB_KUBECONFIG: run.lab.fake.kubeconfig };
  const l = run.lab;
  try {
    let r = await make(env, ['ipvs', 'SCHEDULER=rr']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^node bin\/proxylab\.js --cluster proxylab mode ipvs --scheduler rr$/m);
    for (const n of NODES)
      assert.equal(nodeExec(l, n, ['curl', '-s', 'http://127.0.0.1:10249/proxyMode']), 'ipvs');
    assert.doesNotMatch(natSave(l, 'proxylab-worker'), /KUBE-SVC-/);

    r = await make(env, ['flush-nat']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^proxylab-worker: nothing left over$/m);

    r = await make(env, ['web']);
    assert.equal(r.code, 0, r.out);
    r = await make(env, ['traffic']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^20 requests to http:\/\/10\.96\./m);
    assert.deepEqual(
      [...r.out.matchAll(/^web-\S+\s+\S+\s+(\d+)$/gm)].map((m) => Number(m[1])),
      [10, 10],
    );

    r = await make(env, ['iptables']);
    assert.equal(r.code, 0, r.out);
    for (const n of NODES)
      assert.equal(nodeExec(l, n, ['curl', '-s', 'http://127.0.0.1:10249/proxyMode']), 'iptables');
    assert.doesNotMatch(natSave(l, 'proxylab-worker'), /match-set/);

    const restarts = l.fake.callsMatching(
      'kubectl',
      'rollout',
      'restart',
      'daemonset/kube-proxy',
    ).length;
    r = await make(env, ['lab', 'MODE=ipvs', 'ARGS=--skip-check']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /kube-proxy runs ipvs, scheduler rr on 3 nodes \(was iptables\)/);
    assert.equal(
      l.fake.callsMatching('kubectl', 'rollout', 'restart', 'daemonset/kube-proxy').length,
      restarts + 1,
    );
    assert.equal(
      l.fake.callsMatching('kind', 'create', 'cluster').length,
      1,
      'the existing cluster is reused',
    );
    // lab again: nothing to switch
    r = await make(env, ['lab', 'MODE=ipvs', 'ARGS=--skip-check']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /already runs ipvs, scheduler rr on every node: nothing to do/);
    assert.equal(
      l.fake.callsMatching('kubectl', 'rollout', 'restart', 'daemonset/kube-proxy').length,
      restarts + 1,
    );
  } finally {
    l.fake.cleanup();
  }
});
