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
 * For the default version (1.35) the ipvs lab goes first and is the README's sample run
 * (issue 15): `proxylab lab --mode ipvs` from no cluster, exactly as
 * scripts/readme-sample.ts runs it, and the README block must equal the excerpt of what it
 * printed, clock times and durations aside — the sample costs no lab run of its own.
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
import { README, excerpt, normalize, readmeBlock, sampleLab } from '../../scripts/readme-sample.js';

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

export function labMatrix(
  v: keyof typeof IMAGES & string,
  opts: { readmeSample?: boolean } = {},
): void {
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
      if (opts.readmeSample)
        await t.test(
          'ipvs: `make lab` from no cluster, its output is the README sample',
          async () => {
            const block = readmeBlock(readFileSync(README, 'utf8'));
            assert.ok(block, 'README.md has the sample block between its markers');
            const run = await sampleLab(r);
            assert.equal(run.code, 0, run.output.slice(-3000));
            const last = lastCheck();
            assert.deepEqual(failures(last), []);
            assert.equal(last.counts.passed, ipvsSteps.length);
            await modes('ipvs');
            assert.equal(
              normalize(block),
              normalize(excerpt(run.output)),
              'README sample is stale: run `node --import tsx scripts/readme-sample.ts --write` and review the diff',
            );
          },
        );
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
      for (const mode of opts.readmeSample
        ? (['nftables'] as const)
        : (['ipvs', 'nftables'] as const))
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
