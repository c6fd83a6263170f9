/**
 * The lab steps as listr2 tasks, shared by the commands (`modules`, `node-tools`, `mode`,
 * `scheduler`, `flush-nat`, `web`, `lab`) so `make ipvs` and `make lab` run the same code
 * as each single step.
 */
import { writeFileSync } from 'node:fs';
import type { Context } from '../core/context.js';
import { run } from '../core/exec.js';
import { UserError, UsageError, EXIT } from '../core/errors.js';
import type { Task } from '../ui/tasks.js';
import { awaitInterrupt, settleInterrupt } from '../core/interrupt.js';
import { connect, errorText, type Kube } from './kube.js';
import {
  engineIsThisHost,
  engineStatuses,
  ensureModules,
  kernelRoots,
  loadedFromProc,
  manualCommands,
  notFoundIn,
  readEngineKernel,
  type EngineKernel,
  persistContent,
  persistPath,
  requiredModules,
  writePersist,
  type ModuleStatus,
} from './modules.js';
import { validateScheduler, type Scheduler } from './schedulers.js';
import { ensureNodeTools, type NodeToolsResult } from './nodetools.js';
import { describe, getConfigMap, switchMode, type SwitchReport } from './mode.js';
import { effectiveMode, readSettings, type Change, type ProxyMode } from './configmap.js';
import { failIfAny, flushNodes, summarize, type NodeFlush } from './flush.js';

/** What the tasks found, for the summary printed after the task tree. */
export interface StepState {
  kube?: Kube;
  modules?: { statuses: ModuleStatus[]; loaded: string[]; persisted?: string; via: string };
  nodeTools?: NodeToolsResult[];
  switch?: SwitchReport;
  flush?: NodeFlush[];
  summary: string[];
  warnings: string[];
}

export function newState(): StepState {
  return { summary: [], warnings: [] };
}

export function parseMode(m: string | undefined): ProxyMode {
  if (m === 'iptables' || m === 'ipvs' || m === 'nftables') return m;
  throw new UsageError(
    `unknown proxy mode "${m ?? ''}"`,
    'choose one of: iptables, ipvs, nftables',
  );
}

export async function kubeFor(ctx: Context, st: StepState): Promise<Kube> {
  st.kube ??= await connect(ctx);
  return st.kube;
}

/** Root? PROXYLAB_ASSUME_NOT_ROOT=1 (tests) takes the non-root path, `sudo -n`, as root too. */
export function isRoot(env: NodeJS.ProcessEnv = process.env): boolean {
  return process.getuid?.() === 0 && env.PROXYLAB_ASSUME_NOT_ROOT !== '1';
}

/**
 * modules: the IPVS modules in the engine's kernel, checked and loaded through a node
 * (`docker exec NODE modprobe -a`), this machine's modprobe (root, or `sudo -n`) last and only
 * when this machine is the engine's; with no cluster yet, this machine's kernel.
 */
export function modulesTask(
  ctx: Context,
  st: StepState,
  scheduler: Scheduler | undefined,
  persist: boolean,
): Task<object> {
  return {
    title: `IPVS kernel modules${scheduler ? ` (scheduler ${scheduler})` : ''}`,
    task: async (_c, task) => {
      const roots = kernelRoots(ctx.env);
      const hostRunner = async (argv: string[]) => {
        task.output = `running ${argv.join(' ')}`;
        await run(argv, { timeoutMs: 30_000, signal: ctx.signal });
      };
      let engine: EngineKernel | undefined;
      let kube: Kube | undefined;
      try {
        kube = await kubeFor(ctx, st);
        const nodes = await kube.nodes(ctx.signal);
        const node = nodes.find((n) => n.role === 'control-plane') ?? nodes[0]!;
        engine = await readEngineKernel(node.name, (argv) =>
          kube!.exec(node.name, argv, { reject: false, signal: ctx.signal, timeoutMs: 30_000 }),
        );
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        task.output = `no cluster node to look through (${errorText(e)}): this machine's kernel`;
      }
      let statuses: ModuleStatus[];
      const loaded: string[] = [];
      let local = true;
      let names: string[];
      if (!engine || !kube) {
        names = requiredModules('ipvs', scheduler, roots.release);
        const r = await ensureModules(names, ctx.env, hostRunner, isRoot(ctx.env));
        statuses = r.report.modules;
        loaded.push(...r.loaded);
        st.modules = { statuses, loaded, via: 'this machine (no cluster yet)' };
      } else {
        const k = kube;
        const e = engine;
        names = requiredModules('ipvs', scheduler, e.release);
        const exec = (argv: string[], timeoutMs = 30_000) =>
          k.exec(e.node, argv, { reject: false, signal: ctx.signal, timeoutMs });
        statuses = engineStatuses(e, names);
        const toLoad = statuses.filter((s) => s.state === 'loadable').map((s) => s.name);
        let missing: string[] = [];
        let failure = '';
        if (toLoad.length) {
          task.output = `modprobe -a ${toLoad.join(' ')} in ${e.node} (the engine's kernel ${e.release})`;
          const r = await exec(['modprobe', '-a', '--', ...toLoad], 60_000);
          if (r.exitCode !== 0)
            failure = r.stderr.trim().split('\n').pop() || `modprobe exited ${r.exitCode}`;
          missing = notFoundIn(r.stderr).filter((m) => toLoad.includes(m));
          const now = loadedFromProc((await exec(['cat', '/proc/modules'])).stdout);
          loaded.push(...toLoad.filter((m) => now.has(m)));
          statuses = statuses.map((s) =>
            s.state !== 'loadable'
              ? s
              : { name: s.name, state: now.has(s.name) ? 'loaded' : s.state },
          );
        }
        const still = statuses.filter((s) => s.state === 'loadable').map((s) => s.name);
        const host = engineIsThisHost(ctx.env, e.release, roots.release);
        local = host.local;
        if (still.length && !host.local) {
          const absent = still.filter((m) => missing.includes(m));
          throw new UserError(
            absent.length
              ? `the Docker engine's kernel (${e.release}) has no ${absent.join(', ')} module${absent.length > 1 ? 's' : ''}: kube-proxy's IPVS mode cannot run on this engine (${host.why})`
              : `could not load ${still.join(', ')} into the Docker engine's kernel (${e.release}) through ${e.node}: ${failure}`,
            absent.length
              ? "kube-proxy's nftables and iptables modes need no IPVS module: `proxylab mode nftables`; or use an engine whose kernel has IPVS (a Linux host with linux-modules-extra)"
              : `load them on the machine that runs the Docker engine (${host.why}), then try again:\n${manualCommands(still).join('\n')}`,
          );
        }
        if (still.length) {
          // last: this machine is the engine's; its own modprobe (root, or sudo -n)
          task.output = `${e.node} could not load ${still.join(', ')} (${failure}): trying this machine's modprobe`;
          const r = await ensureModules(still, ctx.env, hostRunner, isRoot(ctx.env));
          const now = loadedFromProc((await exec(['cat', '/proc/modules'])).stdout);
          loaded.push(...r.loaded);
          statuses = statuses.map((s) =>
            s.state !== 'loadable'
              ? s
              : {
                  name: s.name,
                  state: now.has(s.name) || r.loaded.includes(s.name) ? 'loaded' : s.state,
                },
          );
        }
        st.modules = {
          statuses,
          loaded,
          via: `${e.node} (the Docker engine's kernel ${e.release}${host.local ? ', this machine' : ", not this machine's"})`,
        };
      }
      if (persist) {
        if (!local) {
          st.summary.push(
            `--persist: the Docker engine is not this machine; list ${names.join(' ')} in /etc/modules-load.d/ on the engine's machine`,
          );
        } else {
          try {
            const changed = writePersist(roots, names);
            st.modules.persisted = persistPath(roots);
            st.summary.push(
              changed
                ? `wrote ${persistPath(roots)} (loaded at every boot)`
                : `${persistPath(roots)} already lists them`,
            );
          } catch (e) {
            throw new UserError(
              `could not write ${persistPath(roots)}: ${(e as Error).message}`,
              `run as root, or by hand:\nprintf '${persistContent(names).split('\n').slice(1).join('\\n')}' | sudo tee ${persistPath(roots)}`,
            );
          }
        }
      }
      task.title = `IPVS kernel modules via ${st.modules.via}: ${loaded.length ? `loaded ${loaded.join(', ')}` : 'all present'}`;
    },
  };
}

export function nodeToolsTask(ctx: Context, st: StepState): Task<object> {
  return {
    title: 'ipvsadm, ipset and conntrack in every node',
    task: async (_c, task) => {
      const kube = await kubeFor(ctx, st);
      const res = await ensureNodeTools(kube, ctx.env, {
        signal: ctx.signal,
        progress: (t) => (task.output = t),
      });
      st.nodeTools = res;
      const bad = res.filter((r) => r.status === 'failed');
      // Ctrl-C from a terminal kills the nodes' programs too, maybe before proxylab hears it
      if (
        bad.some((b) => /killed by SIG(INT|TERM)\b/.test(b.error ?? '')) &&
        (await awaitInterrupt(ctx.signal))
      )
        throw new Error(
          `installing the node tools was cut short on ${bad.map((b) => b.node).join(', ')}`,
        );
      if (bad.length) {
        throw new UserError(
          `installing the node tools failed on ${bad.map((b) => `${b.node} (${b.error})`).join(', ')}`,
          'the other nodes are done; check the node’s network (`docker exec <node> apt-get update`) and run `proxylab node-tools` again',
        );
      }
      const did = res.filter((r) => r.status !== 'present');
      task.title = did.length
        ? `node tools: installed in ${did.map((r) => `${r.node}${r.status === 'installed-from-cache' ? ' (from cache)' : ''}`).join(', ')}`
        : 'node tools: already installed everywhere';
    },
  };
}

export interface ModeArgs {
  change: Change;
  keepRules: boolean;
  timeoutS: number;
}

export function switchTask(ctx: Context, st: StepState, a: ModeArgs): Task<object> {
  return {
    title: `kube-proxy → ${describe(a.change)}`,
    task: async (_c, task) => {
      const kube = await kubeFor(ctx, st);
      const report = await switchMode(ctx, kube, {
        change: a.change,
        timeoutS: a.timeoutS,
        progress: (t) => (task.output = t),
      });
      st.switch = report;
      st.warnings.push(...report.warnings);
      task.title =
        report.outcome === 'unchanged'
          ? `kube-proxy already runs ${describe(a.change)} on every node: nothing to do`
          : `kube-proxy runs ${describe(a.change)} on ${report.nodes.length} node${report.nodes.length === 1 ? '' : 's'} (was ${effectiveMode(report.from)})`;
    },
  };
}

export function flushTask(
  ctx: Context,
  st: StepState,
  o: { dryRun: boolean; mode?: ProxyMode },
): Task<object> {
  return {
    title: o.dryRun
      ? 'what flush-nat would remove'
      : 'remove what the previous proxy mode left on the nodes',
    task: async (_c, task) => {
      const kube = await kubeFor(ctx, st);
      const mode =
        o.mode ?? (effectiveMode(readSettings(await getConfigMap(kube, ctx.signal))) as ProxyMode);
      task.output = `kube-proxy mode is ${mode}: looking for ${mode === 'ipvs' ? 'iptables-mode' : mode === 'iptables' ? 'ipvs-mode' : 'iptables- and ipvs-mode'} leftovers`;
      const res = await flushNodes(kube, mode, { dryRun: o.dryRun, signal: ctx.signal });
      st.flush = res;
      failIfAny(res);
      const total = res.reduce(
        (n, r) =>
          n +
          (r.counts
            ? r.counts.rules +
              r.counts.chains +
              r.counts.ipsets +
              r.counts.ipvsServices +
              r.counts.links
            : 0),
        0,
      );
      task.title =
        total === 0
          ? 'no leftovers of another proxy mode on any node'
          : `${o.dryRun ? 'would remove' : 'removed'} ${total} leftover objects on ${res.filter((r) => r.counts && r.lines.length).length} node(s)`;
    },
  };
}

/** On Ctrl-C, say which mode is in place (the switch task itself restores and says so). */
export function sayWhereOnInterrupt(
  ctx: Context,
  t: Task<object>,
  where: () => string,
): Task<object> {
  const inner = t.task;
  return {
    ...t,
    task: async (c, task) => {
      try {
        return await (inner as (c: object, task: unknown) => Promise<unknown>)(c, task);
      } catch (e) {
        if (
          (await settleInterrupt(ctx.signal, e)) &&
          !(e instanceof UserError && e.exitCode === EXIT.interrupted)
        ) {
          throw new UserError(
            `interrupted by Ctrl-C: ${where()} (it came during "${String(t.title)}")`,
            'run the same command again to finish; every step is idempotent',
            EXIT.interrupted,
            { cause: e },
          );
        }
        throw e;
      }
    },
  };
}

/** The tasks of `proxylab mode` (and `make ipvs`): modules + node tools for ipvs, switch, flush. */
export function modeTasks(ctx: Context, st: StepState, a: ModeArgs): Task<object>[] {
  const tasks: Task<object>[] = [];
  const before = () =>
    'the switch had not started; kube-proxy still runs its previous mode, nothing in the cluster changed';
  if (a.change.mode === 'ipvs') {
    tasks.push(
      sayWhereOnInterrupt(
        ctx,
        modulesTask(ctx, st, a.change.scheduler as Scheduler | undefined, false),
        before,
      ),
    );
    tasks.push(
      sayWhereOnInterrupt(
        ctx,
        nodeToolsTask(ctx, st),
        () => `${before()} (node tools may be installed on some nodes)`,
      ),
    );
  }
  tasks.push(sayWhereOnInterrupt(ctx, switchTask(ctx, st, a), before));
  if (!a.keepRules) {
    tasks.push(
      sayWhereOnInterrupt(
        ctx,
        {
          ...flushTask(ctx, st, { dryRun: false, mode: a.change.mode }),
          skip: () =>
            st.switch?.outcome === 'unchanged' ? 'kube-proxy did not change mode' : false,
        },
        () =>
          `the switch completed: kube-proxy runs ${describe(a.change)} on every node; removing the old mode's leftovers was cut short (they do no harm; \`proxylab flush-nat\` removes them)`,
      ),
    );
  }
  return tasks;
}

export function modeArgs(values: Record<string, unknown>, mode: string | undefined): ModeArgs {
  const m = parseMode(mode);
  const change: Change = { mode: m };
  const s = values.scheduler;
  if (typeof s === 'string' && s !== '') {
    if (m !== 'ipvs')
      throw new UsageError(
        `--scheduler applies to ipvs mode only (you asked for ${m})`,
        `drop --scheduler, or run \`proxylab mode ipvs --scheduler ${s}\``,
      );
    change.scheduler = validateScheduler(s);
  }
  if (values['strict-arp'] === true) {
    if (m !== 'ipvs')
      throw new UsageError('--strict-arp applies to ipvs mode only', 'drop --strict-arp');
    change.strictARP = true;
  }
  const t = typeof values.timeout === 'string' ? Number(values.timeout) : 180;
  if (!Number.isFinite(t) || t < 5 || t > 3600)
    throw new UsageError(
      `--timeout must be 5..3600 seconds (got "${String(values.timeout)}")`,
      'e.g. --timeout 300',
    );
  return { change, keepRules: values['keep-rules'] === true, timeoutS: t };
}

/** Lines printed after the tasks: per-node verdicts, leftovers removed, warnings. */
export function summaryLines(st: StepState): string[] {
  const out: string[] = [];
  if (st.switch) {
    for (const n of st.switch.nodes)
      out.push(
        `  ${n.node}: /proxyMode = ${n.proxyMode ?? '?'}${n.logMode ? `, logs say ${n.logMode}` : ''}`,
      );
    if (st.switch.backup) out.push(`  ConfigMap backup: ${st.switch.backup}`);
  }
  if (st.flush) for (const r of st.flush) out.push(`  ${summarize(r, false)}`);
  out.push(...st.summary.map((s) => `  ${s}`));
  return out;
}

export function writeJson(file: string, data: unknown): void {
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
}

export { EXIT };
