import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defineCommand, str, type ParsedArgs } from '../core/command.js';
import type { Context } from '../core/context.js';
import { UserError } from '../core/errors.js';
import { paths } from '../core/paths.js';
import { runTasks } from '../ui/tasks.js';
import { findEntry } from './registry.js';
import { kubeFor, modeArgs, modeTasks, newState, summaryLines } from '../steps/flows.js';
import { listBackups, readBackup, withLock } from '../steps/state.js';
import { effectiveMode, readSettings } from '../steps/configmap.js';
import { applyWeb } from '../steps/web.js';
import { currentStep, settleInterrupt } from '../core/interrupt.js';
import { EXIT } from '../core/errors.js';
import { errorText } from '../steps/kube.js';
import { backupsSince, modeInPlace, restoreSentence } from '../steps/inplace.js';

async function runCommand(
  ctx: Context,
  name: string,
  values: Record<string, string | boolean | undefined>,
  positionals: string[] = [],
): Promise<number> {
  const entry = findEntry(name);
  let mod;
  try {
    mod = await entry?.load();
  } catch {
    mod = undefined;
  }
  if (!mod)
    throw new UserError(
      `\`proxylab ${name}\` is not available in this build`,
      'update your checkout (git pull) and run `npm ci`',
    );
  const withDefaults: Record<string, string | boolean | undefined> = {};
  for (const [k, o] of Object.entries(mod.default.options ?? {}))
    if (o.default !== undefined) withDefaults[k] = o.default;
  return mod.default.run(ctx, { values: { ...withDefaults, ...values }, positionals });
}

export default defineCommand({
  name: 'lab',
  summary: 'the whole lab: cluster up, kube-proxy in the chosen mode, web sample, checks',
  usage: 'proxylab lab [--mode ipvs|iptables|nftables] [--k8s VERSION] [--scheduler S]',
  details: `
Runs, in order (each step is idempotent, so a re-run picks up where it stopped):
  1. proxylab up --mode iptables [--k8s V]   the kind cluster, kube-proxy in its default mode
  2. proxylab mode <M> [--scheduler S]       for ipvs: modules, node tools, switch, flush
  3. proxylab web                            the web sample, 2 pods
  4. proxylab check labs/<M>                 every step of the lab doc against the cluster
                                             (when that lab exists)
  5. proxylab mode <M>                       the lab doc visits other modes (it ends with
                                             \`make iptables\`): kube-proxy is left in <M>`,
  options: {
    mode: {
      type: 'string',
      arg: 'MODE',
      description: 'kube-proxy mode for the lab',
      default: 'ipvs',
    },
    k8s: { type: 'string', arg: 'VERSION', description: 'Kubernetes version, e.g. 1.33' },
    scheduler: {
      type: 'string',
      arg: 'S',
      description: 'IPVS scheduler (ipvs mode)',
      default: 'rr',
    },
    timeout: { type: 'string', arg: 'SECONDS', description: 'limit for each wait', default: '180' },
    'skip-check': { type: 'boolean', description: 'build the lab, do not run its checks' },
  },
  async run(ctx, args) {
    const mode = str(args, 'mode') ?? 'ipvs';
    const before = listBackups(ctx.env, ctx.cluster);
    // the step running when Ctrl-C came (tasks started after it only wind down)
    let at: string | undefined;
    const onAbort = () => (at = currentStep());
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await labSteps(ctx, args, mode);
    } catch (e) {
      if (!(await settleInterrupt(ctx.signal, e))) throw e;
      throw await interrupted(ctx, e, mode, before, at);
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
  },
});

/**
 * Ctrl-C anywhere in the lab: which step it landed in, what is in place now (read from the
 * cluster: a step of the lab doc may have been running `make ipvs`), and where the
 * ConfigMap this run backed up is, with the commands that put it back.
 */
async function interrupted(
  ctx: Context,
  e: unknown,
  mode: string,
  before: readonly string[],
  step: string | undefined,
): Promise<UserError> {
  const said = e instanceof UserError ? e.message : errorText(e);
  const n = step ? /^step (\d+) · /.exec(step)?.[1] : undefined;
  const named = !step || (n ? new RegExp(`\\bstep ${n}\\b`).test(said) : said.includes(step));
  const by = (ctx.signal.reason as Error | undefined)?.message ?? 'interrupted by Ctrl-C';
  const lines = [
    named
      ? said
      : `${by} at "${step}" of \`proxylab lab\`: ${said.replace(/^interrupted by [^:;]*[:;]\s*/, '')}`,
    await modeInPlace(ctx),
  ];
  const made = backupsSince(ctx, before);
  if (made[0]) {
    let was = '?';
    try {
      was = effectiveMode(readSettings(readBackup(made[0])));
    } catch {
      /* unreadable: the sentence still says where it is */
    }
    lines.push(restoreSentence(ctx, made[0], was));
  }
  return new UserError(
    lines.join('\n  '),
    `run \`proxylab lab --mode ${mode}\` again: every step is idempotent, it picks up where this run stopped`,
    EXIT.interrupted,
    { cause: e },
  );
}

async function labSteps(ctx: Context, args: ParsedArgs, mode: string): Promise<number> {
  const a = modeArgs(
    {
      scheduler: mode === 'ipvs' ? str(args, 'scheduler') : undefined,
      timeout: str(args, 'timeout'),
    },
    mode,
  );
  const k8s = str(args, 'k8s');
  // 1. cluster (its own command, its own output)
  const up = await runCommand(ctx, 'up', { mode: 'iptables', ...(k8s ? { k8s } : {}) });
  if (up !== 0) return up;
  const st = newState();
  await withLock(
    ctx.env,
    ctx.cluster,
    `lab --mode ${mode}`,
    () =>
      runTasks(
        ctx,
        [
          ...modeTasks(ctx, st, a),
          {
            title: 'web sample (2 pods, ClusterIP + NodePort)',
            task: async (_c, task) => {
              await applyWeb(
                await kubeFor(ctx, st),
                { replicas: 2, affinity: 'None', namespace: 'default' },
                a.timeoutS,
                (t) => (task.output = t),
                ctx.signal,
              );
            },
          },
        ],
        {},
      ),
    (t) => ctx.io.warn(`⚠ ${t}`),
  );
  for (const l of summaryLines(st)) ctx.io.info(l);
  for (const w of new Set(st.warnings)) ctx.io.warn(`⚠ ${w}`);
  // 4. checks
  if (args.values['skip-check'] === true) {
    ctx.io.info(`  checks skipped (--skip-check): run \`proxylab check labs/${mode}\` when ready`);
    return 0;
  }
  const labDir = join(paths.labs, mode);
  if (!existsSync(join(labDir, 'README.md'))) {
    ctx.io.warn(
      `⚠ checks: there is no lab doc ${join('labs', mode, 'README.md')} yet — skipped (the cluster is ready for it)`,
    );
    return 0;
  }
  const checkEntry = findEntry('check');
  let hasCheck = false;
  try {
    hasCheck = !!(await checkEntry?.load());
  } catch {
    hasCheck = false;
  }
  if (!hasCheck) {
    ctx.io.warn(
      '⚠ checks: `proxylab check` is not available yet in this build — skipped; the cluster is ready for the lab',
    );
    return 0;
  }
  const checked = await runCommand(ctx, 'check', {}, [join('labs', mode)]);
  if (ctx.signal.aborted) return checked;
  // 5. The lab doc visits other modes (labs/ipvs and labs/nftables end with `make
  // iptables`): leave kube-proxy in the mode the lab was asked for, so `make status` and
  // the HTML report show it. Same tasks as `proxylab mode`: nothing restarts when every
  // node already runs it.
  const back = newState();
  await withLock(
    ctx.env,
    ctx.cluster,
    `lab --mode ${mode}`,
    () => runTasks(ctx, modeTasks(ctx, back, a), {}),
    (t) => ctx.io.warn(`⚠ ${t}`),
  );
  if (back.switch?.outcome === 'switched')
    ctx.io.info(
      `  the lab's last steps left kube-proxy in ${effectiveMode(back.switch.from)} mode: back to ${mode}, the mode asked for`,
    );
  for (const w of new Set(back.warnings)) ctx.io.warn(`⚠ ${w}`);
  return checked;
}
