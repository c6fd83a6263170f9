/**
 * Runs a lab doc's steps in one shell session and compares each output with the doc.
 * One Bindings map for the whole run: a value renamed in step 3 keeps its name in step 9.
 */
import { proposeUpdate } from './update.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { Bindings } from './bindings.js';
import {
  formatDiff,
  matchOutputAsync,
  MatchTimeout,
  splitLines,
  type MatchResult,
} from './matcher.js';
import type { LabDoc, LabStep } from './markdown.js';
import { countSteps, RESULT_VERSION, type CheckResult, type StepResult } from './result.js';
import { ShellSession } from './session.js';
import { lexLine, isBound } from './tokens.js';

export interface RunLabOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  signal?: AbortSignal;
  /** Only these step numbers (plus `setup` steps before them). */
  only?: ReadonlySet<number>;
  /** First delay between tries of an eventually-consistent step; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Default per-step timeout. */
  timeoutMs?: number;
  lab: string;
  file: string;
  cluster: string;
  kubeconfig: string;
  onStart?: (step: LabStep) => void;
  onAttempt?: (step: LabStep, attempt: number, why: string) => void;
  onEnd?: (step: LabStep, result: StepResult) => void;
}

export const DEFAULT_STEP_TIMEOUT_MS = 300_000;

/** Compare in slices so Ctrl-C, SIGTERM and the step's timeout stop a long comparison. */
async function stepMatch(
  step: LabStep,
  output: string,
  exitCode: number | null,
  bindings: Bindings,
  limits: { signal?: AbortSignal; deadline: number },
): Promise<{ m: MatchResult; exitOk: boolean }> {
  const m = await matchOutputAsync(step.expected, output, {
    ...(step.options.as ? { kind: step.options.as } : {}),
    bindings,
    deadline: limits.deadline,
    ...(limits.signal ? { signal: limits.signal } : {}),
  });
  return { m, exitOk: exitCode === step.options.exit };
}

/** Rename the values of an actual output back to the doc's names where the run knows them. */
export function toDocNames(actual: string, b: Bindings): string {
  return splitLines(actual)
    .map((line) => {
      let out = line;
      for (const s of lexLine(line)) {
        if (s.kind !== 'var' || !isBound(s.cls)) continue;
        const doc = b.reverse(s.cls, s.text);
        if (doc === undefined || doc === s.text) continue;
        const esc = s.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        out = out.replace(new RegExp(`(?<![\\w.])${esc}(?![\\w]|\\.\\d)`, 'g'), doc);
      }
      return out;
    })
    .join('\n');
}

export async function runLab(
  doc: LabDoc,
  o: RunLabOptions,
): Promise<CheckResult & { finalBindings: Bindings }> {
  const startedAt = new Date();
  const t0 = performance.now();
  const results: StepResult[] = [];
  let bindings = Bindings.empty();
  const maxSelected = o.only ? Math.max(...o.only) : Infinity;
  const todo = doc.steps.filter(
    (s) => !o.only || o.only.has(s.index) || (s.options.setup && s.index < maxSelected),
  );
  const session = new ShellSession({
    cwd: o.cwd,
    env: o.env,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  try {
    for (const step of todo) {
      if (o.signal?.aborted) break;
      o.onStart?.(step);
      const base: Omit<StepResult, 'status' | 'attempts' | 'durationMs' | 'exitCode' | 'actual'> = {
        index: step.index,
        line: step.line,
        heading: step.heading,
        command: step.command,
        ...(step.options.node ? { node: step.options.node } : {}),
        expectedExit: step.options.exit,
        expected: step.expected,
        renamed: [],
      };
      if (step.options.skip !== undefined) {
        const r: StepResult = {
          ...base,
          status: 'skipped',
          reason: step.options.skip,
          attempts: 0,
          durationMs: 0,
          exitCode: null,
          actual: '',
        };
        results.push(r);
        o.onEnd?.(step, r);
        continue;
      }
      const tries = step.options.retry ?? (step.options.wait !== undefined ? Infinity : 1);
      const deadline =
        step.options.wait !== undefined ? Date.now() + step.options.wait * 1000 : Infinity;
      let delay = o.backoffMs ?? 1000;
      let attempt = 0;
      const s0 = performance.now();
      let result: StepResult | undefined;
      for (;;) {
        attempt++;
        const timeoutMs =
          (step.options.timeout ?? 0) * 1000 || o.timeoutMs || DEFAULT_STEP_TIMEOUT_MS;
        const attemptStart = Date.now();
        const run = await session.run(step.command, {
          timeoutMs,
          ...(step.options.node ? { node: step.options.node } : {}),
        });
        const common = {
          ...base,
          attempts: attempt,
          durationMs: Math.round(performance.now() - s0),
          exitCode: run.exitCode,
          actual: run.output,
        };
        if (o.signal?.aborted) {
          // Ctrl-C: the step's programs got SIGINT (and time to restore) before any kill
          result = {
            ...common,
            status: 'error',
            reason: `interrupted while the step ran (its programs got the interrupt first)`,
          };
          break;
        } else if (run.timedOut) {
          result = {
            ...common,
            status: 'error',
            reason: `the command did not finish within ${Math.round((step.options.timeout ?? 0) || (o.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS) / 1000)} s`,
          };
        } else {
          let matched: { m: MatchResult; exitOk: boolean };
          try {
            // the step's timeout covers its command and the comparison of its output
            matched = await stepMatch(step, run.output, run.exitCode, bindings, {
              deadline: attemptStart + timeoutMs,
              ...(o.signal ? { signal: o.signal } : {}),
            });
          } catch (e) {
            if (!(e instanceof MatchTimeout) && !o.signal?.aborted) throw e;
            result = {
              ...common,
              status: 'error',
              reason:
                e instanceof MatchTimeout
                  ? `comparing the output with the doc did not finish within the step's timeout (${timeoutMs / 1000} s): make the expected output more specific, or raise timeout=`
                  : 'interrupted while comparing the output with the doc',
            };
            break;
          }
          const { m, exitOk } = matched;
          if (m.ok && exitOk) {
            bindings = m.bindings;
            result = {
              ...common,
              status: 'passed',
              kind: m.kind,
              renamed: m.renamed,
              ...(m.notes.length ? { notes: m.notes } : {}),
            };
          } else {
            const docLine = (n: number) => step.expectedRange.start + n - 1;
            const firstWhy = m.diff.find((d) => d.op !== 'same');
            const why = !exitOk
              ? `exit code ${run.exitCode ?? 'none'}, the doc expects ${step.options.exit}${run.shellEnded ? ' (the command ended the shell)' : ''}`
              : firstWhy?.op === 'missing'
                ? `doc line ${docLine(firstWhy.expected!.line)} is not in the output`
                : firstWhy?.op === 'unexpected'
                  ? `output line ${firstWhy.actual!.line} is not in the doc`
                  : firstWhy?.why?.[0]
                    ? `${firstWhy.expected ? `doc line ${docLine(firstWhy.expected.line)}: ` : ''}${firstWhy.why[0]}`
                    : 'the output differs from the doc';
            result = {
              ...common,
              status: 'failed',
              reason: why,
              kind: m.kind,
              ...(m.ok ? {} : { diff: m.diff, diffText: formatDiff(m, { docLine }) }),
              notes: m.notes,
              renamed: m.renamed,
              proposed: proposeUpdate({
                expected: step.expected,
                proposed: toDocNames(run.output, bindings),
                actual: run.output,
                bindings,
                ...(step.options.as ? { kind: step.options.as } : {}),
              }),
            };
          }
        }
        if (result.status === 'passed') break;
        if (attempt >= tries || Date.now() + delay > deadline || o.signal?.aborted) break;
        o.onAttempt?.(step, attempt, result.reason ?? '');
        try {
          await sleep(delay, undefined, o.signal ? { signal: o.signal } : undefined);
        } catch {
          break;
        }
        delay = Math.min(delay * 2, o.maxBackoffMs ?? 5000);
      }
      results.push(result);
      o.onEnd?.(step, result);
    }
  } finally {
    await session.close();
  }
  const counts = countSteps(results);
  return {
    version: RESULT_VERSION,
    lab: o.lab,
    file: o.file,
    title: doc.title,
    cluster: o.cluster,
    kubeconfig: o.kubeconfig,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - t0),
    ok: counts.failed === 0 && counts.errors === 0 && results.length > 0,
    counts,
    steps: results,
    bindings: bindings.list(),
    ...(o.only ? { selected: [...o.only].sort((a, b) => a - b) } : {}),
    finalBindings: bindings,
  };
}
