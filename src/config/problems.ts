/**
 * Validation that reports every problem at once: a checker collects `Problem`s (where, what,
 * what to do) and the caller throws one `ConfigError` (exit 2) listing all of them.
 */
import { UsageError } from '../core/errors.js';

export interface Problem {
  /** Where: a flag (`--scheduler`), a key path (`ipvs.scheduler`), or a document (`doc 2`). */
  at: string;
  message: string;
}

export class ConfigError extends UsageError {
  constructor(
    readonly what: string,
    readonly problems: Problem[],
    hint?: string,
  ) {
    super(
      `${what}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${problems.map((p) => `  • ${p.at}: ${p.message}`).join('\n')}`,
      hint ?? 'fix every item above and run the command again',
    );
  }
}

export function throwIfProblems(what: string, problems: Problem[], hint?: string): void {
  if (problems.length) throw new ConfigError(what, problems, hint);
}

export type Plain = Record<string, unknown>;

export function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Report keys of `obj` that are not in `known` (strict parsing), with a close match if any. */
export function unknownKeys(
  obj: Plain,
  known: readonly string[],
  at: string,
  problems: Problem[],
): void {
  for (const k of Object.keys(obj)) {
    if (known.includes(k)) continue;
    const near = known.find((x) => x.toLowerCase() === k.toLowerCase() || editDistance(x, k) <= 2);
    problems.push({
      at: at ? `${at}.${k}` : k,
      message: `unknown key${near ? ` (did you mean "${near}"?)` : ''}`,
    });
  }
}

export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** Go durations as Kubernetes configs use them: 30s, 1m30s, 500ms, 0s. */
export const DURATION = /^(?:0|(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$/;
