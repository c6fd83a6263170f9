/**
 * The matcher's search, without recursion and without re-trying what cannot change.
 *
 * - One line: `LineSearch` walks the expected segments over the actual line's characters.
 *   A `[..]` either stops where it is or swallows one more character, so a line has at
 *   most (expected segments × actual characters × renamings made on the line) states, and
 *   each is visited once: time grows linearly with the line's length for any number of
 *   wildcards. Two alignments that end with the same renamings are one outcome, so the
 *   rest of the output is never compared again just because a `[..]` could stop elsewhere.
 * - The whole output: `TreeSearch` is a backtracking machine with an explicit goal list
 *   and choice stack (no call stack grows with the number of lines), which runs for a
 *   given number of steps at a time: the async caller yields to the event loop between
 *   slices, so Ctrl-C, SIGTERM and a step's timeout are honoured while it compares.
 * Both try the alternatives in the order the doc author expects: a `[..]` as short as
 * possible, a `...` as short as possible, a set member's identical counterpart first.
 */
import { Bindings, isConflict } from './bindings.js';
import type { Group, LNode } from './layout.js';
import { isBound, valueHolds, type Segment } from './tokens.js';

const isDigit = (c: number) => c >= 48 && c <= 57;

// ---------------------------------------------------------------- one line

/** Renamings a line made, as a key: equal keys mean the same bindings afterwards. */
function deltaKey(b: Bindings, base: Bindings): string {
  if (b === base) return '';
  return b
    .since(base)
    .map((r) => `${r.cls}\u0000${r.doc}\u0000${r.actual}`)
    .join('\u0001');
}

interface LState {
  ei: number;
  ai: number;
  off: number;
  b: Bindings;
}

/**
 * Every way one expected line matches one actual line, as the bindings each leaves,
 * one distinct outcome at a time (`next()`), in the order a recursive matcher would
 * find them.
 */
export class LineSearch {
  private readonly stack: LState[];
  private readonly seen = new Set<string>();
  private readonly found = new Set<string>();
  /** States expanded so far (for budgets). */
  steps = 0;

  constructor(
    private readonly E: Segment[],
    private readonly A: Segment[],
    private readonly base: Bindings,
  ) {
    this.stack = [{ ei: 0, ai: 0, off: 0, b: base }];
  }

  /** The next distinct outcome, or null when there is none left. */
  next(): Bindings | null {
    const { E, A } = this;
    const stack = this.stack;
    while (stack.length) {
      const s = stack.pop()!;
      const key = `${s.ei},${s.ai},${s.off},${deltaKey(s.b, this.base)}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      this.steps++;
      const { ei, ai, off, b } = s;
      if (ei === E.length) {
        if (ai !== A.length) continue;
        const k = deltaKey(b, this.base);
        if (this.found.has(k)) continue;
        this.found.add(k);
        return b;
      }
      const e = E[ei]!;
      if (e.kind === 'any') {
        // either the wildcard ends here, or it takes one more character (pushed first: tried last)
        const a = A[ai];
        if (a) {
          const last = a.kind === 'any' ? 0 : a.text.length - 1;
          stack.push(off < last ? { ei, ai, off: off + 1, b } : { ei, ai: ai + 1, off: 0, b });
        }
        stack.push({ ei: ei + 1, ai: a ? ai : A.length, off: a ? off : 0, b });
        continue;
      }
      const a = A[ai];
      if (!a) continue;
      if (e.kind === 'num') {
        // a value the doc marks as mattering: the whole number here must satisfy it
        if (a.kind === 'any' || a.kind === 'num') continue;
        if (off > 0 && isDigit(a.text.charCodeAt(off - 1))) continue;
        const m = /^\d+[KMGT]?/.exec(a.text.slice(off));
        if (!m || !valueHolds(e.op, e.value, m[0])) continue;
        const end = off + m[0].length;
        if (end < a.text.length && isDigit(a.text.charCodeAt(end))) continue;
        stack.push(
          end === a.text.length
            ? { ei: ei + 1, ai: ai + 1, off: 0, b }
            : { ei: ei + 1, ai, off: end, b },
        );
        continue;
      }
      if (e.kind === 'lit') {
        // The doc's text is read along the output's segments. Where the doc wrote plain text
        // and the output has a value there, the value is compared as text: this is how
        // `server_[..]` meets `server_others.go:152`, which the output lexes as one token
        // (nothing is renamed then).
        let want = e.text;
        let i = ai;
        let o = off;
        let len = 0;
        let ok = false;
        for (;;) {
          const x = A[i];
          if (!x || x.kind === 'any') break;
          if (x.text.startsWith(want, o)) {
            o += want.length;
            len = x.text.length;
            ok = true;
            break;
          }
          const restLen = x.text.length - o;
          if (restLen <= 0 || !want.startsWith(x.text.slice(o))) break;
          want = want.slice(restLen);
          i++;
          o = 0;
        }
        if (!ok) continue;
        stack.push(
          o === len ? { ei: ei + 1, ai: i + 1, off: 0, b } : { ei: ei + 1, ai: i, off: o, b },
        );
        continue;
      }
      if (a.kind !== 'var' || off !== 0 || a.cls !== e.cls) continue;
      if (!isBound(e.cls)) {
        stack.push({ ei: ei + 1, ai: ai + 1, off: 0, b });
        continue;
      }
      const nb = b.bind(e.cls, e.text, a.text);
      if (isConflict(nb)) continue;
      stack.push({ ei: ei + 1, ai: ai + 1, off: 0, b: nb });
    }
    return null;
  }
}

/** The first way one expected line matches one actual line; null when they differ. */
export function matchLine(E: Segment[], A: Segment[], b: Bindings): Bindings | null {
  return new LineSearch(E, A, b).next();
}

// ---------------------------------------------------------------- the whole output

/** Counts the search's steps; a search that runs out says so (the doc is too loose). */
export class Budget {
  left: number;
  constructor(n: number) {
    this.left = n;
  }
  spend(n = 1): boolean {
    this.left -= n;
    return this.left > 0;
  }
}

export interface Side {
  lines: string[];
  segs: Segment[][];
}

/** What the search asks of the kind of output it compares. */
export interface Pairing {
  /** False when two nodes cannot match whatever the renaming (cheap, value-free). */
  compatible(e: LNode, a: LNode): boolean;
  /** False when no member of set `A` could be the counterpart of `e`. */
  hasCounterpart(e: LNode, A: LNode[]): boolean;
  /** The order in which to try the counterparts of the k-th member of a set. */
  candidateOrder(e: LNode, k: number, A: LNode[]): Iterable<number>;
}

interface SetPlan {
  want: LNode[];
  A: LNode[];
  /**
   * Members of A taken by the members before the one being placed. One array per set,
   * marked and unmarked by the choice points in stack order (a member's choice point
   * frees its counterpart before trying the next one, and when it is exhausted).
   */
  used: Uint8Array;
}

type Goal =
  | { t: 'node'; e: LNode; a: LNode }
  | { t: 'line'; e: number; a: number }
  | { t: 'kids'; e: Group; a: Group }
  | { t: 'seq'; E: LNode[]; A: LNode[]; ei: number; ai: number }
  | { t: 'set'; p: SetPlan; i: number };

interface Cont {
  g: Goal;
  next: Cont | null;
}

const cons = (g: Goal, next: Cont | null): Cont => ({ g, next });

interface Choice {
  /** The next alternative, or null when this choice point is exhausted. */
  next(): { b: Bindings; k: Cont | null } | null;
}

export type SearchState = 'matched' | 'failed' | 'running';

/** Match one expected node against one actual node; `run(steps)` advances the search. */
export class TreeSearch {
  private readonly choices: Choice[] = [];
  private cur: { b: Bindings; k: Cont | null } | null;
  result: Bindings | null = null;
  state: SearchState = 'running';

  constructor(
    private readonly E: Side,
    private readonly A: Side,
    e: LNode,
    a: LNode,
    b: Bindings,
    readonly budget: Budget,
    private readonly pairing: Pairing,
  ) {
    this.cur = { b, k: cons({ t: 'node', e, a }, null) };
  }

  /** Run at most `steps` steps; returns the state afterwards. */
  run(steps = Infinity): SearchState {
    while (this.state === 'running' && steps-- > 0) this.step();
    return this.state;
  }

  private fail(): void {
    this.cur = null;
  }

  private step(): void {
    if (this.budget.left <= 0) {
      this.state = 'failed';
      return;
    }
    if (!this.cur) {
      const c = this.choices[this.choices.length - 1];
      if (!c) {
        this.state = 'failed';
        return;
      }
      const alt = c.next();
      if (!alt) this.choices.pop();
      else this.cur = alt;
      return;
    }
    const { b, k } = this.cur;
    if (!k) {
      this.result = b;
      this.state = 'matched';
      return;
    }
    const g = k.g;
    const rest = k.next;
    switch (g.t) {
      case 'node': {
        const { e, a } = g;
        if (!this.budget.spend()) return this.fail();
        if (e.t === 'line') {
          if (a.t !== 'line') return this.fail();
          this.cur = { b, k: cons({ t: 'line', e: e.i, a: a.i }, rest) };
          return;
        }
        if (e.t === 'ellipsis' || a.t !== 'group') return this.fail();
        if ((e.head === undefined) !== (a.head === undefined)) return this.fail();
        if (!this.pairing.compatible(e, a)) return this.fail();
        const kids = cons({ t: 'kids', e, a }, rest);
        this.cur = {
          b,
          k:
            e.head !== undefined && a.head !== undefined
              ? cons({ t: 'line', e: e.head, a: a.head }, kids)
              : kids,
        };
        return;
      }
      case 'line': {
        const search = new LineSearch(this.E.segs[g.e]!, this.A.segs[g.a]!, b);
        const first = search.next();
        this.budget.spend(search.steps >> 6);
        if (!first) return this.fail();
        this.choices.push({
          next: () => {
            const before = search.steps;
            const nb = search.next();
            this.budget.spend((search.steps - before) >> 6);
            return nb ? { b: nb, k: rest } : null;
          },
        });
        this.cur = { b: first, k: rest };
        return;
      }
      case 'kids': {
        const { e, a } = g;
        if (!e.unordered) {
          this.cur = { b, k: cons({ t: 'seq', E: e.children, A: a.children, ei: 0, ai: 0 }, rest) };
          return;
        }
        const A = a.children;
        const extras = e.children.some((x) => x.t === 'ellipsis');
        const want = this.setOrder(e.children, A);
        if (want.length > A.length || (!extras && want.length !== A.length)) return this.fail();
        if (want.some((x) => !this.pairing.hasCounterpart(x, A))) return this.fail();
        const p: SetPlan = { want, A, used: new Uint8Array(A.length) };
        this.cur = { b, k: cons({ t: 'set', p, i: 0 }, rest) };
        return;
      }
      case 'seq': {
        const { E, A, ei, ai } = g;
        if (ei === E.length) {
          if (ai === A.length) this.cur = { b, k: rest };
          else this.fail();
          return;
        }
        const e = E[ei]!;
        if (e.t === 'ellipsis') {
          // as few lines as possible first
          let j = ai;
          this.choices.push({
            next: () => {
              if (j > A.length || !this.budget.spend()) return null;
              return { b, k: cons({ t: 'seq', E, A, ei: ei + 1, ai: j++ }, rest) };
            },
          });
          this.cur = null;
          return;
        }
        if (ai >= A.length) return this.fail();
        this.cur = {
          b,
          k: cons(
            { t: 'node', e, a: A[ai]! },
            cons({ t: 'seq', E, A, ei: ei + 1, ai: ai + 1 }, rest),
          ),
        };
        return;
      }
      case 'set': {
        const { p, i } = g;
        if (i === p.want.length) {
          this.cur = { b, k: rest };
          return;
        }
        const e = p.want[i]!;
        const used = p.used;
        const order = this.pairing.candidateOrder(e, i, p.A)[Symbol.iterator]();
        let taken = -1;
        this.choices.push({
          next: () => {
            if (taken >= 0) used[taken] = 0;
            taken = -1;
            if (this.budget.left <= 0) return null;
            for (let it = order.next(); !it.done; it = order.next()) {
              const j = it.value;
              if (used[j] || !this.pairing.compatible(e, p.A[j]!)) continue;
              used[j] = 1;
              taken = j;
              return {
                b,
                k: cons({ t: 'node', e, a: p.A[j]! }, cons({ t: 'set', p, i: i + 1 }, rest)),
              };
            }
            return null;
          },
        });
        this.cur = null;
        return;
      }
    }
  }

  /** Members whose text is unchanged first: they pin the names that did not change. */
  private setOrder(E: LNode[], A: LNode[]): LNode[] {
    const atext = new Set(A.map((a) => nodeText(a, this.A)));
    return E.filter((e) => e.t !== 'ellipsis').sort(
      (x, y) => Number(atext.has(nodeText(y, this.E))) - Number(atext.has(nodeText(x, this.E))),
    );
  }
}

function allLines(n: LNode): number[] {
  if (n.t === 'line') return [n.i];
  if (n.t === 'ellipsis') return [];
  return [...(n.head !== undefined ? [n.head] : []), ...n.children.flatMap(allLines)];
}

/** A node's text with whitespace collapsed (identical text: nothing to rename). */
export function nodeText(n: LNode, s: Side): string {
  return allLines(n)
    .map((i) => s.lines[i]!.trim().replace(/\s+/g, ' '))
    .join('\n');
}
