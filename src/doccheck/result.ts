/**
 * The result of checking a lab: what `proxylab check --json` prints, what
 * `.proxylab/last-check.json` holds, and what the status command and the reports read.
 */
import type { Renaming } from './bindings.js';
import type { DiffLine, OutputKind } from './matcher.js';

export const RESULT_VERSION = 1;

export type StepStatus = 'passed' | 'failed' | 'skipped' | 'error';

export interface StepResult {
  /** 1-based step number in the doc (what `--step N` takes). */
  index: number;
  /** Doc line of the `$ command`. */
  line: number;
  heading: string;
  command: string;
  node?: string;
  status: StepStatus;
  /** One sentence: why it failed, errored or was skipped. */
  reason?: string;
  attempts: number;
  durationMs: number;
  exitCode: number | null;
  expectedExit: number;
  kind?: OutputKind;
  expected: string;
  actual: string;
  /** The alignment of expected and actual output (failed steps). */
  diff?: DiffLine[];
  notes?: string[];
  /** Renamings this step made (doc value → actual value). */
  renamed: Renaming[];
  /** The diff as plain text, as the terminal shows it. */
  diffText?: string;
  /**
   * Failed steps: the actual output with the values this run already knows put back in the
   * doc's names, and the doc's `[..]` / `...` kept where they still match (what `--update`
   * writes into the doc; see update.ts).
   */
  proposed?: string;
  /** Whether `--update` rewrote this step's expected output. */
  updated?: boolean;
}

export interface CheckCounts {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  errors: number;
}

export interface CheckResult {
  version: typeof RESULT_VERSION;
  /** e.g. "labs/ipvs". */
  lab: string;
  /** The doc checked, relative to the project root when inside it. */
  file: string;
  title: string;
  cluster: string;
  kubeconfig: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  ok: boolean;
  counts: CheckCounts;
  steps: StepResult[];
  /** Every renaming of the run: the doc's values and what they were on this cluster. */
  bindings: Renaming[];
  /** Steps asked for with --step (absent: all). */
  selected?: number[];
  /** Set by --update: the step numbers whose expected output was rewritten. */
  updated?: number[];
  /** Ctrl-C (or SIGTERM) ended the run: the steps after the one interrupted were not run. */
  interrupted?: boolean;
}

export function countSteps(steps: readonly StepResult[]): CheckCounts {
  const c: CheckCounts = { total: steps.length, passed: 0, failed: 0, skipped: 0, errors: 0 };
  for (const s of steps) {
    if (s.status === 'passed') c.passed++;
    else if (s.status === 'failed') c.failed++;
    else if (s.status === 'skipped') c.skipped++;
    else c.errors++;
  }
  return c;
}
