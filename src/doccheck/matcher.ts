/**
 * Compares one expected output (from a lab doc) with one actual output.
 *
 * Rules (the lab docs' README explains them to authors):
 * - lines are compared token by token (tokens.ts): literals equal after collapsing
 *   whitespace; bound tokens (IPs, MACs, pod hashes, chain hashes, interface indexes,
 *   NodePorts) renamed consistently through the run's Bindings; free tokens (ages,
 *   timestamps, counters) match any value of their class; `[..]` matches any text;
 * - a line that is only `...` matches any number of lines;
 * - where order carries no meaning (layout.ts) the parts are compared as a set.
 *
 * On failure, `explain` aligns the two outputs and says for each line why it differs
 * ("scheduler rr ≠ sh", "10.96.0.10 already stands for 10.96.5.5 in this run, not ...").
 */
import { Bindings, isConflict, type Renaming } from './bindings.js';
import { Budget, LineSearch, matchLine, nodeText as sideText, TreeSearch } from './search.js';
import { PARSERS, isParseError } from '../inspect/index.js';
import {
  detectKind,
  hasSet,
  layout,
  nftElementText,
  SET_NOTES,
  type Group,
  type LNode,
  type OutputKind,
} from './layout.js';
import {
  CLASS_LABEL,
  hasMarkers,
  isBound,
  lexLine,
  shape,
  type BoundClass,
  type Segment,
  type TokenClass,
} from './tokens.js';

import { canonicalLine } from './forms.js';
export type { OutputKind } from './layout.js';
export { OUTPUT_KINDS, detectKind } from './layout.js';

export interface DiffLine {
  /** same: matched; changed: a counterpart exists but differs; missing: only in the doc; unexpected: only in the output. */
  op: 'same' | 'changed' | 'missing' | 'unexpected';
  /** 1-based line number inside the expected block, and its text. */
  expected?: { line: number; text: string };
  /** 1-based line number inside the actual output, and its text. */
  actual?: { line: number; text: string };
  why?: string[];
}

export interface MatchResult {
  ok: boolean;
  kind: OutputKind;
  /** e.g. "ipvsadm services and their real servers are compared as a set (order ignored)". */
  notes: string[];
  /** The alignment (empty when ok; the caller can ask for it with `explain`). */
  diff: DiffLine[];
  /** Bindings after this match: use them for the next step when ok. */
  bindings: Bindings;
  /** Renamings first made by this match (doc value → actual value), those that differ. */
  renamed: Renaming[];
}

export interface MatchOptions {
  kind?: OutputKind;
  bindings?: Bindings;
}

interface Prepared {
  lines: string[];
  segs: Segment[][];
  tree: Group;
}

/** Split output into lines: no trailing newline, no trailing empty lines. */
export function splitLines(text: string): string[] {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  while (lines.length && lines[lines.length - 1]!.trim() === '') lines.pop();
  return lines;
}

function prepare(text: string, kind: OutputKind, wildcards: boolean): Prepared {
  const lines = splitLines(text);
  const tree = layout(lines, kind);
  // a tool's other printing of the same thing (forms.ts) is compared in one canonical form
  const segs = lines.map((l) => lexLine(canonicalLine(kind, l), { wildcards }));
  // nft map elements are compared one by one, without their list punctuation
  const visit = (n: LNode) => {
    if (n.t !== 'group') return;
    if (n.what === 'elements')
      for (const c of n.children)
        if (c.t === 'line')
          segs[c.i] = lexLine(nftElementText(lines[c.i]!) ?? lines[c.i]!, { wildcards });
    n.children.forEach(visit);
  };
  visit(tree);
  return { lines, segs, tree };
}

// ---------------------------------------------------------------- line matching

/** Match one expected line's segments against an actual line's; null when they differ. */
export function matchSegments(E: Segment[], A: Segment[], b: Bindings): Bindings | null {
  return matchLine(E, A, b);
}

// ---------------------------------------------------------------- tree matching

interface Side {
  p: Prepared;
}

/**
 * A value-free key of a node: its lines' shapes (sorted inside sets). Two nodes with
 * different keys can never match, whatever the renaming; null when the expected node has
 * wildcards or ellipses (anything may match it).
 */
function looseKey(n: LNode, s: Side, cache: Map<LNode, string | null>): string | null {
  const hit = cache.get(n);
  if (hit !== undefined) return hit;
  let key: string | null;
  if (n.t === 'ellipsis') key = null;
  else if (n.t === 'line') {
    const segs = s.p.segs[n.i]!;
    key = segs.some((x) => x.kind === 'any' || x.kind === 'num') ? null : shape(segs);
  } else {
    const head = n.head !== undefined ? looseKey({ t: 'line', i: n.head }, s, cache) : '';
    const kids = n.children.map((c) => looseKey(c, s, cache));
    if (head === null || kids.some((x) => x === null)) key = null;
    else {
      const k = kids as string[];
      key = `${head}{${(n.unordered ? [...k].sort() : k).join('\u0001')}}`;
    }
  }
  cache.set(n, key);
  return key;
}

/** A search of expected node `e` against actual node `a` (run it with `.run()`). */
function nodeSearch(e: LNode, a: LNode, E: Side, A: Side, b: Bindings, budget: Budget): TreeSearch {
  const ek = new Map<LNode, string | null>();
  const ak = new Map<LNode, string | null>();
  const compatible = (x: LNode, y: LNode) => {
    const kx = looseKey(x, E, ek);
    return kx === null || kx === looseKey(y, A, ak);
  };
  // the shapes a set holds, to know at once when a member has no possible counterpart
  const shapes = new WeakMap<LNode[], Set<string | null>>();
  const hasCounterpart = (x: LNode, As: LNode[]) => {
    const kx = looseKey(x, E, ek);
    if (kx === null) return As.length > 0;
    let have = shapes.get(As);
    if (!have) shapes.set(As, (have = new Set(As.map((y) => looseKey(y, A, ak)))));
    return have.has(kx);
  };
  return new TreeSearch(E.p, A.p, e, a, b, budget, {
    compatible,
    hasCounterpart,
    candidateOrder: (x, k, As) => candidateOrder(x, k, As, E, A),
  });
}

function matchNode(
  e: LNode,
  a: LNode,
  E: Side,
  A: Side,
  b: Bindings,
  budget: Budget,
): Bindings | null {
  const s = nodeSearch(e, a, E, A, b, budget);
  s.run();
  return s.result;
}

function nodeText(n: LNode, s: Side): string {
  return sideText(n, s.p);
}

/**
 * The order in which to try counterparts for a set member: identical text first (so values
 * that did not change keep their name), then the same position, then the rest.
 */
function candidateOrder(e: LNode, k: number, A: LNode[], Es: Side, As: Side): Iterable<number> {
  const ix = indexOf(A, As);
  const t = nodeText(e, Es);
  const first = firstLine(e);
  const head = first === undefined ? '' : Es.p.lines[first]!.trim().replace(/\s+/g, ' ');
  return (function* () {
    const given = new Set<number>();
    for (const j of [...(ix.byText.get(t) ?? []), ...(ix.byHead.get(head) ?? []), k])
      if (j < A.length && !given.has(j)) {
        given.add(j);
        yield j;
      }
    for (let j = 0; j < A.length; j++) if (!given.has(j)) yield j;
  })();
}

interface SetIndex {
  byText: Map<string, number[]>;
  byHead: Map<string, number[]>;
}
const setIndexes = new WeakMap<LNode[], SetIndex>();

/** A set's members by text and by first line, built once per set. */
function indexOf(A: LNode[], As: Side): SetIndex {
  let ix = setIndexes.get(A);
  if (ix) return ix;
  ix = { byText: new Map(), byHead: new Map() };
  const add = (m: Map<string, number[]>, key: string, j: number) => {
    const l = m.get(key);
    if (l) l.push(j);
    else m.set(key, [j]);
  };
  A.forEach((a, j) => {
    add(ix!.byText, nodeText(a, As), j);
    const f = firstLine(a);
    if (f !== undefined) add(ix!.byHead, As.p.lines[f]!.trim().replace(/\s+/g, ' '), j);
  });
  setIndexes.set(A, ix);
  return ix;
}

// ---------------------------------------------------------------- explanation

/** Word-level names for fields, by kind and line shape. */
function fieldName(
  kind: OutputKind,
  line: string,
  wordIndex: number,
  header?: string,
): string | undefined {
  if (kind === 'ipvsadm') {
    if (/^\s*(?:TCP|UDP|SCTP|FWM)\s/.test(line))
      return ['protocol', 'virtual address', 'scheduler'][wordIndex] ?? 'flags';
    if (/^\s*->/.test(line))
      return [undefined, 'real server', 'forward method', 'weight', 'ActiveConn', 'InActConn'][
        wordIndex
      ];
  }
  if (kind === 'kubectl' && header) {
    const cols = [...header.matchAll(/\S+(?: \S+)*/g)].map((m) => ({ name: m[0], at: m.index }));
    const words = [...line.matchAll(/\S+/g)];
    const w = words[wordIndex];
    if (w) {
      let best: string | undefined;
      for (const c of cols) if (c.at <= w.index + 1) best = c.name;
      return best;
    }
  }
  return undefined;
}

interface Word {
  masked: string;
  text: string;
  values: Array<{ cls: BoundClass; text: string }>;
  free: Array<{ cls: TokenClass; text: string }>;
}

/** A lexed line as words: volatile tokens masked by class, with their values kept aside. */
function words(segs: Segment[]): Word[] {
  const out: Word[] = [];
  let cur: Word | null = null;
  const word = () => (cur ??= { masked: '', text: '', values: [], free: [] });
  const end = () => {
    if (cur && cur.text !== '') out.push(cur);
    cur = null;
  };
  for (const s of segs) {
    if (s.kind === 'any') {
      word().masked += '[..]';
      word().text += '[..]';
    } else if (s.kind === 'num') {
      word().masked += s.text;
      word().text += s.text;
    } else if (s.kind === 'var') {
      const w = word();
      w.masked += `<${s.cls}>`;
      w.text += s.text;
      if (isBound(s.cls)) w.values.push({ cls: s.cls, text: s.text });
      else w.free.push({ cls: s.cls, text: s.text });
    } else {
      const parts = s.text.split(' ');
      parts.forEach((p, k) => {
        if (k > 0) end();
        if (p) {
          const w = word();
          w.masked += p;
          w.text += p;
        }
      });
    }
  }
  end();
  return out;
}

/** Why two lines differ, as short sentences. */
export function whyLinesDiffer(
  kind: OutputKind,
  expected: string,
  actual: string,
  E: Segment[],
  A: Segment[],
  b: Bindings,
  header?: string,
): string[] {
  const reasons: string[] = [];
  // 1. binding conflicts on tokens at the same place
  const ev = E.filter((s) => s.kind === 'var');
  const av = A.filter((s) => s.kind === 'var');
  if (shape(E.map((s) => (s.kind === 'var' ? { ...s } : s))) === shape(A)) {
    let bb = b;
    for (let i = 0; i < ev.length; i++) {
      const e = ev[i]!;
      const a = av[i]!;
      if (e.kind !== 'var' || a.kind !== 'var' || !isBound(e.cls)) continue;
      const nb = bb.bind(e.cls, e.text, a.text);
      if (isConflict(nb)) reasons.push(nb.message);
      else bb = nb;
    }
    if (reasons.length) return reasons;
  }
  // 2. word by word, volatile tokens masked by their class (as lexed in the whole line)
  const ew = words(E);
  const aw = words(A);
  const n = Math.max(ew.length, aw.length);
  let bb = b;
  for (let i = 0; i < n && reasons.length < 3; i++) {
    const x = ew[i];
    const y = aw[i];
    if (x === undefined) {
      reasons.push(
        `the output has more on this line: "${aw
          .slice(i)
          .map((w) => w.text)
          .join(' ')}"`,
      );
      break;
    }
    if (y === undefined) {
      reasons.push(
        `the output stops before "${ew
          .slice(i)
          .map((w) => w.text)
          .join(' ')}"`,
      );
      break;
    }
    if (x.masked.includes('[..]')) continue;
    if (x.masked === y.masked) {
      let conflict: string | undefined;
      x.values.forEach((v, k) => {
        const w = y.values[k];
        if (!w || conflict) return;
        const r = bb.bind(v.cls, v.text, w.text);
        if (isConflict(r)) conflict = r.message;
        else bb = r;
      });
      if (conflict) reasons.push(conflict);
      continue;
    }
    const name = fieldName(kind, expected, i, header);
    // ip:port with the address fine and the port different
    const ep = /^(.*):(\d+)$/.exec(x.masked);
    const ap = /^(.*):(\d+)$/.exec(y.masked);
    if (ep && ap && ep[1] === ap[1] && ep[2] !== ap[2]) {
      reasons.push(`port ${ep[2]} ≠ ${ap[2]}`);
      continue;
    }
    const marked = /^\[([=<>])(\d+)\]$/.exec(x.text);
    if (marked) {
      const want =
        marked[1] === '='
          ? marked[2]
          : `${marked[1] === '>' ? 'more than' : 'less than'} ${marked[2]}`;
      reasons.push(
        `${name ? `${name}: ` : ''}the doc says this value matters: ${want}, found ${y.text}`,
      );
      continue;
    }
    const xc = x.values[0] ?? x.free[0];
    const yc = y.values[0] ?? y.free[0];
    if (xc && (!yc || yc.cls !== xc.cls))
      reasons.push(
        `expected ${CLASS_LABEL[xc.cls]} ${x.text}${name ? ` (${name})` : ''}, found "${y.text}"`,
      );
    else reasons.push(`${name ? `${name} ` : ''}${x.text} ≠ ${y.text}`);
    if (ew.length !== aw.length) break;
  }
  if (!reasons.length) reasons.push('the line differs');
  return reasons;
}

function similarity(a: string, b: string): number {
  const x = a.trim().split(/\s+/);
  const y = b.trim().split(/\s+/);
  let same = 0;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] === y[i]) same++;
  return same / Math.max(x.length, y.length, 1);
}

function firstLine(n: LNode): number | undefined {
  if (n.t === 'line') return n.i;
  if (n.t === 'ellipsis') return undefined;
  if (n.head !== undefined) return n.head;
  for (const c of n.children) {
    const f = firstLine(c);
    if (f !== undefined) return f;
  }
  return undefined;
}

function allLines(n: LNode): number[] {
  if (n.t === 'line') return [n.i];
  if (n.t === 'ellipsis') return [];
  return [...(n.head !== undefined ? [n.head] : []), ...n.children.flatMap(allLines)];
}

/** A loose shape of a node for pairing: literals and classes, no values. */
function nodeShape(n: LNode, s: Side): string {
  const f = firstLine(n);
  return f === undefined ? '' : shape(s.p.segs[f]!);
}

class Explainer {
  out: DiffLine[] = [];
  /** All the searching an explanation may do: beyond it, lines are paired by shape only. */
  readonly work = new Budget(400_000);
  constructor(
    readonly kind: OutputKind,
    readonly E: Side,
    readonly A: Side,
    public b: Bindings,
  ) {}

  eLine(i: number) {
    return { line: i + 1, text: this.E.p.lines[i]! };
  }
  aLine(i: number) {
    return { line: i + 1, text: this.A.p.lines[i]! };
  }

  headerFor(i: number, p: Prepared): string | undefined {
    for (let k = i - 1; k >= 0; k--)
      if (/^(?:NAMESPACE|NAME)\s{2,}/.test(p.lines[k]!)) return p.lines[k];
    return undefined;
  }

  missing(n: LNode) {
    for (const i of allLines(n)) this.out.push({ op: 'missing', expected: this.eLine(i) });
  }
  unexpected(n: LNode) {
    for (const i of allLines(n)) this.out.push({ op: 'unexpected', actual: this.aLine(i) });
  }
  same(e: LNode, a: LNode) {
    const el = allLines(e);
    const al = allLines(a);
    el.forEach((i, k) =>
      this.out.push({
        op: 'same',
        expected: this.eLine(i),
        ...(al[k] !== undefined ? { actual: this.aLine(al[k]!) } : {}),
      }),
    );
  }

  /** matchNode within this explanation's share of work (null once it is spent). */
  tryMatch(e: LNode, a: LNode): Bindings | null {
    if (this.work.left <= 0) return null;
    const budget = new Budget(Math.min(20000, this.work.left));
    const before = budget.left;
    const ok = matchNode(e, a, this.E, this.A, this.b, budget);
    this.work.spend(before - budget.left);
    return ok;
  }

  /** Explain one expected node against one actual node known to correspond. */
  pair(e: LNode, a: LNode) {
    const ok = this.tryMatch(e, a);
    if (ok) {
      this.b = ok;
      this.same(e, a);
      return;
    }
    if (e.t === 'line' && a.t === 'line') {
      this.changedLine(e.i, a.i);
      return;
    }
    if (e.t === 'group' && a.t === 'group') {
      if (e.head !== undefined && a.head !== undefined) {
        const hb = matchSegments(this.E.p.segs[e.head]!, this.A.p.segs[a.head]!, this.b);
        if (hb) {
          this.b = hb;
          this.out.push({ op: 'same', expected: this.eLine(e.head), actual: this.aLine(a.head) });
        } else this.changedLine(e.head, a.head);
      }
      this.children(e, a.children);
      return;
    }
    this.missing(e);
    this.unexpected(a);
  }

  changedLine(ei: number, ai: number) {
    const el = this.E.p.lines[ei]!;
    const al = this.A.p.lines[ai]!;
    const why = whyLinesDiffer(
      this.kind,
      el,
      al,
      this.E.p.segs[ei]!,
      this.A.p.segs[ai]!,
      this.b,
      this.headerFor(ei, this.E.p),
    );
    this.out.push({ op: 'changed', expected: this.eLine(ei), actual: this.aLine(ai), why });
  }

  children(e: Group, A: LNode[]) {
    if (e.unordered) this.unordered(e.children, A);
    else this.ordered(e.children, A);
  }

  unordered(E: LNode[], A: LNode[]) {
    const extras = E.some((x) => x.t === 'ellipsis');
    const want = E.filter((x) => x.t !== 'ellipsis');
    const used = new Array<boolean>(A.length).fill(false);
    const pairedWith = new Map<number, number>();
    const take = (k: number, j: number) => {
      used[j] = true;
      pairedWith.set(k, j);
    };
    const headValues = (n: LNode, s: Side) => {
      const f = firstLine(n);
      return f === undefined
        ? ''
        : s.p.segs[f]!.flatMap((x) => (x.kind === 'var' && isBound(x.cls) ? [x.text] : [])).join(
            ' ',
          );
    };
    const sim = (e: LNode, a: LNode) => {
      const ef = firstLine(e);
      const af = firstLine(a);
      if (ef === undefined || af === undefined) return 0;
      return Math.max(
        similarity(shape(this.E.p.segs[ef]!), shape(this.A.p.segs[af]!)),
        similarity(this.E.p.lines[ef]!, this.A.p.lines[af]!),
      );
    };
    // 1. identical text: nothing to explain
    want.forEach((e, k) => {
      const t = nodeText(e, this.E);
      const j = A.findIndex((a, jj) => !used[jj] && nodeText(a, this.A) === t);
      if (j >= 0) take(k, j);
    });
    // 2. the same values on the first line (same VIP, same member address): the same thing, changed
    want.forEach((e, k) => {
      if (pairedWith.has(k)) return;
      const v = headValues(e, this.E);
      if (!v) return;
      let best = -1;
      let score = -1;
      A.forEach((a, j) => {
        if (used[j] || headValues(a, this.A) !== v) return;
        const s = sim(e, a);
        if (s > score) {
          score = s;
          best = j;
        }
      });
      if (best >= 0 && score >= 0.3) take(k, best);
    });
    // 3. a counterpart that matches under a renaming
    want.forEach((e, k) => {
      if (pairedWith.has(k)) return;
      for (const j of candidateOrder(e, k, A, this.E, this.A)) {
        if (used[j]) continue;
        if (this.tryMatch(e, A[j]!)) {
          take(k, j);
          return;
        }
      }
    });
    // 4. the closest remaining counterpart
    want.forEach((e, k) => {
      if (pairedWith.has(k)) return;
      let best = -1;
      let score = 0;
      A.forEach((a, j) => {
        if (used[j]) return;
        const s = sim(e, a);
        if (s > score) {
          score = s;
          best = j;
        }
      });
      if (best >= 0 && score >= 0.5) take(k, best);
    });
    want.forEach((e, k) => {
      const j = pairedWith.get(k);
      if (j === undefined) this.missing(e);
      else this.pair(e, A[j]!);
    });
    if (!extras) A.forEach((a, j) => !used[j] && this.unexpected(a));
  }

  ordered(E: LNode[], A: LNode[]) {
    // Lines that correspond at both ends are paired first (the usual failure is a few
    // changed lines in a long output): the alignment below then costs the changed middle's
    // size squared, not the whole output's.
    const alike = (e: LNode, a: LNode) => {
      if (e.t === 'ellipsis') return false;
      if (nodeShape(e, this.E) === nodeShape(a, this.A)) return true;
      return e.t === 'line' && a.t === 'line' && this.tryMatch(e, a) !== null;
    };
    let p = 0;
    while (p < E.length && p < A.length && alike(E[p]!, A[p]!)) p++;
    let q = 0;
    while (
      q < E.length - p &&
      q < A.length - p &&
      alike(E[E.length - 1 - q]!, A[A.length - 1 - q]!)
    )
      q++;
    for (let k = 0; k < p; k++) this.pair(E[k]!, A[k]!);
    const Em = E.slice(p, E.length - q);
    const Am = A.slice(p, A.length - q);
    if (Em.length * Am.length > 4_000_000) {
      // too large to align: side by side, and say so
      this.work.spend(this.work.left);
      Em.forEach((e, k) => (Am[k] ? this.pair(e, Am[k]) : this.missing(e)));
      Am.slice(Em.length).forEach((a) => this.unexpected(a));
    } else this.align(Em, Am);
    for (let k = q; k > 0; k--) this.pair(E[E.length - k]!, A[A.length - k]!);
  }

  align(E: LNode[], A: LNode[]) {
    // LCS over loose shapes; ellipsis absorbs anything
    const n = E.length;
    const m = A.length;
    const es = E.map((x) => (x.t === 'ellipsis' ? null : nodeShape(x, this.E)));
    const as = A.map((x) => nodeShape(x, this.A));
    const memo = new Map<number, boolean>();
    const eq = (i: number, j: number): boolean => {
      if (es[i] === as[j]) return true;
      const e = E[i]!;
      const a = A[j]!;
      if (!hasMarkers(es[i] ?? '') || e.t !== 'line' || a.t !== 'line') return false;
      const key = i * (m + 1) + j;
      const hit = memo.get(key);
      if (hit !== undefined) return hit;
      if (this.work.left <= 0) return false;
      const search = new LineSearch(this.E.p.segs[e.i]!, this.A.p.segs[a.i]!, Bindings.empty());
      const r = search.next() !== null;
      this.work.spend(1 + (search.steps >> 4));
      memo.set(key, r);
      return r;
    };
    const dp: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--) {
        if (es[i] === null) dp[i]![j] = Math.max(dp[i + 1]![j]!, dp[i]![j + 1]! + 1);
        else
          dp[i]![j] = eq(i, j) ? dp[i + 1]![j + 1]! + 2 : Math.max(dp[i + 1]![j]!, dp[i]![j + 1]!);
      }
    let i = 0;
    let j = 0;
    const pendE: LNode[] = [];
    const pendA: LNode[] = [];
    const flush = () => {
      // pair leftovers side by side when they look alike
      while (pendE.length && pendA.length) {
        const e = pendE.shift()!;
        const ef = firstLine(e);
        const af = firstLine(pendA[0]!);
        if (
          ef !== undefined &&
          af !== undefined &&
          similarity(this.E.p.lines[ef]!, this.A.p.lines[af]!) > 0
        )
          this.pair(e, pendA.shift()!);
        else this.missing(e);
      }
      // a doc line with no counterpart may have been swallowed by a "...": show the closest such line
      for (const e of pendE.splice(0)) {
        const ef = firstLine(e);
        let best = -1;
        let score = 0;
        absorbed.forEach((a, k) => {
          const af = firstLine(a);
          if (ef === undefined || af === undefined) return;
          const s = similarity(shape(this.E.p.segs[ef]!), shape(this.A.p.segs[af]!));
          if (s > score) {
            score = s;
            best = k;
          }
        });
        if (best >= 0 && score >= 0.6) this.pair(e, absorbed.splice(best, 1)[0]!);
        else this.missing(e);
      }
      pendA.splice(0).forEach((a) => this.unexpected(a));
    };
    const absorbed: LNode[] = [];
    while (i < n || j < m) {
      if (i < n && es[i] === null) {
        if (j < m && dp[i]![j] === dp[i]![j + 1]! + 1) {
          absorbed.push(A[j]!); // absorbed by "..."
          j++;
          continue;
        }
        i++;
        continue;
      }
      if (i < n && j < m && eq(i, j) && dp[i]![j] === dp[i + 1]![j + 1]! + 2) {
        flush();
        this.pair(E[i]!, A[j]!);
        i++;
        j++;
      } else if (j < m && (i >= n || dp[i]![j + 1]! >= dp[i + 1]![j]!)) {
        pendA.push(A[j]!);
        j++;
      } else {
        pendE.push(E[i]!);
        i++;
      }
    }
    flush();
  }
}

/**
 * When the doc shows a kind proxylab has a parser for (src/inspect), say why the output is
 * not that kind at all (e.g. "exec: ipvsadm: executable file not found" instead of a table).
 */
function notOfKind(kind: OutputKind, actual: string): string | undefined {
  const parse = (PARSERS as Record<string, ((t: string) => unknown) | undefined>)[kind];
  if (!parse || !actual.trim()) return undefined;
  try {
    parse(actual);
    return undefined;
  } catch (e) {
    return isParseError(e)
      ? /^not /.test(e.message)
        ? `the output is ${e.message}`
        : `the output is not ${kind} output: ${e.message}`
      : undefined;
  }
}

interface Started {
  kind: OutputKind;
  base: Bindings;
  E: Side;
  A: Side;
  notes: string[];
  budget: Budget;
  search: TreeSearch;
}

function start(expected: string, actual: string, opts: MatchOptions): Started {
  const kind = opts.kind ?? detectKind(expected.trim() ? expected : actual);
  const base = opts.bindings ?? Bindings.empty();
  const E: Side = { p: prepare(expected, kind, true) };
  const A: Side = { p: prepare(actual, kind, false) };
  const notes = hasSet(E.p.tree) && SET_NOTES[kind] ? [SET_NOTES[kind]] : [];
  const budget = new Budget(200_000);
  const search = nodeSearch(E.p.tree, A.p.tree, E, A, base, budget);
  return { kind, base, E, A, notes, budget, search };
}

function finish(s: Started, expected: string, actual: string, opts: MatchOptions): MatchResult {
  const { kind, base, E, A, notes, budget } = s;
  const got = s.search.result;
  if (got)
    return {
      ok: true,
      kind,
      notes,
      diff: [],
      bindings: got,
      renamed: got.since(base).filter((r) => r.doc !== r.actual),
    };
  if (budget.left <= 0)
    notes.push(
      'gave up comparing after too many combinations: make the expected output more specific',
    );
  const unparsable = notOfKind(kind, actual);
  if (unparsable) notes.push(unparsable);
  const actualKind = actual.trim() ? detectKind(actual) : kind;
  if (!unparsable && !opts.kind && expected.trim() && actualKind !== kind)
    notes.push(`the doc shows ${kind} output, but this looks like ${actualKind} output`);
  const ex = new Explainer(kind, E, A, base);
  ex.children(E.p.tree, A.p.tree.children);
  if (ex.work.left <= 0)
    notes.push('the explanation below was cut short: the outputs are too large to align in full');
  // an alignment that finds nothing wrong means only a combination of sets failed
  if (!ex.out.some((d) => d.op !== 'same'))
    ex.out.push({
      op: 'changed',
      why: [
        'no consistent renaming makes every line match (two doc values would need the same output value)',
      ],
    });
  return {
    ok: false,
    kind,
    notes,
    diff: ex.out,
    bindings: ex.b,
    renamed: ex.b.since(base).filter((r) => r.doc !== r.actual),
  };
}

/** Compare expected (doc) text with actual output. */
export function matchOutput(
  expected: string,
  actual: string,
  opts: MatchOptions = {},
): MatchResult {
  const s = start(expected, actual, opts);
  s.search.run();
  return finish(s, expected, actual, opts);
}

/** Thrown by matchOutputAsync when its deadline passes before the comparison ends. */
export class MatchTimeout extends Error {
  constructor(readonly ms: number) {
    super(`comparing the output with the doc did not finish within ${(ms / 1000).toFixed(1)} s`);
    this.name = 'MatchTimeout';
  }
}

/**
 * matchOutput in slices: the event loop runs between them, so a signal (Ctrl-C, SIGTERM)
 * or the step's deadline stops a long comparison. Rejects with the signal's reason when
 * aborted, with MatchTimeout when `deadline` (epoch ms) passes first.
 */
export async function matchOutputAsync(
  expected: string,
  actual: string,
  opts: MatchOptions & { signal?: AbortSignal; deadline?: number; slice?: number } = {},
): Promise<MatchResult> {
  const t0 = Date.now();
  const check = () => {
    opts.signal?.throwIfAborted();
    if (opts.deadline !== undefined && Date.now() > opts.deadline)
      throw new MatchTimeout(opts.deadline - t0);
  };
  const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));
  check();
  const s = start(expected, actual, opts);
  while (s.search.run(opts.slice ?? 2000) === 'running') {
    await yieldNow();
    check();
  }
  await yieldNow();
  check();
  return finish(s, expected, actual, opts);
}

/** Plain-text rendering of a failed match, for terminals and JUnit. */
export function formatDiff(
  r: Pick<MatchResult, 'diff' | 'notes' | 'renamed'>,
  opts: { docLine?: (expectedLine: number) => number; context?: number; color?: boolean } = {},
): string {
  const ctx = opts.context ?? 2;
  const out: string[] = [];
  const c = (code: string, t: string) => (opts.color ? `\u001b[${code}m${t}\u001b[0m` : t);
  const where = (n: number) =>
    opts.docLine ? `doc line ${opts.docLine(n)}` : `expected line ${n}`;
  for (const n of r.notes) out.push(c('2', `note: ${n}`));
  const interesting = r.diff.map((d) => d.op !== 'same');
  let skipped = 0;
  r.diff.forEach((d, k) => {
    const near = interesting.slice(Math.max(0, k - ctx), k + ctx + 1).some(Boolean);
    if (d.op === 'same' && !near) {
      skipped++;
      return;
    }
    if (skipped) {
      out.push(c('2', `  … ${skipped} matching line${skipped === 1 ? '' : 's'}`));
      skipped = 0;
    }
    const next = r.diff[k + 1];
    const lastOfRun = !next || next.op !== d.op;
    if (d.op === 'same') out.push(`  ${d.actual?.text ?? d.expected?.text ?? ''}`);
    else if (d.op === 'missing') {
      out.push(c('31', `- ${d.expected!.text}`));
      if (lastOfRun) {
        let first = k;
        while (first > 0 && r.diff[first - 1]!.op === 'missing') first--;
        const from = r.diff[first]!.expected!.line;
        const span =
          from === d.expected!.line
            ? where(from)
            : `${where(from).replace(/line /, 'lines ')}–${opts.docLine ? opts.docLine(d.expected!.line) : d.expected!.line}`;
        out.push(c('31', `    ↑ ${span}: not in the output`));
      }
    } else if (d.op === 'unexpected') {
      out.push(c('32', `+ ${d.actual!.text}`));
      if (lastOfRun) {
        let first = k;
        while (first > 0 && r.diff[first - 1]!.op === 'unexpected') first--;
        const from = r.diff[first]!.actual!.line;
        out.push(
          c(
            '32',
            `    ↑ output line${from === d.actual!.line ? ` ${from}` : `s ${from}–${d.actual!.line}`}: not in the doc`,
          ),
        );
      }
    } else {
      if (d.expected) out.push(c('31', `- ${d.expected.text}`));
      if (d.actual) out.push(c('32', `+ ${d.actual.text}`));
      const at = d.expected ? `${where(d.expected.line)}: ` : '';
      for (const w of d.why ?? []) out.push(c('33', `    ↑ ${at}${w}`));
    }
  });
  if (skipped) out.push(c('2', `  … ${skipped} matching line${skipped === 1 ? '' : 's'}`));
  if (r.renamed.length) {
    out.push(c('2', 'renamed (doc → output):'));
    const byCls = new Map<string, string[]>();
    for (const x of r.renamed)
      byCls.set(x.cls, [...(byCls.get(x.cls) ?? []), `${x.doc} → ${x.actual}`]);
    for (const [cls, items] of byCls) out.push(c('2', `  ${cls}: ${items.join(', ')}`));
  }
  return out.join('\n');
}
