/**
 * `proxylab check <lab>`: run a lab doc's steps in one bash session and compare each
 * output with the doc; ✔/✘ per step, a diff for each failure, JUnit and JSON for CI,
 * `--update` to rewrite the doc's expected outputs from this run.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { bool, defineCommand, str } from '../core/command.js';
import type { Context } from '../core/context.js';
import { EXIT, UsageError, UserError } from '../core/errors.js';
import { paths } from '../core/paths.js';
import { toJUnit } from '../doccheck/junit.js';
import { parseLab, rewriteLab, type LabStep } from '../doccheck/markdown.js';
import { countSteps, type CheckResult, type StepResult } from '../doccheck/result.js';
import { runLab } from '../doccheck/run.js';
import { evaluateNeeds, hostProbes, labNeeds } from '../doccheck/requires.js';
import { stateDir } from '../steps/state.js';
import { taskList, type Task } from '../ui/tasks.js';

export const LAST_CHECK_FILE = 'last-check.json';

/** `labs/ipvs`, `ipvs`, or a markdown file → the doc to check. */
export function resolveLab(
  arg: string,
  cwd: string = process.cwd(),
): { file: string; lab: string } {
  const candidates = [resolve(cwd, arg), resolve(paths.root, arg), join(paths.labs, arg)];
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    const file = statSync(c).isDirectory() ? join(c, 'README.md') : c;
    if (!existsSync(file))
      throw new UsageError(
        `${arg} has no README.md`,
        'a lab is a folder with a README.md holding `console proxylab` blocks',
      );
    const rel = relative(paths.root, file);
    const inside = !rel.startsWith('..');
    const lab = inside ? relative(paths.root, dirname(file)) : dirname(file);
    return { file, lab: lab || '.' };
  }
  throw new UsageError(
    `no lab "${arg}"`,
    'give a folder with a README.md, e.g. `proxylab check labs/ipvs`',
  );
}

/** Parse "3", "3-5", "2,7" into step numbers. */
export function parseStepSelection(spec: string, max: number): Set<number> {
  const out = new Set<number>();
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m)
      throw new UsageError(
        `--step ${spec}: not a step number`,
        'write e.g. --step 3, --step 3-5 or --step 2,7',
      );
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    for (let i = Math.min(a, b); i <= Math.max(a, b); i++) {
      if (i < 1 || i > max)
        throw new UsageError(
          `--step ${i}: the lab has steps 1 to ${max}`,
          'run `proxylab check <lab> --list` to see them',
        );
      out.add(i);
    }
  }
  return out;
}

function shortCommand(s: LabStep | StepResult): string {
  const first = s.command.split('\n')[0]!.replace(/\s*\\$/, '');
  return first.length > 70 ? `${first.slice(0, 67)}...` : first;
}

function title(s: LabStep | StepResult): string {
  return `step ${s.index} · ${shortCommand(s)}`;
}

/** The environment of the lab's shell: the cluster's kubeconfig, ./.bin first on PATH. */
export function labEnv(
  ctx: Pick<Context, 'env' | 'kubeconfig' | 'cluster'>,
): Record<string, string | undefined> {
  const pathTools = ctx.env.PROXYLAB_TOOLS === 'path';
  const PATH = pathTools ? (ctx.env.PATH ?? '') : `${paths.bin}${delimiter}${ctx.env.PATH ?? ''}`;
  return {
    ...ctx.env,
    PATH,
    KUBECONFIG: ctx.kubeconfig,
    // `make ipvs` and other proxylab commands run by the lab use the same cluster
    PROXYLAB_KUBECONFIG: ctx.kubeconfig,
    PROXYLAB_CLUSTER: ctx.cluster,
    // what a person's terminal would not do to a script: pagers, colours, prompts
    PAGER: 'cat',
    SYSTEMD_PAGER: '',
    GIT_PAGER: 'cat',
    NO_COLOR: '1',
    TERM: 'dumb',
    DEBIAN_FRONTEND: 'noninteractive',
  };
}

function failureText(s: StepResult, file: string): string {
  const lines = [
    `${file}:${s.line}  $ ${s.command.split('\n').join('\n    ')}`,
    `why: ${s.reason ?? 'failed'}`,
  ];
  if (s.diffText) lines.push(s.diffText);
  else if (s.status === 'failed' && s.actual.trim())
    lines.push(
      'output:',
      ...s.actual
        .replace(/\s+$/, '')
        .split('\n')
        .map((l) => `  ${l}`),
    );
  return lines.join('\n');
}

export default defineCommand({
  name: 'check',
  summary: "run a lab's steps and compare each output with the doc",
  usage: 'proxylab check <lab> [--step N] [--update] [--junit FILE] [--html FILE] [--json]',
  details: `
Runs every \`console proxylab\` block of <lab>/README.md in one bash session (aliases,
variables and the directory carry over, as in your terminal), with KUBECONFIG set to the
cluster's kubeconfig and ./.bin first on PATH, from the project folder. Each step prints
✔ or ✘; a ✘ shows the doc's lines (-) against the output (+), why each differs, and which
values were renamed (doc → output). IPs, pod hashes, MACs, chain hashes, interface
indexes and NodePorts may differ from the doc as long as the renaming stays consistent
over the whole run; ages, timestamps and counters may be anything. In the doc, "..."
alone on a line stands for any number of lines and "[..]" for any text within a line;
ipvsadm services, ipset members, iptables and nftables chains and table rows are compared
as sets. labs/ipvs/README.md ends with the full rules ("How this page is checked").

Examples:
  proxylab check labs/ipvs                 every step
  proxylab check labs/ipvs --step 7        step 7 (and the set-up steps before it)
  proxylab check labs/ipvs --junit results/ipvs.xml
  proxylab check labs/ipvs --update        rewrite the expected outputs that differ
                                           (your [..] and ... stay where they still hold)

The result is kept in .proxylab/last-check.json. Exit code: 0 all steps passed, 1 a step
failed, 2 bad arguments or doc.`,
  options: {
    step: {
      type: 'string',
      arg: 'N',
      description: 'run only these steps: 3, 3-5 or 2,7 (set-up steps before them run too)',
    },
    update: {
      type: 'boolean',
      description: "rewrite the doc's expected output of every step whose output differs",
    },
    junit: { type: 'string', arg: 'FILE', description: 'write a JUnit XML report' },
    html: {
      type: 'string',
      arg: 'FILE',
      description:
        'write a one-page HTML report: steps, diffs, renamed values, timings, datapath picture',
    },
    list: { type: 'boolean', description: 'list the steps and exit' },
  },
  positionals: { min: 1, max: 1 },
  json: true,
  async run(ctx, args) {
    const { file, lab } = resolveLab(args.positionals[0]!);
    let text: string;
    // a FIFO would block and /dev/zero read without end: only regular files are lab docs
    let kind: string | undefined;
    try {
      const st = statSync(file);
      kind = st.isFile() ? undefined : st.isDirectory() ? 'a folder' : 'not a regular file';
    } catch {
      kind = undefined; // reported by the read below
    }
    if (kind)
      throw new UsageError(
        `${file} is ${kind}: a lab doc is a Markdown file`,
        'give the path of a README.md, e.g. `proxylab check labs/ipvs`',
      );
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(
        `cannot read ${file}: ${(e as Error).message}`,
        'check the path and its permissions',
      );
    }
    const outside = relative(paths.root, file).startsWith('..');
    const relFile = outside ? file : relative(paths.root, file);
    const doc = parseLab(text, relFile);
    if (!doc.steps.length)
      throw new UsageError(
        `${relFile} has no runnable steps`,
        'mark a fenced block with ```console proxylab and put "$ command" lines in it',
      );
    if (bool(args, 'list')) {
      const rows = doc.steps.map((s) => ({
        index: s.index,
        line: s.line,
        heading: s.heading,
        command: s.command,
        options: s.options,
      }));
      if (ctx.json) ctx.io.out(JSON.stringify(rows, null, 2));
      else
        for (const s of doc.steps)
          ctx.io.out(
            `${String(s.index).padStart(3)}  ${relFile}:${s.line}  ${shortCommand(s)}${s.options.skip !== undefined ? '  (skipped)' : ''}`,
          );
      return EXIT.ok;
    }
    if (outside && !ctx.json)
      ctx.io.warn(
        `⚠ ${relFile} is not one of this project's labs: check runs each of its commands in a shell, as if you pasted them; see them first with \`proxylab check ${relFile} --list\``,
      );
    // what the doc says it needs (a cluster, root, IPVS…), checked before any step runs
    const needs = await evaluateNeeds(labNeeds(text, relFile), hostProbes(ctx), lab);
    if (!needs.ok) throw new UserError(needs.message, needs.fix);
    const stepSpec = str(args, 'step');
    const only =
      stepSpec !== undefined ? parseStepSelection(stepSpec, doc.steps.length) : undefined;
    const backoff = Number(ctx.env.PROXYLAB_CHECK_BACKOFF_MS);

    const ended = new Map<number, (r: StepResult) => void>();
    // results that came before listr started their task (after Ctrl-C: the steps not run)
    const early = new Map<number, StepResult>();
    const attempts = new Map<number, (n: number, why: string) => void>();
    const selected = doc.steps.filter(
      (s) => !only || only.has(s.index) || (s.options.setup && s.index < Math.max(...only)),
    );
    const quietUi = ctx.quiet || ctx.json;
    const tasks: Task<object>[] = selected.map((s) => ({
      title: title(s),
      task: (_c, task) =>
        new Promise<void>((resolveTask, rejectTask) => {
          attempts.set(s.index, (n, why) => {
            task.output = `try ${n} did not match (${why}); trying again`;
          });
          const settle = (r: StepResult) => {
            if (r.status === 'passed') {
              task.title = `${title(s)}${r.attempts > 1 ? ` (after ${r.attempts} tries)` : ''}`;
              resolveTask();
            } else if (r.status === 'skipped') {
              task.skip(`${title(s)}: skipped (${r.reason})`);
              resolveTask();
            } else rejectTask(new Error(`${title(s)}: ${r.reason ?? 'failed'}`));
          };
          const known = early.get(s.index);
          if (known) settle(known);
          else ended.set(s.index, settle);
        }),
      rendererOptions: { persistentOutput: false },
    }));
    const ui = quietUi
      ? null
      : taskList({ ...ctx, quiet: false }, tasks, { exitOnError: false })
          .run({})
          .catch(() => undefined);
    // let listr subscribe its tasks before the run starts reporting
    await new Promise((r) => setTimeout(r, 0));
    const waitReady = async (i: number) => {
      for (let k = 0; k < 2000 && !ended.has(i) && !quietUi; k++)
        await new Promise((r) => setTimeout(r, 5));
    };
    const run = await runLab(doc, {
      cwd: paths.root,
      env: labEnv(ctx),
      signal: ctx.signal,
      ...(only ? { only } : {}),
      ...(Number.isFinite(backoff) && backoff > 0
        ? { backoffMs: backoff, maxBackoffMs: backoff * 4 }
        : {}),
      lab,
      file: relFile,
      cluster: ctx.cluster,
      kubeconfig: ctx.kubeconfig,
      onAttempt: (s, n, why) => attempts.get(s.index)?.(n, why),
      onEnd: async (s, r) => {
        await waitReady(s.index);
        ended.get(s.index)?.(r);
      },
    });
    const { finalBindings: _b, ...rest } = run;
    void _b;
    const result: CheckResult = rest;
    const interrupted = ctx.signal.aborted;
    const cut = result.steps[result.steps.length - 1];
    // steps that were never reached (Ctrl-C): recorded as not run, and listr's tasks for
    // them settle too (a task listr has not started yet settles when it starts)
    for (const s of selected)
      if (!result.steps.some((r) => r.index === s.index)) {
        const r: StepResult = {
          index: s.index,
          line: s.line,
          heading: s.heading,
          command: s.command,
          status: 'skipped',
          reason: interrupted ? 'not run: the check was interrupted' : 'not run',
          attempts: 0,
          durationMs: 0,
          exitCode: null,
          expectedExit: s.options.exit,
          expected: s.expected,
          actual: '',
          renamed: [],
        };
        result.steps.push(r);
        early.set(s.index, r);
        ended.get(s.index)?.(r);
      }
    if (interrupted) {
      result.steps.sort((a, b) => a.index - b.index);
      result.counts = countSteps(result.steps);
      result.ok = false;
      result.interrupted = true;
    }
    if (ui) await ui;
    if (interrupted) {
      const state = stateDir(ctx.env);
      mkdirSync(state, { recursive: true });
      const saved = join(state, LAST_CHECK_FILE);
      writeFileSync(saved, `${JSON.stringify(result, null, 2)}\n`);
      const c = result.counts;
      const left = result.steps.filter((x) => x.reason === 'not run: the check was interrupted');
      throw new UserError(
        `interrupted by Ctrl-C${cut ? ` at step ${cut.index} (${shortCommand(cut)})` : ' before the first step'}: ${c.passed} passed, ${c.failed} failed before it, ${left.length} not run. The step's programs got the interrupt first, so a proxylab command inside it (make ipvs, proxylab mode…) restored what it was changing; \`proxylab status\` shows the mode in place. Results so far: ${saved}`,
        `run the check again (\`proxylab check ${lab}\`), or from one step with --step N`,
        EXIT.interrupted,
      );
    }

    if (bool(args, 'update')) {
      const outputs = new Map<number, string>();
      for (const s of result.steps)
        if (s.status === 'failed' && s.proposed !== undefined && s.exitCode === s.expectedExit)
          outputs.set(s.index, s.proposed);
      if (outputs.size) {
        writeFileSync(file, rewriteLab(doc, outputs));
        for (const s of result.steps) if (outputs.has(s.index)) s.updated = true;
      }
      result.updated = [...outputs.keys()];
    }

    const state = stateDir(ctx.env);
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, LAST_CHECK_FILE), `${JSON.stringify(result, null, 2)}\n`);
    const junit = str(args, 'junit');
    if (junit) {
      const target = resolve(junit);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, toJUnit([result], hostname()));
    }
    const html = str(args, 'html');
    if (html) await (await import('../report/html.js')).writeHtmlReport(ctx, result, resolve(html));

    if (ctx.json) ctx.io.out(JSON.stringify(result, null, 2));
    else {
      for (const s of result.steps)
        if (s.status === 'failed' || s.status === 'error')
          ctx.io.error(`\n✘ ${failureText(s, relFile)}`);
      const c = result.counts;
      const summary = `${relFile}: ${c.passed} passed, ${c.failed} failed${c.errors ? `, ${c.errors} errors` : ''}${c.skipped ? `, ${c.skipped} skipped` : ''} in ${(result.durationMs / 1000).toFixed(1)} s`;
      ctx.io.info(`\n${result.ok ? '✔' : '✘'} ${summary}`);
      if (result.updated?.length)
        ctx.io.info(
          `✎ rewrote the expected output of step${result.updated.length > 1 ? 's' : ''} ${result.updated.join(', ')} in ${relFile}: review with \`git diff ${relFile}\``,
        );
      if (junit) ctx.io.info(`JUnit report: ${junit}`);
      if (html) ctx.io.info(`HTML report: ${html}`);
      if (!result.ok && !result.updated?.length)
        ctx.io.info(
          `→ run one step again with \`proxylab check ${lab} --step N\`; \`--update\` rewrites the doc from this run`,
        );
    }
    if (bool(args, 'update')) {
      const left = result.steps.filter(
        (s) => (s.status === 'failed' && !s.updated) || s.status === 'error',
      );
      return left.length ? EXIT.failed : EXIT.ok;
    }
    return result.ok ? EXIT.ok : EXIT.failed;
  },
});
