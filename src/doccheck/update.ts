/**
 * What `proxylab check --update` writes for a step whose output changed: this run's output
 * in the doc's names, keeping the author's wildcards where they still hold.
 * - a doc line with `[..]` stays as written when it matches a line of the new output (in
 *   order: each doc line stands for at most one output line);
 * - a `...` line stays, standing for the output lines between the doc lines around it,
 *   when those lines are still there (as they were, or changed but recognisable).
 * The result is checked against this run's output with the matcher itself: if it does not
 * match (a wildcard now hides a difference the matcher cannot accept), the plain output is
 * written instead. So an updated doc always passes against the run that wrote it.
 */
import { matchOutput, splitLines, type MatchOptions } from './matcher.js';
import { hasMarkers, isEllipsis } from './tokens.js';
import type { Bindings } from './bindings.js';
import type { OutputKind } from './layout.js';

export interface UpdateInput {
  /** The step's expected output, as the doc has it. */
  expected: string;
  /** This run's output, renamed back to the doc's names (toDocNames). */
  proposed: string;
  /** This run's output as the command printed it. */
  actual: string;
  /** The run's bindings before this step. */
  bindings: Bindings;
  kind?: OutputKind;
}

/** True when one doc line alone matches one output line. */
function lineMatches(doc: string, out: string): boolean {
  return matchOutput(doc, out, { kind: 'text' }).ok;
}

/** Put back the doc's `[..]` and `[=N]` lines where they match the new output, in order. */
export function keepInlineWildcards(expected: string[], proposed: string[]): string[] {
  const out = [...proposed];
  let from = 0;
  for (let p = 0; p < out.length; p++) {
    for (let j = from; j < expected.length; j++) {
      const e = expected[j]!;
      if (!hasMarkers(e) || isEllipsis(e)) continue;
      if (lineMatches(e, out[p]!)) {
        out[p] = e;
        from = j + 1;
        break;
      }
    }
  }
  return out;
}

/** Share of words two lines have in common (1: same words). */
function likeness(a: string, b: string): number {
  const wa = a.trim().split(/\s+/);
  const wb = new Set(b.trim().split(/\s+/));
  const common = wa.filter((w) => wb.has(w)).length;
  return common / Math.max(wa.length, wb.size);
}

/**
 * Where a doc line is in the new output, from `from` on: the same line, else the line that
 * replaced it (most words in common, at least 60 %); -1 when it is gone.
 */
function locate(docLine: string, out: string[], from: number): number {
  const same = out.indexOf(docLine, from);
  if (same >= 0) return same;
  let best = -1;
  let bestScore = 0.6;
  for (let i = from; i < out.length; i++) {
    if (isEllipsis(out[i]!)) continue;
    const s = likeness(docLine, out[i]!);
    if (s >= bestScore && (best < 0 || s > bestScore)) {
      best = i;
      bestScore = s;
    }
  }
  return best;
}

/**
 * Put back the doc's `...` lines: for each, the output lines between the doc lines around
 * it (or the start / the end) are folded into one `...` again. A doc line around it that
 * changed is found by likeness and stays written out; when one is gone, that `...` is not
 * put back (folding could hide what changed).
 */
export function keepEllipses(expected: string[], lines: string[]): string[] {
  const out = [...lines];
  let cursor = 0;
  for (let k = 0; k < expected.length; k++) {
    if (!isEllipsis(expected[k]!)) continue;
    const prev = k > 0 ? expected[k - 1]! : undefined;
    const next = k + 1 < expected.length ? expected[k + 1]! : undefined;
    if ((prev !== undefined && isEllipsis(prev)) || (next !== undefined && isEllipsis(next)))
      continue;
    let a = cursor - 1;
    if (prev !== undefined) {
      a = locate(prev, out, cursor);
      if (a < 0) continue;
    }
    let b = out.length;
    if (next !== undefined) {
      b = locate(next, out, a + 1);
      if (b < 0) continue;
    }
    // what `...` stood for is still there: fold it (an empty stretch keeps the `...` too)
    out.splice(a + 1, b - a - 1, expected[k]!);
    cursor = a + 2;
  }
  return out;
}

/** The text `--update` writes for one step (see the file comment). */
export function proposeUpdate(u: UpdateInput): string {
  const expected = splitLines(u.expected);
  const proposed = splitLines(u.proposed);
  const opts: MatchOptions = { bindings: u.bindings, ...(u.kind ? { kind: u.kind } : {}) };
  const passes = (lines: string[]) => matchOutput(lines.join('\n'), u.actual, opts).ok;
  const withInline = keepInlineWildcards(expected, proposed);
  const withBoth = keepEllipses(expected, withInline);
  for (const candidate of [withBoth, withInline])
    if (candidate.join('\n') !== u.proposed && passes(candidate)) return candidate.join('\n');
  return u.proposed;
}
