/**
 * A tester's session of interrupts at every step of `proxylab lab` (issue 13), against the
 * test suite's fake toolchain (test/fake): no Docker, no cluster needed.
 *
 * 1. The step plan: one uninterrupted `proxylab lab --mode M` from no cluster, its steps as
 *    the CLI itself announces them (the `[STARTED] <title>` lines of its CI output, in order;
 *    a title seen twice — `lab` switches the mode once before the checks and once after —
 *    counts twice).
 * 2. For each step in turn: `proxylab lab --mode M` again (from no cluster for the steps of
 *    `up`, which only run then), and as soon as that step has started, Ctrl-C the way a
 *    terminal sends it: SIGINT to the whole process group (the CLI, the lab's shell, a nested
 *    `make ipvs`, the fake kubectl it runs...). Then:
 *      exit      the exit code (130 wanted)
 *      message   does the last message name the step and the mode in place (and, when
 *                the run made a ConfigMap backup, the restore command)?
 *      lock      is the cluster's lock file gone?
 *      state     kube-proxy's mode on each node and in the ConfigMap (the fake's state),
 *                and does it agree with what the message says is in place?
 *      rerun     does the next `proxylab lab` go green?
 *
 *   node --import tsx scripts/interrupt-session.ts [--mode ipvs] [--steps all|1,4,9-12]
 *        [--rerun each|chain] [--delay-ms 150] [--skip-check] [--json FILE] [--plan FILE]
 *        [--logs DIR]
 *
 * --plan FILE: the plan of an earlier session's --json (skips the uninterrupted first run,
 * e.g. to run parts of the session side by side).
 *
 * --rerun each: after every interrupt an uninterrupted `proxylab lab` must exit 0 (a full
 * lab each time). --rerun chain: the next interrupted run is the rerun — it must pass every
 * step up to the one it is interrupted at (the step interrupted before included); the last
 * interrupt is followed by a full lab that must exit 0. `npm run interrupt-session` runs the
 * whole session; test/flow/interrupt-session.test.ts runs a few steps of it.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labRun, type LabRun } from '../test/flow/check-helpers.js';
import { CLI, ROOT } from '../test/helpers/cli.js';

export interface Step {
  /** 1-based position in the plan. */
  n: number;
  title: string;
  /** Which appearance of this title in one run (1: first). */
  occurrence: number;
  /** A step of `proxylab up` that only runs when there is no cluster yet. */
  fromNoCluster: boolean;
  /** Options of the lab run that reaches this step, instead of the session's. */
  labArgs?: string[];
}

export interface RunResult {
  code: number | null;
  output: string;
  /** The step was seen starting and Ctrl-C was sent. */
  interrupted: boolean;
  /** The step started last before the CLI said it was interrupted (a step that ends at once is past by then). */
  landed?: string;
  seconds: number;
}

export interface NodeMode {
  node: string;
  mode: string;
}

export interface ClusterState {
  exists: boolean;
  /** mode: in the kube-proxy ConfigMap ("" = kube-proxy's default, iptables). */
  configMap?: string;
  nodes: NodeMode[];
}

export interface Outcome {
  step: Step;
  /** The step Ctrl-C came in, when not `step` (which had ended already). */
  landed?: string;
  exit: number | null;
  /** The closing message (the ✘ line and its hint). */
  message: string;
  namesStep: boolean;
  /** The modes the message says are in place, from its "in place:" sentence. */
  claimed: string[];
  /** Says where the backup is and how to restore it (undefined: this run made no backup). */
  namesRestore?: boolean;
  lockLeft: boolean;
  state: ClusterState;
  consistent: boolean;
  rerunOk?: boolean;
  rerunNote?: string;
  seconds: number;
}

const STARTED = /^\[STARTED\] (?:\[\d\d:\d\d:\d\d\] )?(.*)$/;
const UP_DONE = /^✔ cluster "[^"]+" is up/;

/** The step titles a run announced, in order. */
export function startedTitles(output: string): { title: string; beforeUp: boolean }[] {
  const out: { title: string; beforeUp: boolean }[] = [];
  let up = false;
  for (const line of output.split('\n')) {
    if (UP_DONE.test(line)) up = true;
    const m = STARTED.exec(line);
    if (m) out.push({ title: m[1]!.trim(), beforeUp: !up });
  }
  return out;
}

export function planFrom(output: string): Step[] {
  const seen = new Map<string, number>();
  return startedTitles(output).map((s, i) => {
    const occurrence = (seen.get(s.title) ?? 0) + 1;
    seen.set(s.title, occurrence);
    return { n: i + 1, title: s.title, occurrence, fromNoCluster: s.beforeUp };
  });
}

/**
 * `proxylab ARGS` in a process group of its own, stdout and stderr in arrival order; when
 * `at` says so, SIGINT to the whole group, as a terminal's Ctrl-C.
 */
export function runLab(
  r: LabRun,
  args: string[],
  at?: (out: string) => boolean,
  delayMs = 150,
  limitMs = 900_000,
): Promise<RunResult> {
  const t0 = Date.now();
  // stdout and stderr on one pipe, so lines keep the order a terminal shows them in
  const child = spawn(
    'sh',
    [
      '-c',
      'exec "$0" "$@" 2>&1',
      process.execPath,
      ...CLI,
      '--kubeconfig',
      r.lab.fake.kubeconfig,
      ...args,
    ],
    {
      cwd: ROOT,
      env: { ...r.env, NO_COLOR: '1', CI: 'true' },
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    },
  );
  let output = '';
  let interrupted = false;
  const take = (b: Buffer) => (output += b.toString());
  child.stdout.on('data', take);
  const group = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      /* gone */
    }
  };
  return new Promise((resolve, reject) => {
    const tick = at
      ? setInterval(() => {
          if (interrupted || !at(output)) return;
          interrupted = true;
          clearInterval(tick);
          setTimeout(() => group('SIGINT'), delayMs);
        }, 25)
      : undefined;
    const limit = setTimeout(() => group('SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(tick);
      clearTimeout(limit);
      // the step started last before the CLI said it was interrupted (one pipe: in order)
      const cut = output.search(/^⚠ interrupted by/m);
      const landed =
        interrupted && cut >= 0 ? startedTitles(output.slice(0, cut)).pop() : undefined;
      resolve({
        code,
        output,
        interrupted,
        ...(landed ? { landed: landed.title } : {}),
        seconds: (Date.now() - t0) / 1000,
      });
    });
  });
}

/** The run has announced this step (its `occurrence`-th appearance). */
export function hasStarted(step: Step): (out: string) => boolean {
  return (out) =>
    startedTitles(out).filter((s) => s.title === step.title).length >= step.occurrence;
}

/** kube-proxy's mode in the fake's state: the ConfigMap's and what each node's pod runs. */
export function clusterState(r: LabRun, name = 'proxylab'): ClusterState {
  const c = r.lab.fake.state().clusters[name];
  if (!c) return { exists: false, nodes: [] };
  const cm = c.objects['ConfigMap/kube-system/kube-proxy'] as
    { data?: Record<string, string> } | undefined;
  const conf = cm?.data?.['config.conf'] ?? '';
  const mode = /^mode:\s*"?([a-z]*)"?\s*$/m.exec(conf)?.[1];
  return {
    exists: true,
    ...(mode !== undefined ? { configMap: mode || 'iptables' } : {}),
    nodes: c.nodes.map((n) => ({ node: n.name, mode: n.datapath.kubeProxy?.mode ?? '?' })),
  };
}

/** The run's closing message: from its last ✘ line to the end. */
export function closingMessage(output: string): string {
  const lines = output.replace(/\s+$/, '').split('\n');
  const at = lines.map((l) => /^✘ /.test(l)).lastIndexOf(true);
  return at < 0 ? '' : lines.slice(at).join('\n');
}

/** The modes the message says are in place (its "in place:" sentence). */
export function claimedModes(message: string): string[] {
  const m = /in place:([^\n]*)/.exec(message);
  if (!m) return [];
  if (/no cluster/.test(m[1]!)) return ['no cluster'];
  return [...new Set(m[1]!.match(/\b(iptables|ipvs|nftables)\b/g) ?? [])];
}

/** The message agrees with the fake's state. */
export function agrees(claimed: string[], s: ClusterState): boolean {
  if (!s.exists) return claimed.length === 1 && claimed[0] === 'no cluster';
  if (claimed.length === 0 || claimed.includes('no cluster')) return false;
  const modes = new Set(s.nodes.map((n) => n.mode));
  if (s.configMap) modes.add(s.configMap);
  // every mode said is in place somewhere, every mode in place is said
  return claimed.every((m) => modes.has(m)) && [...modes].every((m) => claimed.includes(m));
}

/**
 * The run printed no failed step before the point it was interrupted. The terminal's Ctrl-C
 * reaches the programs proxylab runs too, and one can die of it (and its step be marked
 * failed) before proxylab prints that it was interrupted: that step is the cut, not a failure.
 */
export function greenUntilInterrupted(output: string): { ok: boolean; note?: string } {
  const cut = output.search(/\n⚠ interrupted by/);
  const before = cut < 0 ? output : output.slice(0, cut);
  const failed = before
    .split('\n')
    .find((l) => /^\[FAILED\]|^✘ /.test(l) && !/killed by SIG(?:INT|TERM)\b/.test(l));
  return failed ? { ok: false, note: failed.slice(0, 160) } : { ok: true };
}

function lockLeft(r: LabRun): boolean {
  const d = join(r.env.PROXYLAB_STATE_DIR!, 'locks');
  return existsSync(d) && readdirSync(d).some((f) => f.endsWith('.lock'));
}

/** The message names the step (a doc step by its number, a task by its title). */
export function namesStep(message: string, title: string): boolean {
  const m = /^step (\d+) · /.exec(title);
  if (m) return new RegExp(`\\bstep ${m[1]}\\b`).test(message);
  return message.includes(title);
}

export interface SessionOptions {
  mode: string;
  /** More options for every `proxylab lab` run (e.g. --skip-check). */
  labArgs?: string[];
  steps?: (plan: Step[]) => Step[];
  rerun: 'each' | 'chain';
  delayMs: number;
  log?: (line: string) => void;
  /** A plan known beforehand (skips the first uninterrupted run). */
  plan?: Step[];
  /** The fake lab to run in (default: a new one, removed at the end). */
  lab?: LabRun;
  /** A folder to keep every run's output in (NN-step.log, NN-final.log). */
  logs?: string;
}

export async function session(o: SessionOptions): Promise<{
  plan: Step[];
  outcomes: Outcome[];
  baselineSeconds: number;
  finalOk: boolean;
}> {
  const log = o.log ?? (() => {});
  const r = o.lab ?? labRun();
  const args = ['lab', '--mode', o.mode, ...(o.labArgs ?? [])];
  const noCluster = () => r.lab.fake.tool('kind', ['delete', 'cluster', '--name', 'proxylab']);
  try {
    let plan = o.plan;
    let baselineSeconds = 0;
    if (!plan) {
      noCluster();
      const base = await runLab(r, args);
      baselineSeconds = base.seconds;
      if (base.code !== 0)
        throw new Error(`the uninterrupted lab failed (exit ${base.code}):\n${base.output}`);
      plan = planFrom(base.output);
      log(`plan: ${plan.length} steps (an uninterrupted lab: ${base.seconds.toFixed(1)} s)`);
      for (const s of plan)
        log(
          `  ${String(s.n).padStart(3)} ${s.fromNoCluster ? '(no cluster) ' : ''}${s.title}${s.occurrence > 1 ? ` (#${s.occurrence})` : ''}`,
        );
    }
    const chosen = o.steps ? o.steps(plan) : plan;
    const outcomes: Outcome[] = [];
    let pending: Outcome | undefined;
    for (const step of chosen) {
      if (step.fromNoCluster) noCluster();
      const run = await runLab(
        r,
        step.labArgs ? ['lab', '--mode', o.mode, ...step.labArgs] : args,
        hasStarted(step),
        o.delayMs,
      );
      if (o.logs)
        writeFileSync(join(o.logs, `${String(step.n).padStart(2, '0')}-step.log`), run.output);
      if (pending) {
        // chain: this run is the previous interrupt's rerun, up to where it is cut
        const g = greenUntilInterrupted(run.output);
        pending.rerunOk = g.ok && (run.code === 130 || run.code === 0);
        if (!pending.rerunOk) pending.rerunNote = g.note ?? `exit ${run.code}`;
        pending = undefined;
      }
      const message = closingMessage(run.output);
      const state = clusterState(r);
      const claimed = claimedModes(message);
      const backup = /backed up the kube-proxy ConfigMap to|ConfigMap backup: /.test(run.output);
      const out: Outcome = {
        step,
        exit: run.interrupted ? run.code : null,
        message,
        ...(run.landed && run.landed !== step.title ? { landed: run.landed } : {}),
        namesStep: namesStep(message, run.landed ?? step.title),
        claimed,
        ...(backup ? { namesRestore: /replace -f \S+/.test(message) } : {}),
        lockLeft: lockLeft(r),
        state,
        consistent: agrees(claimed, state),
        seconds: run.seconds,
      };
      if (!run.interrupted) out.rerunNote = `step not reached (exit ${run.code})`;
      if (o.rerun === 'each') {
        const again = await runLab(r, args);
        out.rerunOk = again.code === 0;
        if (!out.rerunOk)
          out.rerunNote = `exit ${again.code}: ${closingMessage(again.output).split('\n')[0]}`;
      } else pending = out;
      outcomes.push(out);
      log(
        `interrupt at ${step.n} (${step.title.slice(0, 50)}): exit ${out.exit ?? '–'}, ${run.seconds.toFixed(0)} s`,
      );
    }
    let finalOk = true;
    if (pending || o.rerun === 'chain') {
      const last = await runLab(r, args);
      if (o.logs) writeFileSync(join(o.logs, 'final.log'), last.output);
      finalOk = last.code === 0;
      if (pending) {
        pending.rerunOk = finalOk;
        if (!finalOk)
          pending.rerunNote = `exit ${last.code}: ${closingMessage(last.output).split('\n')[0]}`;
      }
    }
    return { plan, outcomes, baselineSeconds, finalOk };
  } finally {
    if (!o.lab) r.lab.fake.cleanup();
  }
}

function yes(b: boolean | undefined): string {
  return b === undefined ? '–' : b ? 'yes' : 'NO';
}

function stateText(s: ClusterState): string {
  if (!s.exists) return 'no cluster';
  const modes = [...new Set(s.nodes.map((n) => n.mode))];
  return `cm ${s.configMap ?? '?'}, nodes ${modes.length === 1 ? `all ${modes[0]}` : s.nodes.map((n) => `${n.node.replace(/^proxylab-/, '')}=${n.mode}`).join(' ')}`;
}

function cut(t: string, n: number): string {
  return (t.length > n ? `${t.slice(0, n - 1)}…` : t).padEnd(n);
}

export function row(o: Outcome): string {
  return [
    String(o.step.n).padStart(3),
    cut(o.step.title, o.landed ? 30 : 44) +
      (o.landed ? ` → ${cut(o.landed, 11)}` : '').padEnd(o.landed ? 14 : 0),
    String(o.exit ?? '–').padStart(4),
    yes(o.namesStep).padEnd(5),
    (o.claimed.join('+') || '–').padEnd(14),
    yes(o.namesRestore).padEnd(7),
    (o.lockLeft ? 'LEFT' : 'gone').padEnd(5),
    stateText(o.state).padEnd(30),
    yes(o.consistent).padEnd(5),
    `${yes(o.rerunOk)}${o.rerunNote ? ` (${o.rerunNote})` : ''}`,
  ].join(' │ ');
}

export const HEADER = [
  '  #',
  'step'.padEnd(44),
  'exit',
  'step?',
  'in place (msg)'.padEnd(14),
  'restore',
  'lock ',
  'state (fake)'.padEnd(30),
  'true?',
  'rerun green',
].join(' │ ');

/** "1,4,9-12" → those step numbers; "all" → every step. */
export function pickSteps(spec: string): (plan: Step[]) => Step[] {
  if (spec === 'all') return (p) => p;
  const want = new Set<number>();
  for (const part of spec.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (!Number.isInteger(a)) throw new Error(`--steps: "${part}" is not a number or range`);
    for (let i = a!; i <= (b ?? a!); i++) want.add(i);
  }
  return (p) => p.filter((s) => want.has(s.n));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  const opt = (name: string, dflt: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
  };
  const rerun = opt('rerun', 'chain');
  if (rerun !== 'each' && rerun !== 'chain') {
    process.stderr.write('--rerun: each or chain\n');
    process.exit(2);
  }
  const t0 = Date.now();
  const res = await session({
    mode: opt('mode', 'ipvs'),
    labArgs: argv.includes('--skip-check') ? ['--skip-check'] : [],
    steps: pickSteps(opt('steps', 'all')),
    rerun,
    delayMs: Number(opt('delay-ms', '150')),
    log: (l) => process.stdout.write(`${l}\n`),
    ...(opt('logs', '') ? { logs: opt('logs', '') } : {}),
    ...(opt('plan', '')
      ? { plan: (JSON.parse(readFileSync(opt('plan', ''), 'utf8')) as { plan: Step[] }).plan }
      : {}),
  });
  process.stdout.write(`\n${HEADER}\n${res.outcomes.map(row).join('\n')}\n`);
  const json = opt('json', '');
  if (json) writeFileSync(json, `${JSON.stringify(res, null, 2)}\n`);
  const bad = res.outcomes.filter(
    (o) =>
      o.exit !== 130 ||
      !o.namesStep ||
      o.lockLeft ||
      !o.consistent ||
      o.namesRestore === false ||
      !o.rerunOk,
  );
  process.stdout.write(
    `\n${res.outcomes.length} interrupts, ${bad.length} with a defect; final lab ${res.finalOk ? 'green' : 'RED'}; ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
  );
  process.exit(bad.length || !res.finalOk ? 1 : 0);
}
