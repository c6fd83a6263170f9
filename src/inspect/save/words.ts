/**
 * One rule line's words, found in place (offsets into the line's bytes, no strings), read
 * as saveRule (iptables.ts) reads them; and the few of them kube-proxy's view needs, as
 * strings.
 */
import { NEEDS, type IptablesRule, type KubeProxyCollector } from '../iptables.js';
import { DASH, QUOTE, SP, at, bytesOf, hasHigh } from './bytes.js';
import { chainName, type SaveTable } from './layout.js';

// Fields of a rule, each a word found on its line: its start (NONE: null; BANG: `!` alone,
// a negated option without a value), end, and flags.
export const F_TARGET = 0;
export const F_PROTOCOL = 1;
export const F_SOURCE = 2;
export const F_DESTINATION = 3;
export const F_IN = 4;
export const F_OUT = 5;
export const F_COMMENT = 6;
export const F_DNAT = 7;
export const F_PROBABILITY = 8;
export const F_DPORT = 9;
const FIELDS = 10;
export const NONE = -1;
export const BANG = -2;
/** Flags: the word has quotes (they are left out of its text); the value is negated (`!`). */
export const QUOTED = 1;
export const NEGATED = 2;

// Options, coded as saveRule codes them (iptables.ts): one-letter ones by their letter.
const O_COMMENT = 1;
const O_MATCH_SET = 2;
const O_PROBABILITY = 3;
const O_DPORT = 4;
const O_TO_DESTINATION = 5;
const LONG: Array<[Uint8Array, number]> = (
  [
    ['--source', 115],
    ['--destination', 100],
    ['--protocol', 112],
    ['--in-interface', 105],
    ['--out-interface', 111],
    ['--match', 109],
    ['--jump', 106],
    ['--goto', 103],
    ['--comment', O_COMMENT],
    ['--match-set', O_MATCH_SET],
    ['--probability', O_PROBABILITY],
    ['--dport', O_DPORT],
    ['--destination-port', O_DPORT],
    ['--to-destination', O_TO_DESTINATION],
  ] as Array<[string, number]>
).map(([s, c]) => [bytesOf(s), c]);
const LONG_BY_LENGTH: Array<Array<[Uint8Array, number]>> = [];
for (const o of LONG) (LONG_BY_LENGTH[o[0].length] ??= []).push(o);

const NUM = /^(?:\d+(?:\.\d+)?|\.\d+)$/;

/**
 * The words of one rule line (a plain one: spaces between words, quotes closed, no
 * backslashes), read as saveRule reads them: `f` holds each field's word (start, end,
 * flags), `matches` and `sets` the words of `-m` and `--match-set`.
 */
export class RuleWords {
  b: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private end = 0;
  /** The word found by the last advance(). */
  ws = 0;
  we = 0;
  wq = 0;
  readonly f = new Int32Array(FIELDS * 3);
  goto = false;
  /** Word starts, ends and quoted flags of `-m` values: 3 per value, `nm` of them in use. */
  matches: number[] = [];
  nm = 0;
  /** name start, end, quoted, flags start, end, quoted, negated: 7 per match-set, `ns` in use. */
  sets: number[] = [];
  ns = 0;

  /** Read the rule b[a, end) whose words start at `from` (after `-A CHAIN`). */
  read(b: Uint8Array, from: number, end: number): void {
    this.b = b;
    this.pos = from;
    this.end = end;
    const f = this.f;
    for (let i = 0; i < FIELDS; i++) f[i * 3] = NONE;
    this.goto = false;
    this.nm = 0;
    this.ns = 0;
    let neg = false;
    while (this.advance()) {
      const a = this.ws;
      const len = this.we - a;
      if (this.wq || b[a] !== DASH) {
        neg = len === 1 && b[a] === 33;
        continue;
      }
      switch (this.option(a, len)) {
        case 115:
          this.value(F_SOURCE, neg);
          break;
        case 100:
          this.value(F_DESTINATION, neg);
          break;
        case 112:
          this.value(F_PROTOCOL, neg);
          break;
        case 105:
          this.value(F_IN, neg);
          break;
        case 111:
          this.value(F_OUT, neg);
          break;
        case 109:
          if (this.advance()) {
            const m = this.matches;
            m[this.nm++] = this.ws;
            m[this.nm++] = this.we;
            m[this.nm++] = this.wq;
          }
          break;
        case 106:
          this.value(F_TARGET, false);
          break;
        case 103:
          this.value(F_TARGET, false);
          this.goto = true;
          break;
        case O_COMMENT:
          this.value(F_COMMENT, false);
          break;
        case O_MATCH_SET: {
          const has1 = this.advance();
          const s1 = this.ws;
          const e1 = this.we;
          const q1 = this.wq;
          if (has1 && this.advance()) {
            const x = this.sets;
            const k = this.ns;
            x[k] = s1;
            x[k + 1] = e1;
            x[k + 2] = q1;
            x[k + 3] = this.ws;
            x[k + 4] = this.we;
            x[k + 5] = this.wq;
            x[k + 6] = neg ? 1 : 0;
            this.ns = k + 7;
          }
          break;
        }
        case O_PROBABILITY:
          this.value(F_PROBABILITY, false);
          break;
        case O_DPORT:
          this.value(F_DPORT, neg);
          break;
        case O_TO_DESTINATION:
          this.value(F_DNAT, false);
          break;
        default:
          // Other options: skip their values (words not starting with '-').
          while (this.valueFollows()) this.advance();
      }
      neg = false;
    }
  }

  /** The next word into field `k` (null without one; `!` alone when negated without one). */
  private value(k: number, neg: boolean): void {
    const f = this.f;
    if (this.advance()) {
      f[k * 3] = this.ws;
      f[k * 3 + 1] = this.we;
      f[k * 3 + 2] = this.wq | (neg ? NEGATED : 0);
    } else f[k * 3] = neg ? BANG : NONE;
  }

  private option(a: number, len: number): number {
    const b = this.b;
    if (len === 2) {
      const c = b[a + 1];
      return c === 115 ||
        c === 100 ||
        c === 112 ||
        c === 105 ||
        c === 111 ||
        c === 109 ||
        c === 106 ||
        c === 103
        ? c
        : 0;
    }
    const candidates = LONG_BY_LENGTH[len];
    if (candidates !== undefined)
      for (let i = 0; i < candidates.length; i++) {
        const o = candidates[i]!;
        if (at(b, a, o[0])) return o[1];
      }
    return 0;
  }

  private advance(): boolean {
    const b = this.b;
    const end = this.end;
    let p = this.pos;
    while (p < end && b[p] === SP) p++;
    if (p >= end) {
      this.pos = p;
      return false;
    }
    this.ws = p;
    this.wq = 0;
    while (p < end) {
      const c = b[p];
      if (c === SP) break;
      if (c === QUOTE) {
        this.wq = QUOTED;
        p++;
        while (b[p] !== QUOTE) p++; // the layout pass saw every quote closed
      }
      p++;
    }
    this.pos = this.we = p;
    return true;
  }

  private valueFollows(): boolean {
    const b = this.b;
    const end = this.end;
    let p = this.pos;
    while (p < end && b[p] === SP) p++;
    this.pos = p;
    if (p >= end) return false;
    let c = b[p];
    if (c === QUOTE && p + 1 < end) c = b[p + 1];
    if (c === DASH) return false;
    return !(c === 33 && (p + 1 >= end || b[p + 1] === SP));
  }

  /** Field k as a string (quotes left out, `!` in front when negated), or null. */
  str(k: number): string | null {
    const f = this.f;
    const a = f[k * 3]!;
    if (a === NONE) return null;
    if (a === BANG) return '!';
    return text(this.b, a, f[k * 3 + 1]!, f[k * 3 + 2]!);
  }
}

/** The word b[a, e) as a string (quotes left out when `flags` says QUOTED; `!` when NEGATED). */
export function text(b: Uint8Array, a: number, e: number, flags: number): string {
  const buf = b as Buffer;
  let from = a;
  let to = e;
  let quoted = (flags & QUOTED) !== 0;
  // the usual quoted word, `"…"` whole: its inside, without a second string
  if (quoted && b[a] === QUOTE && b[e - 1] === QUOTE && buf.indexOf(QUOTE, a + 1) === e - 1) {
    from = a + 1;
    to = e - 1;
    quoted = false;
  }
  let s = hasHigh(b, from, to) ? buf.toString('utf8', from, to) : buf.toString('latin1', from, to);
  if (quoted) s = s.replaceAll('"', '');
  return flags & NEGATED ? `!${s}` : s;
}

/** `KUBE-` then S, E, F or X: a KUBE-SEP-, KUBE-SVC/SVL-, KUBE-EXT-, KUBE-FW- or KUBE-XLB- chain, maybe. */
function maybeViewChain(b: Uint8Array, a: number, e: number): boolean {
  if (e - a < 7 || !at(b, a, KUBE_)) return false;
  const c = b[a + 5];
  return c === 83 || c === 69 || c === 70 || c === 88;
}
const KUBE_ = bytesOf('KUBE-');

/** `--probability P` as saveRule reads it: a number, or null when P is not one. */
export function probabilityOf(w: RuleWords): number | null {
  const p = w.str(F_PROBABILITY);
  return p !== null && NUM.test(p) ? Number(p) : null;
}

/** The rule's fields kube-proxy's view reads for the chain it is in (see NEEDS), into `r`. */
export function viewFields(
  w: RuleWords,
  needs: number,
  r: IptablesRule,
  t: SaveTable,
  kp: KubeProxyCollector,
): void {
  const f = w.f;
  const ta = f[F_TARGET * 3]!;
  const te = f[F_TARGET * 3 + 1]!;
  // other targets matter only to KUBE-SERVICES & co (REJECT, DROP): not KUBE-MARK-MASQ,
  // DNAT… (a quoted one is read whole, to be sure); a chain of the table is its one string
  if (ta >= 0 && w.b[ta] !== QUOTE && maybeViewChain(w.b, ta, te)) {
    const ci = t.arena.find(w.b, ta, te);
    r.target = ci >= 0 ? chainName(t, ci) : w.str(F_TARGET);
  } else r.target = needs & NEEDS.target || (ta >= 0 && w.b[ta] === QUOTE) ? w.str(F_TARGET) : null;
  r.dnatTo = needs & NEEDS.dnatTo ? w.str(F_DNAT) : null;
  if (needs & NEEDS.entry) {
    r.destination = w.str(F_DESTINATION);
    r.dport = w.str(F_DPORT);
    r.protocol = w.str(F_PROTOCOL);
  }
  r.comment =
    needs & NEEDS.entry || (needs & NEEDS.svc && kp.keepsComment(r.target))
      ? w.str(F_COMMENT)
      : null;
  if (needs & NEEDS.svc) {
    r.probability = probabilityOf(w);
    let recent = false;
    const m = w.matches;
    for (let i = 0; i < w.nm && !recent; i += 3)
      recent = text(w.b, m[i]!, m[i + 1]!, m[i + 2]!) === 'recent';
    r.matches = recent ? RECENT : NO_MATCHES;
  }
  const s = w.sets;
  if (w.ns === 0) r.matchSets = NO_SETS;
  else {
    const sets = [];
    for (let i = 0; i < w.ns; i += 7)
      sets.push({
        name: text(w.b, s[i]!, s[i + 1]!, s[i + 2]!),
        flags: text(w.b, s[i + 3]!, s[i + 4]!, s[i + 5]!),
        negated: s[i + 6] === 1,
      });
    r.matchSets = sets;
  }
}

const RECENT: readonly string[] = Object.freeze(['recent']);
const NO_MATCHES: readonly string[] = Object.freeze([]);
const NO_SETS: IptablesRule['matchSets'] = Object.freeze([]);
