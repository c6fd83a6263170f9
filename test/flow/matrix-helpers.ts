/**
 * Issue 17: `proxylab lab --mode M --k8s V` then `check` is green on the fake for the pinned
 * Kubernetes versions V ∈ {1.31, 1.33, 1.35} × M ∈ {iptables, ipvs, nftables}.
 *
 * One cluster per version (what `make up K8S=V` makes), and on it the three labs one after
 * the other, each a real `proxylab lab --mode M --k8s V` (up finds the cluster, kube-proxy
 * is switched to M, the web sample applied, the lab's doc checked, M left in place):
 *  - iptables: there is no labs/iptables; its doc is the iptables part of labs/ipvs (the
 *    steps before `make ipvs`: the mode, the web sample, how iptables mode balances), checked
 *    with `check labs/ipvs --step 1-N` after the lab;
 *  - ipvs: labs/ipvs, every step (it visits iptables and comes back);
 *  - nftables: labs/nftables, every step.
 * Sharing the cluster keeps the run inside `make test`'s budget (one lab on a fresh cluster
 * each took 87 s here under load); every combination still runs lab and check.
 * One test file per version (matrix-1.31/1.33/1.35.test.ts), so the runner spreads them.
 * Measured here (one version, on a machine at load 20+): 150 s of CPU (user+sys), most of it
 * labs/ipvs; each fake tool call costs ~0.27 s of CPU, each proxylab run through tsx ~0.6 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labRun } from './check-helpers.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { parseLab } from '../../src/doccheck/markdown.js';
import type { CheckResult } from '../../src/doccheck/result.js';

export const IMAGES = { '1.31': 'v1.31.14', '1.33': 'v1.33.7', '1.35': 'v1.35.0' } as const;
const NODES = ['proxylab-control-plane', 'proxylab-worker', 'proxylab-worker2'];

/** labs/ipvs steps before the switch to IPVS: the iptables-mode part of the doc. */
const ipvsSteps = parseLab(readFileSync(join(ROOT, 'labs', 'ipvs', 'README.md'), 'utf8')).steps;
const iptablesPart = ipvsSteps.findIndex((s) => /^make ipvs\b/.test(s.command));

function failures(last: CheckResult): string[] {
  return last.steps
    .filter((s) => s.status !== 'passed')
    .map(
      (s) =>
        `${s.index} ${s.command}: ${s.status} ${s.reason ?? ''}\n${s.diffText ?? s.actual.slice(-1500)}`,
    );
}

export function labMatrix(v: keyof typeof IMAGES & string): void {
  test(`Kubernetes ${v}: lab then check is green for iptables, ipvs and nftables`, async (t) => {
    assert.ok(iptablesPart > 0, 'labs/ipvs has a `make ipvs` step after its iptables part');
    const r = labRun({ k8s: IMAGES[v] });
    // a lab on a loaded machine takes minutes: a limit of its own, above labRun's 300 s
    const cli = (args: string[]) =>
      runCli(['--kubeconfig', r.lab.fake.kubeconfig, ...args], { env: r.env, timeoutMs: 900_000 });
    const lastCheck = () =>
      JSON.parse(
        readFileSync(join(r.env.PROXYLAB_STATE_DIR!, 'last-check.json'), 'utf8'),
      ) as CheckResult;
    const modes = async (want: string) => {
      // what every node's kube-proxy answers on /proxyMode (status's exit code also counts
      // the web sample and slow probes: the modes are the point here)
      const st = await cli(['status', '--json']);
      const s = JSON.parse(st.stdout) as {
        nodes: { name: string; proxyMode: string }[];
        problems: string[];
      };
      assert.deepEqual(
        s.nodes.map((n) => [n.name, n.proxyMode]),
        NODES.map((n) => [n, want]),
        s.problems.join('\n'),
      );
    };
    try {
      await t.test('iptables: lab, then the iptables part of labs/ipvs', async () => {
        const lab = await cli(['lab', '--mode', 'iptables', '--k8s', v]);
        assert.equal(lab.code, 0, lab.stderr.slice(-3000));
        await modes('iptables');
        const check = await cli(['check', 'labs/ipvs', '--step', `1-${iptablesPart}`]);
        const last = lastCheck();
        assert.deepEqual(failures(last), []);
        assert.equal(last.counts.passed, iptablesPart);
        assert.equal(check.code, 0, check.stderr.slice(-3000));
      });
      for (const mode of ['ipvs', 'nftables'] as const)
        await t.test(`${mode}: lab checks labs/${mode}`, async () => {
          const lab = await cli(['lab', '--mode', mode, '--k8s', v]);
          const last = lastCheck();
          assert.match(last.file, new RegExp(`labs/${mode}`));
          assert.deepEqual(failures(last), []);
          const steps = parseLab(readFileSync(join(ROOT, 'labs', mode, 'README.md'), 'utf8')).steps;
          assert.equal(last.counts.passed, steps.length);
          assert.equal(lab.code, 0, lab.stderr.slice(-3000));
          await modes(mode);
        });
    } finally {
      r.lab.fake.cleanup();
    }
  });
}
