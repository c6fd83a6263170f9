/**
 * iptables output → typed data: `iptables-save` / `iptables-nft-save` / `iptables -S`
 * (rule syntax) and `iptables -L` / `-nL` / `-nvL` (table layout, wrapped lines too).
 * Tables → chains (policy, counters, references) → rules (target, matches, comment,
 * match-set, DNAT destination, statistic probability, the raw line).
 * `kubeProxyView` reads kube-proxy's chains: Services (from rule comments) →
 * KUBE-SVC → KUBE-SEP endpoints with their probabilities.
 */
import { ParseError } from './errors.js';
import {
  fields,
  int,
  isNoise,
  promptCommand,
  scaledInt,
  stripAnnotation,
  toLines,
} from './text.js';

export interface Counters {
  packets: number;
  bytes: number;
}

export interface MatchSet {
  name: string;
  /** e.g. `dst,dst` */
  flags: string;
  negated: boolean;
}

export interface IptablesRule {
  target: string | null;
  /** True when the rule uses `-g` (goto) rather than `-j`. */
  goto: boolean;
  protocol: string | null;
  /** As written, `!` kept for negation (`!10.244.0.0/16`). */
  source: string | null;
  destination: string | null;
  inInterface: string | null;
  outInterface: string | null;
  /** Match modules (`-m comment`, `-m tcp`, ...), in order. In the -L layout, the ones its text shows. */
  matches: readonly string[];
  comment: string | null;
  matchSets: readonly MatchSet[];
  /** DNAT `--to-destination` (save) or `to:` (-L). */
  dnatTo: string | null;
  /** `-m statistic --mode random --probability P`. */
  probability: number | null;
  /** `--dport` / `dpt:` as written (a number, a range, or a name in -L without -n). */
  dport: string | null;
  /** Packet and byte counters (`-nvL`, `iptables-save -c`). */
  counters: Counters | null;
  /** The rule as printed (wrapped -L lines joined with one space). */
  raw: string;
  line: number;
}

export interface IptablesChain {
  /** Built-in chains: ACCEPT/DROP; user chains: null. */
  policy: string | null;
  counters: Counters | null;
  /** `Chain X (2 references)` in the -L layout. */
  references: number | null;
  rules: IptablesRule[];
}

export interface IptablesTable {
  chains: Record<string, IptablesChain>;
}

export type IptablesFormat = 'save' | 'list';

export interface IptablesDump {
  /** `save` covers iptables-save, iptables-nft-save and -S; `list` the -L layouts. */
  formats: IptablesFormat[];
  /**
   * Tables by name. Input that does not say its table (a grep'd iptables-save, `iptables -L`
   * without a visible `-t` on a prompt line) lands in the table passed as `table`, else "unknown".
   */
  tables: Record<string, IptablesTable>;
  ruleCount: number;
  /** Line numbers that were not iptables output and were skipped. */
  skipped: number[];
  /**
   * What the input left unsaid, in words: rule rows read without their `Chain …` line (a
   * grep'd `iptables -L`) are filed under the chain "unknown", and this says so.
   */
  notes: string[];
}

/** The chain that -L rule rows go to when the input does not show their `Chain …` line. */
export const UNKNOWN_CHAIN = 'unknown';

export interface ParseIptablesOptions {
  /** Table to file rules under when the input does not say (default "unknown"). */
  table?: string;
}

/**
 * Finds or creates chains in a dump's tables (the only writer of their `chains`). Lookups go
 * through Maps (object keys would be interned string by string), and consecutive rules of one
 * chain skip even that.
 */
class Chains {
  private readonly index = new Map<string, Map<string, IptablesChain>>();
  private lastTable = '';
  private lastName = '';
  private last: IptablesChain | null = null;

  constructor(private readonly tables: Record<string, IptablesTable>) {}

  table(name: string): IptablesTable {
    return (this.tables[name] ??= {
      chains: Object.create(null) as Record<string, IptablesChain>,
    });
  }

  get(table: string, chain: string): IptablesChain {
    if (this.last !== null && this.lastName === chain && this.lastTable === table) return this.last;
    let byName = this.index.get(table);
    if (!byName) this.index.set(table, (byName = new Map()));
    let c = byName.get(chain);
    if (!c) {
      c = { policy: null, counters: null, references: null, rules: [] };
      byName.set(chain, c);
      this.table(table).chains[chain] = c;
    }
    this.lastTable = table;
    this.lastName = chain;
    this.last = c;
    return c;
  }
}

/** Split an iptables-save line into words, honouring double quotes and backslash escapes; null if a quote is left open. */
export function saveWords(line: string): string[] | null {
  const cur = new WordCursor().reset(line, isPlain(line));
  const out: string[] = [];
  for (let w = cur.next(); w !== undefined; w = cur.next()) out.push(w);
  return cur.open ? null : out;
}

const QUOTED_PART = /"((?:[^"\\]|\\.)*)"/g;

export function emptyRule(raw: string, line: number): IptablesRule {
  return {
    target: null,
    goto: false,
    protocol: null,
    source: null,
    destination: null,
    inInterface: null,
    outInterface: null,
    matches: [],
    comment: null,
    matchSets: [],
    dnatTo: null,
    probability: null,
    dport: null,
    counters: null,
    raw,
    line,
  };
}

const NUM = /^(?:\d+(?:\.\d+)?|\.\d+)$/;

const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);

/**
 * Reads the words of one save-syntax line in place, with the quoting rules of `saveWords`,
 * so a rule is parsed without first splitting the line into an array of words: options are
 * recognised from their characters and only the values a rule keeps are sliced out.
 * `open` turns true when a quote is left open.
 */
class WordCursor {
  s = '';
  pos = 0;
  open = false;
  /** The word found by the last `advance()`: [start, end), and whether it has quotes. */
  start = 0;
  end = 0;
  quoted = false;
  /** Only single spaces separate words (no tabs etc.): words can be found with indexOf. */
  private plain = true;
  /** Position of the next `"` at or after `pos` (or the line's length when none). */
  private quote = 0;
  /**
   * The first backslash at or after `backslashFrom` (the line's length when none): kept, not
   * searched for again per word, so a line of many quoted words is read in one pass.
   */
  private backslash = -1;
  private backslashFrom = 0;

  /** `plain`: the caller knows the line has no whitespace but spaces (see isPlain). */
  reset(s: string, plain: boolean): this {
    this.s = s;
    this.pos = 0;
    this.open = false;
    this.plain = plain;
    this.quote = -1;
    this.backslash = -1;
    this.backslashFrom = 0;
    return this;
  }

  private skipSpace(): void {
    const s = this.s;
    while (this.pos < s.length && isSpace(s.charCodeAt(this.pos))) this.pos++;
  }

  /** Move onto the next word; false at the end of the line (or at an open quote). */
  advance(): boolean {
    this.skipSpace();
    const s = this.s;
    let p = this.pos;
    if (p >= s.length) return false;
    this.start = p;
    this.quoted = false;
    if (this.plain) {
      if (this.quote < p) {
        const q = s.indexOf('"', p);
        this.quote = q < 0 ? s.length : q;
      }
      let e = s.indexOf(' ', p);
      if (e < 0) e = s.length;
      if (this.quote >= e) {
        this.pos = this.end = e;
        return true;
      }
    }
    while (p < s.length) {
      const c = s.charCodeAt(p);
      if (isSpace(c)) break;
      if (c === 34) {
        this.quoted = true;
        p++;
        while (p < s.length) {
          const q = s.charCodeAt(p);
          if (q === 92) p += 2;
          else if (q === 34) break;
          else p++;
        }
        if (p >= s.length) {
          this.open = true;
          this.pos = s.length;
          return false;
        }
      }
      p++;
    }
    this.pos = this.end = p;
    return true;
  }

  /** The current word with quotes removed and escapes resolved. */
  word(): string {
    const { s, start: a, end: b } = this;
    if (!this.quoted) return s.slice(a, b);
    // The common case, `"…"` as a whole word without escapes: slice its inside.
    if (s.charCodeAt(a) === 34 && s.indexOf('"', a + 1) === b - 1 && !this.hasBackslash(a, b))
      return s.slice(a + 1, b - 1);
    return s.slice(a, b).replace(QUOTED_PART, (_m, inner: string) => inner.replace(/\\(.)/g, '$1'));
  }

  /** Whether [a, b) holds a backslash. */
  private hasBackslash(a: number, b: number): boolean {
    if (this.backslash < a || a < this.backslashFrom) {
      const k = this.s.indexOf('\\', a);
      this.backslash = k < 0 ? this.s.length : k;
      this.backslashFrom = a;
    }
    return this.backslash < b;
  }

  /** The next word, or undefined at the end of the line. */
  next(): string | undefined {
    return this.advance() ? this.word() : undefined;
  }

  /**
   * The next word, shared with every rule when it is one of the COMMON words (match
   * modules, protocols, targets) so that 40,000 rules do not each keep their own copy.
   */
  nextCommon(): string | undefined {
    if (!this.advance()) return undefined;
    if (!this.quoted) {
      const { s, start, end } = this;
      const candidates = COMMON_BY_LENGTH[end - start];
      if (candidates !== undefined)
        for (const w of candidates) if (s.startsWith(w, start)) return w;
    }
    return this.word();
  }

  /** An option's value, `!` prefixed when the option was negated; null when none follows. */
  value(negated: boolean): string | null {
    const v = this.next();
    return negated ? `!${v ?? ''}` : (v ?? null);
  }

  /** True when another word follows and it is an option's value: not `-…`, not a lone `!`. */
  valueFollows(): boolean {
    this.skipSpace();
    const s = this.s;
    const p = this.pos;
    if (p >= s.length) return false;
    let c = s.charCodeAt(p);
    if (c === 34 && p + 1 < s.length) c = s.charCodeAt(p + 1);
    if (c === 45) return false;
    return !(c === 33 && (p + 1 >= s.length || isSpace(s.charCodeAt(p + 1))));
  }
}

/** Words most rules repeat: match modules, protocols, the usual targets and ports. */
const COMMON = [
  'comment',
  'tcp',
  'udp',
  'sctp',
  'statistic',
  'set',
  'addrtype',
  'mark',
  'recent',
  'conntrack',
  'multiport',
  'physdev',
  'KUBE-MARK-MASQ',
  'KUBE-MARK-DROP',
  'KUBE-SERVICES',
  'KUBE-NODEPORTS',
  'KUBE-POSTROUTING',
  'KUBE-FIREWALL',
  'KUBE-FORWARD',
  'KUBE-EXTERNAL-SERVICES',
  'KUBE-PROXY-FIREWALL',
  'KUBE-LOAD-BALANCER',
  'KUBE-NODE-PORT',
  'DNAT',
  'SNAT',
  'MASQUERADE',
  'MARK',
  'RETURN',
  'ACCEPT',
  'DROP',
  'REJECT',
  '53',
  '80',
  '443',
  '8080',
];
const COMMON_BY_LENGTH: string[][] = [];
for (const w of COMMON) (COMMON_BY_LENGTH[w.length] ??= []).push(w);

const cursor = new WordCursor();

/** Whitespace other than spaces: text without it can be split into words with indexOf(' '). */
const NOT_PLAIN = ['\t', '\v', '\f', '\r'];
export const isPlain = (text: string) => NOT_PLAIN.every((c) => text.indexOf(c) < 0);

const COUNTERS = /^\[(\d+):(\d+)\]$/;

// What a rule reads from its options. One-letter options are coded by their letter.
const C_s = 115;
const C_d = 100;
const C_p = 112;
const C_i = 105;
const C_o = 111;
const C_m = 109;
const C_j = 106;
const C_g = 103;
const C_COMMENT = 1;
const C_MATCH_SET = 2;
const C_PROBABILITY = 3;
const C_DPORT = 4;
const C_TO_DESTINATION = 5;

const LONG_OPTIONS: Array<[string, number]> = [
  ['--source', C_s],
  ['--destination', C_d],
  ['--protocol', C_p],
  ['--in-interface', C_i],
  ['--out-interface', C_o],
  ['--match', C_m],
  ['--jump', C_j],
  ['--goto', C_g],
  ['--comment', C_COMMENT],
  ['--match-set', C_MATCH_SET],
  ['--probability', C_PROBABILITY],
  ['--dport', C_DPORT],
  ['--destination-port', C_DPORT],
  ['--to-destination', C_TO_DESTINATION],
];
/** LONG_OPTIONS by length, so a word is compared in place with at most a few names. */
const LONG_BY_LENGTH: Array<Array<[string, number]>> = [];
for (const o of LONG_OPTIONS) (LONG_BY_LENGTH[o[0].length] ??= []).push(o);

/** The code of the option word s[a, a+len) (a word starting with `-`); 0 for any other option. */
function optionCode(s: string, a: number, len: number): number {
  if (len === 2) {
    const c = s.charCodeAt(a + 1);
    return c === C_s ||
      c === C_d ||
      c === C_p ||
      c === C_i ||
      c === C_o ||
      c === C_m ||
      c === C_j ||
      c === C_g
      ? c
      : 0;
  }
  const candidates = LONG_BY_LENGTH[len];
  if (candidates === undefined) return 0;
  for (const [name, code] of candidates) if (s.startsWith(name, a)) return code;
  return 0;
}

/** The one empty list shared by every rule without matches or match-sets. */
const NONE: readonly never[] = Object.freeze([]);

/** Scratch list of a rule's match modules, copied out at the exact size. */
const scratchMatches: string[] = [];

/**
 * Rules repeat a few lists of match modules (`comment, tcp`; `comment, statistic`…): each
 * list is kept once, frozen, and shared by the rules that have it, so 40,000 rules do not
 * keep 40,000 small arrays. At most MAX_SHARED lists of up to MAX_SHARED_LENGTH modules are
 * kept; others get their own copy.
 */
const shared = new Map<string, readonly string[]>();
const MAX_SHARED = 256;
/** Longer lists (a hostile rule of thousands of `-m`) are not worth a key. */
const MAX_SHARED_LENGTH = 8;

function sharedMatches(n: number): readonly string[] {
  let key = scratchMatches[0]!;
  for (let i = 1; i < n; i++) key += `\n${scratchMatches[i]!}`;
  let list = shared.get(key);
  if (list === undefined) {
    list = scratchMatches.slice(0, n);
    if (shared.size >= MAX_SHARED) return list;
    Object.freeze(list);
    shared.set(key, list);
  }
  return list;
}

/**
 * Parse one `-A CHAIN ...` / `-I CHAIN [N] ...` rule (save / -S syntax), with the optional
 * `[packets:bytes]` prefix of `iptables-save -c`. Returns [chain, rule], or null when the
 * line is not a rule (or leaves a quote open).
 */
export function saveRule(
  raw: string,
  line: number,
  plain = isPlain(raw),
): [string, IptablesRule] | null {
  const cur = cursor.reset(raw, plain);
  let op = cur.next();
  let counters: Counters | null = null;
  if (op !== undefined && op.charCodeAt(0) === 91) {
    const cm = COUNTERS.exec(op);
    if (!cm) return null;
    counters = { packets: Number(cm[1]), bytes: Number(cm[2]) };
    op = cur.next();
  }
  if (op !== '-A' && op !== '-I' && op !== '--append' && op !== '--insert') return null;
  const chain = cur.next();
  if (chain === undefined || chain.charCodeAt(0) === 45) return null;
  // The rule's fields as locals, built into one object at the end.
  let target: string | null = null;
  let goto = false;
  let protocol: string | null = null;
  let source: string | null = null;
  let destination: string | null = null;
  let inInterface: string | null = null;
  let outInterface: string | null = null;
  let comment: string | null = null;
  let matchSets: MatchSet[] | null = null;
  let dnatTo: string | null = null;
  let probability: number | null = null;
  let dport: string | null = null;
  let nMatches = 0;
  let neg = false;
  if (op === '-I' || op === '--insert') {
    // `-I CHAIN 3 ...`: the rule number.
    const save = cur.pos;
    if (int(cur.next()) === null) cur.pos = save;
  }
  const s = raw;
  while (cur.advance()) {
    const a = cur.start;
    const len = cur.end - a;
    if (cur.quoted || s.charCodeAt(a) !== 45) {
      if (len === 1 && s.charCodeAt(a) === 33) {
        neg = true;
        continue;
      }
      neg = false; // a stray value
      continue;
    }
    switch (optionCode(s, a, len)) {
      case C_s:
        source = cur.value(neg);
        break;
      case C_d:
        destination = cur.value(neg);
        break;
      case C_p:
        protocol = neg ? cur.value(neg) : (cur.nextCommon() ?? null);
        break;
      case C_i:
        inInterface = cur.value(neg);
        break;
      case C_o:
        outInterface = cur.value(neg);
        break;
      case C_m: {
        const m = cur.nextCommon();
        if (m !== undefined) scratchMatches[nMatches++] = m;
        break;
      }
      case C_j:
        target = cur.nextCommon() ?? null;
        break;
      case C_g:
        target = cur.nextCommon() ?? null;
        goto = true;
        break;
      case C_COMMENT:
        comment = cur.next() ?? null;
        break;
      case C_MATCH_SET: {
        const name = cur.next();
        const flags = cur.next();
        if (name !== undefined && flags !== undefined)
          (matchSets ??= []).push({ name, flags, negated: neg });
        break;
      }
      case C_PROBABILITY: {
        const p = cur.next();
        probability = p !== undefined && NUM.test(p) ? Number(p) : null;
        break;
      }
      case C_DPORT:
        dport = neg ? cur.value(neg) : (cur.nextCommon() ?? null);
        break;
      case C_TO_DESTINATION:
        dnatTo = cur.next() ?? null;
        break;
      default:
        // Other options: skip their values (words not starting with '-').
        while (cur.valueFollows()) cur.advance();
    }
    neg = false;
  }
  if (cur.open) return null;
  const matches =
    nMatches === 0
      ? NONE
      : nMatches <= MAX_SHARED_LENGTH
        ? sharedMatches(nMatches)
        : scratchMatches.slice(0, nMatches);
  const rule: IptablesRule = {
    target,
    goto,
    protocol,
    source,
    destination,
    inInterface,
    outInterface,
    matches,
    comment,
    matchSets: matchSets ?? NONE,
    dnatTo,
    probability,
    dport,
    counters,
    raw,
    line,
  };
  return [chain, rule];
}

/** Read the text after the columns of an -L rule line: comment, match-set, statistic, DNAT. */
function listExtras(r: IptablesRule, extra: string): void {
  let text = extra;
  const matches = [...r.matches];
  const sets = [...r.matchSets];
  const cm = /\/\*\s?(.*?)\s?\*\//.exec(text);
  if (cm) {
    r.comment = cm[1]!;
    text = text.slice(0, cm.index) + text.slice(cm.index + cm[0].length);
    matches.push('comment');
  }
  const setRe = /(!\s*)?match-set\s+(\S+)\s+(\S+)/g;
  for (let m = setRe.exec(text); m; m = setRe.exec(text)) {
    sets.push({ name: m[2]!, flags: m[3]!, negated: Boolean(m[1]) });
  }
  if (sets.length) matches.push('set');
  const p = /statistic\s+mode\s+random\s+probability\s+(\S+)/.exec(text);
  if (p && NUM.test(p[1]!)) {
    r.probability = Number(p[1]);
    matches.push('statistic');
  }
  const to = /(?:^|\s)to:(\S+)/.exec(text);
  if (to) r.dnatTo = to[1]!;
  const dpt = /(?:^|\s)(?:(tcp|udp|sctp)\s+)?dpts?:(\S+)/.exec(text);
  if (dpt) {
    r.dport = dpt[2]!;
    if (dpt[1]) matches.push(dpt[1]);
  }
  if (/\bADDRTYPE\s+match\b/.test(text)) matches.push('addrtype');
  if (/\bctstate\b/.test(text)) matches.push('conntrack');
  if (/\bmark\s+match\b/.test(text)) matches.push('mark');
  if (/\brecent:/.test(text)) matches.push('recent');
  r.matches = matches;
  r.matchSets = sets;
}

interface ListHeader {
  verbose: boolean;
  lineNumbers: boolean;
  /** Inferred from a row's shape, not read from a `pkts bytes target …` line. */
  guessed?: boolean;
}

/** The -L column sets, most columns first: `--line-numbers -v`, `-v`, `--line-numbers`, plain. */
const SHAPES: ListHeader[] = [
  { lineNumbers: true, verbose: true, guessed: true },
  { lineNumbers: false, verbose: true, guessed: true },
  { lineNumbers: true, verbose: false, guessed: true },
  { lineNumbers: false, verbose: false, guessed: true },
];

/**
 * An -L rule row read by its shape alone (its header line was grep'd away): the first column
 * set under which the row has its `--` opt column (or the blank one of old ip6tables) and
 * an address pair. Null when no column set fits.
 */
function rowByShape(text: string, line: number): { header: ListHeader; rule: IptablesRule } | null {
  const first = text.trimStart().charCodeAt(0);
  // a row starts with a number (line number, counters), a target or a protocol: a letter
  if (!(
    (first >= 48 && first <= 57) ||
    (first >= 65 && first <= 90) ||
    (first >= 97 && first <= 122)
  ))
    return null;
  for (const header of SHAPES) {
    const rule = listRule(text, header, line);
    if (rule && isAddr(rule.source) && isAddr(rule.destination)) return { header, rule };
  }
  return null;
}

function withHeader(
  header: ListHeader,
  rule: IptablesRule | null,
): { header: ListHeader; rule: IptablesRule } | null {
  return rule ? { header, rule } : null;
}

/** `0.0.0.0/0`, `!10.244.0.0/16`, `::/0`, a host name as -L without -n prints it. */
function isAddr(w: string | null): boolean {
  return (
    w !== null && /^!?(?:[0-9a-fA-F:.]+(?:\/\d+)?|anywhere|[\w.-]+\.[a-z]{2,}|localhost)$/.test(w)
  );
}

const OPT = /^(?:--|-f|!f)$/;

/** An IPv6 address or prefix as `ip6tables -n` prints it (`::/0`, `fd00::1`, `!fd00::/8`). */
const isV6 = (w: string | undefined) =>
  w !== undefined && /^!?[0-9a-f]*:[0-9a-f:.]*(?:\/\d+)?$/i.test(w);

/** Parse one rule row of the -L layout; null when the line is not one. */
function listRule(text: string, h: ListHeader, line: number): IptablesRule | null {
  const t = fields(text);
  let k = 0;
  if (h.lineNumbers) {
    if (int(t[0]) === null) return null;
    k++;
  }
  let counters: Counters | null = null;
  if (h.verbose) {
    const p = scaledInt(t[k]);
    const b = scaledInt(t[k + 1]);
    if (p === null || b === null) return null;
    counters = { packets: p, bytes: b };
    k += 2;
  }
  let target: string | null;
  let prot: string;
  if (t[k + 1] !== undefined && OPT.test(t[k + 1]!)) {
    // No target column (a rule without -j).
    target = null;
    prot = t[k]!;
    k += 2;
  } else if (t[k + 2] !== undefined && OPT.test(t[k + 2]!)) {
    target = t[k]!;
    prot = t[k + 1]!;
    k += 3;
  } else {
    // ip6tables before 1.8.8 leaves the opt column blank: the addresses come one word early.
    const v = h.verbose ? 2 : 0;
    if (isV6(t[k + 2 + v]) && isV6(t[k + 3 + v])) {
      target = t[k]!;
      prot = t[k + 1]!;
      k += 2;
    } else if (isV6(t[k + 1 + v]) && isV6(t[k + 2 + v])) {
      target = null;
      prot = t[k]!;
      k += 1;
    } else return null;
  }
  let inI: string | null = null;
  let outI: string | null = null;
  if (h.verbose) {
    inI = t[k] ?? null;
    outI = t[k + 1] ?? null;
    k += 2;
  }
  const src = t[k];
  const dst = t[k + 1];
  if (src === undefined || dst === undefined) return null;
  k += 2;
  // The extra text keeps its own spacing: skip k words from the start of the line.
  const m = new RegExp(`^\\s*(?:\\S+\\s+){${k - 1}}\\S+`).exec(text);
  const extra = m ? text.slice(m[0].length).trim() : '';
  const r = emptyRule(text.trim(), line);
  r.target = target;
  r.protocol = prot;
  r.source = src;
  r.destination = dst;
  r.inInterface = inI === '*' ? null : inI;
  r.outInterface = outI === '*' ? null : outI;
  r.counters = counters;
  if (extra) listExtras(r, extra);
  return r;
}

const TABLE_IN_CMD =
  /\b(?:iptables|ip6tables|iptables-nft|iptables-legacy)(?:-save)?\b.*?(?:\s-t\s*|\s--table[=\s])(\w+)/;

/** Parse iptables output in any of its layouts. Throws ParseError when nothing is iptables. */
export function parseIptables(input: string, opts: ParseIptablesOptions = {}): IptablesDump {
  const fallbackTable = opts.table ?? 'unknown';
  const out: IptablesDump = {
    formats: [],
    tables: Object.create(null) as Record<string, IptablesTable>,
    ruleCount: 0,
    skipped: [],
    notes: [],
  };
  const fmt = (f: IptablesFormat) => {
    if (!out.formats.includes(f)) out.formats.push(f);
  };
  let table = fallbackTable;
  let recognized = 0;
  let listChain: IptablesChain | null = null;
  let header: ListHeader | null = null;
  let lastListRule: IptablesRule | null = null;
  /** Lines of the rule rows read without a `Chain …` line. */
  const headerless: number[] = [];
  let headerlessChain: IptablesChain | null = null;

  const chains = new Chains(out.tables);
  const lines = toLines(input);
  const plain = isPlain(input);
  for (let li = 0; li < lines.length; li++) {
    const no = li + 1;
    const rawText = lines[li]!;
    // The bulk of an iptables-save: `-A CHAIN …` lines. Without a `#` (annotation, prompt)
    // and not `-A $ …`, such a line is neither a prompt nor noise: parse it straight away.
    if (
      rawText.charCodeAt(0) === 45 &&
      rawText.charCodeAt(1) === 65 &&
      rawText.charCodeAt(2) === 32 &&
      rawText.charCodeAt(3) !== 36 &&
      rawText.indexOf('#') < 0
    ) {
      const sr = saveRule(rawText, no, plain);
      if (sr) {
        chains.get(table, sr[0]).rules.push(sr[1]);
        out.ruleCount++;
        fmt('save');
        recognized++;
        continue;
      }
    }
    const cmd =
      rawText.indexOf('$') >= 0 || rawText.indexOf('#') >= 0 ? promptCommand(rawText) : null;
    if (cmd !== null) {
      const tm = TABLE_IN_CMD.exec(` ${cmd}`);
      if (tm) table = tm[1]!;
      else if (/\biptables(?:-nft|-legacy)?(?:-save)?\b/.test(cmd))
        table = /-save/.test(cmd) ? fallbackTable : (opts.table ?? 'filter');
      lastListRule = null;
      continue;
    }
    if (isNoise(rawText)) {
      if (rawText.trim() === '') lastListRule = null;
      continue;
    }
    const line = rawText.trim();
    const first = line[0];
    // Save syntax.
    if (first === '*' && /^\*\w+$/.test(line)) {
      table = line.slice(1);
      chains.table(table);
      fmt('save');
      recognized++;
      listChain = null;
      continue;
    }
    if (first === ':') {
      const m = /^:(\S+) (\S+) \[(\d+):(\d+)\]$/.exec(line);
      if (m) {
        const c = chains.get(table, m[1]!);
        c.policy = m[2] === '-' ? null : m[2]!;
        c.counters = { packets: Number(m[3]), bytes: Number(m[4]) };
        fmt('save');
        recognized++;
        continue;
      }
    }
    if (first === '#') {
      // iptables-save's own comments; any other `#` line is said to be skipped
      if (/^# (?:Generated by|Completed on|Warning: )/.test(line)) recognized++;
      else out.skipped.push(no);
      continue;
    }
    if (line === 'COMMIT') {
      recognized++;
      continue;
    }
    if (first === '-' || first === '[') {
      const trimmed = line.includes('#') ? stripAnnotation(line).trim() : line;
      const sr = saveRule(trimmed, no, plain && trimmed === line);
      if (sr) {
        chains.get(table, sr[0]).rules.push(sr[1]);
        out.ruleCount++;
        fmt('save');
        recognized++;
        continue;
      }
      const words = saveWords(trimmed);
      if (words) {
        if ((words[0] === '-P' || words[0] === '--policy') && words.length === 3) {
          chains.get(table, words[1]!).policy = words[2]!;
          fmt('save');
          recognized++;
          continue;
        }
        if ((words[0] === '-N' || words[0] === '--new-chain') && words.length === 2) {
          chains.get(table, words[1]!);
          fmt('save');
          recognized++;
          continue;
        }
      }
    }
    // -L layout.
    const t = line;
    const ch =
      /^Chain\s+(\S+)\s+\(\s*(?:policy\s+(\S+)(?:\s+(\d+\w?)\s+packets,\s+(\d+\w?)\s+bytes)?|(\d+)\s+references)\s*\)$/.exec(
        t,
      );
    if (ch) {
      listChain = chains.get(table, ch[1]!);
      if (ch[2]) listChain.policy = ch[2];
      if (ch[3] !== undefined)
        listChain.counters = { packets: scaledInt(ch[3]) ?? 0, bytes: scaledInt(ch[4]) ?? 0 };
      if (ch[5] !== undefined) listChain.references = Number(ch[5]);
      header = null;
      lastListRule = null;
      fmt('list');
      recognized++;
      continue;
    }
    const hm =
      /^(num\s+)?(pkts\s+bytes\s+)?target\s+prot\s+opt\s+(?:in\s+out\s+)?source\s+destination$/.exec(
        t,
      );
    if (hm) {
      header = { lineNumbers: Boolean(hm[1]), verbose: Boolean(hm[2]), guessed: false };
      fmt('list');
      recognized++;
      continue;
    }
    if (!listChain || !header || header.guessed) {
      // Rows without their `Chain …` line or their header line (grep removed them, or the
      // paste starts mid-listing): read each under the header seen, else by its shape.
      const guess: { header: ListHeader; rule: IptablesRule } | null =
        header && !header.guessed
          ? withHeader(header, listRule(rawText, header, no))
          : rowByShape(rawText, no);
      if (guess) {
        header = guess.header;
        if (!listChain) {
          listChain = chains.get(table, UNKNOWN_CHAIN);
          headerlessChain = listChain;
        }
        if (listChain === headerlessChain) headerless.push(no);
        listChain.rules.push(guess.rule);
        out.ruleCount++;
        lastListRule = guess.rule;
        fmt('list');
        recognized++;
        continue;
      }
    }
    if (listChain && header) {
      const r = listRule(rawText, header, no);
      if (r) {
        if (listChain === headerlessChain) headerless.push(no);
        listChain.rules.push(r);
        out.ruleCount++;
        lastListRule = r;
        recognized++;
        continue;
      }
      if (lastListRule && !/^Chain /.test(t)) {
        // A rule line wrapped by the terminal or the author: it continues the previous rule.
        lastListRule.raw = `${lastListRule.raw} ${t}`;
        const extraStart = lastListRule.raw;
        const again = listRule(extraStart, header, lastListRule.line);
        if (again) {
          Object.assign(lastListRule, { ...again, raw: lastListRule.raw, line: lastListRule.line });
        }
        recognized++;
        continue;
      }
    }
    out.skipped.push(no);
  }
  if (headerless.length)
    out.notes.push(
      `${headerless.length} rule row${headerless.length === 1 ? '' : 's'} (line ${headerless[0]}${headerless.length > 1 ? ` to ${headerless[headerless.length - 1]}` : ''}) without their "Chain …" line (grep'd?): their chain is unknown, they are filed under chain "${UNKNOWN_CHAIN}"`,
    );
  if (recognized === 0 || (out.ruleCount === 0 && Object.keys(out.tables).length === 0)) {
    throw new ParseError(
      'iptables',
      input.trim() === ''
        ? 'the input is empty'
        : 'no line looks like iptables output (expected "*nat", "-A CHAIN ...", or "Chain X (policy ACCEPT)" with rule rows)',
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// kube-proxy's view of the rules

export interface KubeProxyEndpoint {
  /** KUBE-SEP-… chain the service chain jumps to. */
  chain: string;
  /** Pod address from the KUBE-SEP DNAT rule (or the `-> ip:port` comment); null if not in the input. */
  address: string | null;
  port: number | null;
  /** Probability written on the jump; null for the last, unconditional one. */
  probability: number | null;
  /** Share of new connections this endpoint gets (probabilities compounded in rule order). */
  share: number;
}

export interface KubeProxyServicePort {
  /** `namespace/name` from the rule comments, null when the input has no comments. */
  name: string | null;
  /** Port name from `ns/name:port` comments (null when unnamed). */
  portName: string | null;
  clusterIP: string | null;
  port: number | null;
  protocol: string | null;
  /** KUBE-SVC-… (or KUBE-SVL-… for internalTrafficPolicy: Local); null when the service has no endpoints. */
  chain: string | null;
  nodePorts: number[];
  /** Load-balancer / external IPs seen in KUBE-SERVICES rules for this port. */
  externalIPs: string[];
  endpoints: KubeProxyEndpoint[];
  /** kube-proxy wrote a "has no endpoints" REJECT/DROP rule. */
  noEndpoints: boolean;
}

export interface KubeProxyIptablesView {
  services: KubeProxyServicePort[];
  /** Every KUBE-SVC-/KUBE-SVL-/KUBE-EXT-/KUBE-FW-/KUBE-XLB- chain found (iptables-mode service chains). */
  serviceChains: string[];
  /** Every KUBE-SEP- chain found. */
  endpointChains: string[];
  /** ipsets referenced with match-set (ipvs mode uses KUBE-CLUSTER-IP & co.). */
  matchSets: string[];
}

const SVC_CHAIN = /^KUBE-(?:SVC|SVL|EXT|FW|XLB)-([A-Z0-9]+)$/;

/** `ns/name:port cluster IP` / `ns/name: cluster IP` / `ns/name -> ip:port` → its parts. */
export function commentService(
  comment: string | null,
): { name: string; portName: string | null } | null {
  if (!comment) return null;
  const m =
    /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?)(?::([\w-]*))?(?=\s|$)/.exec(
      comment,
    );
  if (!m) return null;
  return { name: m[1]!, portName: m[4] ? m[4] : null };
}

function stripMask(a: string | null): string | null {
  if (a === null || a.startsWith('!')) return null;
  return a.endsWith('/32') ? a.slice(0, -3) : a.endsWith('/128') ? a.slice(0, -4) : a;
}

/** The empty lists services share (frozen: a copy is made for the first element). */
const NO_NODE_PORTS = Object.freeze([]) as unknown as number[];
const NO_EXTERNAL_IPS = Object.freeze([]) as unknown as string[];

const EXTERNAL_IP = /\b(?:external|loadbalancer) IP\b/;
const CLUSTER_IP = /\bcluster IP\b/;

/** `re` matches the comment; `hint` is a part of every match, looked for first. */
function hasWords(comment: string | null, hint: string, re: RegExp): boolean {
  return comment !== null && comment.includes(hint) && re.test(comment);
}

/** KUBE-SVC-<hash> / KUBE-SVL-<hash>: the hash starts at 9. */
const SVC_OR_SVL = /^KUBE-(?:SVC|SVL)-[A-Z0-9]+$/;

/** `ip:port` / `[v6]:port` / `ip` of a DNAT destination or an `-> ip:port` comment. */
function endpointAddr(s: string): { address: string; port: number | null } {
  const i = s.lastIndexOf(':');
  if (s.startsWith('[')) {
    const e = s.indexOf(']');
    return { address: s.slice(1, e), port: int(s.slice(e + 2)) };
  }
  return i > 0 ? { address: s.slice(0, i), port: int(s.slice(i + 1)) } : { address: s, port: null };
}

/**
 * kube-proxy's view built as the chains go by: `chain(name)` for each chain in table and
 * chain order, then `rule(r)` for each of its rules, then `view()`. Nothing of a rule is kept
 * but what the view needs, so a caller can read 40,000 rules without holding them
 * (`kubeProxyView` feeds it a parsed dump; the streaming JSON writer feeds it line by line).
 * Three steps, as kube-proxy lays the chains out: (1) every chain and jump names the
 * service and endpoint chains, and KUBE-SEP DNAT rules give the endpoints' addresses;
 * (2) KUBE-SERVICES, KUBE-NODEPORTS and KUBE-EXTERNAL-SERVICES give each service's cluster
 * IP, port, node ports and external IPs, in their order; (3) at the end, KUBE-SVC/SVL chains
 * give each service its endpoints (which needs every KUBE-SEP address from step 1).
 */
/**
 * What KubeProxyCollector.rule reads of a rule, by the chain it is in (`needs()`): a caller
 * that builds rules only for the view (the streaming writer) may leave the rest as they
 * were for the rule before: they are not read.
 * Always read: `matchSets`, and `target` when it names a KUBE- chain.
 */
export const NEEDS = {
  /** `target` whatever it is (REJECT/DROP of a service without endpoints). */
  target: 1,
  /** `dnatTo` (a KUBE-SEP chain). */
  dnatTo: 2,
  /** `comment`, `destination`, `dport`, `protocol` (KUBE-SERVICES, -NODEPORTS, -EXTERNAL-SERVICES). */
  entry: 4,
  /**
   * `probability`, whether `matches` has `recent`, and `comment` when keepsComment(target)
   * says so (a KUBE-SVC/SVL chain).
   */
  svc: 8,
} as const;

export class KubeProxyCollector {
  private readonly byHash = new Map<string, KubeProxyServicePort>();
  private readonly services: KubeProxyServicePort[] = [];
  private readonly serviceChains = new Set<string>();
  private readonly endpointChains = new Set<string>();
  private readonly matchSets = new Set<string>();
  /** KUBE-SEP chain → its DNAT destination as written (read into an address in step 3). */
  private readonly sepDnat = new Map<string, string>();
  /**
   * Step 3's input, kept flat (no object per rule or chain: 5,000 Services are 15,000 such
   * rules, which would all live until the end): each KUBE-SVC/SVL chain's name and the
   * index of its first rule in the rule columns, which hold the few fields step 3 reads.
   */
  private readonly svcNames: string[] = [];
  private readonly svcFirst: number[] = [];
  private readonly ruleTarget: Array<string | null> = [];
  private readonly ruleComment: Array<string | null> = [];
  /** The rule's probability, NaN when it has none. */
  private readonly ruleProbability: number[] = [];
  /** 1 when the rule uses `-m recent` (kube-proxy's session affinity). */
  private readonly ruleRecent: number[] = [];
  private name = '';
  private isSep = false;
  /** The chain is KUBE-SERVICES, KUBE-NODEPORTS or KUBE-EXTERNAL-SERVICES. */
  private isEntry = false;
  /** The chain is a KUBE-SVC/SVL chain: its rules go to the rule columns. */
  private inSvc = false;
  /** That chain's service is known already, with its name and port name. */
  private svcNamed = false;

  chain(name: string): void {
    this.name = name;
    if (isSvcChain(name)) this.serviceChains.add(name);
    this.isSep = name.startsWith('KUBE-SEP-');
    if (this.isSep) this.endpointChains.add(name);
    this.isEntry =
      name === 'KUBE-SERVICES' || name === 'KUBE-NODEPORTS' || name === 'KUBE-EXTERNAL-SERVICES';
    this.inSvc = name.startsWith('KUBE-SV') && SVC_OR_SVL.test(name);
    if (this.inSvc) {
      this.svcNames.push(name);
      this.svcFirst.push(this.ruleTarget.length);
      const s = this.byHash.get(name.slice(9));
      this.svcNamed = s !== undefined && s.name !== null && s.portName !== null;
    }
  }

  /**
   * Whether a rule of the KUBE-SVC/SVL chain named last, jumping to `target`, has its
   * comment kept for step 3 (see rule()); a caller that makes the comment only for the view
   * can skip making it when not.
   */
  keepsComment(target: string | null): boolean {
    return (
      !this.svcNamed ||
      (target !== null && target.startsWith('KUBE-SEP-') && !this.sepDnat.has(target))
    );
  }

  /** The NEEDS bits of the chain named last. */
  needs(): number {
    if (this.isEntry) return NEEDS.target | NEEDS.entry;
    if (this.inSvc) return NEEDS.svc;
    return this.isSep ? NEEDS.dnatTo : 0;
  }

  rule(r: IptablesRule): void {
    const name = this.name;
    if (this.isSep && r.dnatTo && !this.sepDnat.has(name)) this.sepDnat.set(name, r.dnatTo);
    const sets = r.matchSets;
    for (let i = 0; i < sets.length; i++) this.matchSets.add(sets[i]!.name);
    const t = r.target;
    /** The hash of the service chain the rule jumps to (KUBE-SVC-<hash>, KUBE-EXT-<hash>…). */
    let svcHash: string | null = null;
    if (t !== null && t.startsWith('KUBE-')) {
      if (t.startsWith('KUBE-SEP-')) this.endpointChains.add(t);
      else if (isSvcChain(t)) {
        this.serviceChains.add(t);
        svcHash = t.slice(t.indexOf('-', 5) + 1);
      }
    }
    if (this.isEntry) this.entryRule(name, r, svcHash);
    if (this.inSvc) {
      this.ruleTarget.push(r.target);
      // Step 3 reads a comment for a service's name and port name while they are unknown,
      // and for an endpoint's address when its KUBE-SEP chain has no DNAT: once both are
      // known here (KUBE-SERVICES and the KUBE-SEP chains came first, as kube-proxy writes
      // them) they stay known, and the comment is not kept (15,000 fewer strings to carry
      // for 5,000 Services).
      this.ruleComment.push(this.keepsComment(t) ? r.comment : null);
      this.ruleProbability.push(r.probability ?? NaN);
      this.ruleRecent.push(r.matches.includes('recent') ? 1 : 0);
    }
  }

  private newPort(): KubeProxyServicePort {
    return {
      name: null,
      portName: null,
      clusterIP: null,
      port: null,
      protocol: null,
      chain: null,
      // Most services have no node port or external IP: they share one empty list each until
      // they get one (a 5,000-service view is then 10,000 objects fewer to keep and collect).
      nodePorts: NO_NODE_PORTS,
      externalIPs: NO_EXTERNAL_IPS,
      endpoints: [],
      noEndpoints: false,
    };
  }

  private forHash(hash: string): KubeProxyServicePort {
    let s = this.byHash.get(hash);
    if (!s) {
      s = this.newPort();
      this.byHash.set(hash, s);
      this.services.push(s);
    }
    return s;
  }

  /** Step 2: a rule of KUBE-SERVICES, KUBE-NODEPORTS or KUBE-EXTERNAL-SERVICES. */
  private entryRule(name: string, r: IptablesRule, svcHash: string | null): void {
    const cs = commentService(r.comment);
    if (svcHash !== null) {
      const s = this.forHash(svcHash);
      if (cs) {
        s.name ??= cs.name;
        s.portName ??= cs.portName;
      }
      const ip = stripMask(r.destination);
      const isClusterRule = r.target!.startsWith('KUBE-SVC-') || r.target!.startsWith('KUBE-SVL-');
      if (name === 'KUBE-NODEPORTS') {
        const np = int(r.dport ?? undefined);
        if (np !== null && !s.nodePorts.includes(np))
          s.nodePorts = s.nodePorts === NO_NODE_PORTS ? [np] : [...s.nodePorts, np];
      } else if (!isClusterRule || hasWords(r.comment, ' IP', EXTERNAL_IP)) {
        if (ip && !s.externalIPs.includes(ip))
          s.externalIPs = s.externalIPs === NO_EXTERNAL_IPS ? [ip] : [...s.externalIPs, ip];
      } else if (s.clusterIP === null || hasWords(r.comment, 'cluster IP', CLUSTER_IP)) {
        s.chain ??= r.target!;
        s.clusterIP = ip;
        s.port = int(r.dport ?? undefined);
        s.protocol = r.protocol;
      }
    } else if (
      (r.target === 'REJECT' || r.target === 'DROP') &&
      cs &&
      /has no endpoints/.test(r.comment ?? '')
    ) {
      const key = `noep:${cs.name}:${cs.portName ?? ''}`;
      let s = this.byHash.get(key);
      if (!s) {
        s = this.newPort();
        s.name = cs.name;
        s.portName = cs.portName;
        this.byHash.set(key, s);
        this.services.push(s);
      }
      s.noEndpoints = true;
      if (name === 'KUBE-SERVICES') {
        s.clusterIP ??= stripMask(r.destination);
        s.port ??= int(r.dport ?? undefined);
        s.protocol ??= r.protocol;
      }
    }
  }

  /** The `-> ip:port` of a KUBE-SVC rule's comment, for an endpoint without its KUBE-SEP chain. */
  private commentAddr(comment: string | null): { address: string; port: number | null } | null {
    const m = /->\s*(\S+)$/.exec(comment ?? '');
    return m ? endpointAddr(m[1]!) : null;
  }

  /** Step 3 (service chains → endpoints) and the view. */
  view(): KubeProxyIptablesView {
    const { svcNames, svcFirst, ruleTarget, ruleComment, ruleProbability, ruleRecent } = this;
    for (let c = 0; c < svcNames.length; c++) {
      const name = svcNames[c]!;
      const s = this.forHash(name.slice(9));
      s.chain ??= name;
      if (s.chain !== name) continue;
      let remaining = 1;
      const eps = s.endpoints;
      const first = eps.length;
      /** The endpoint chains taken (a Set only once there are many: most services have 1–3). */
      let seen: Set<string> | null = null;
      const end = c + 1 < svcNames.length ? svcFirst[c + 1]! : ruleTarget.length;
      for (let i = svcFirst[c]!; i < end; i++) {
        const comment = ruleComment[i]!;
        const cs = s.name === null || s.portName === null ? commentService(comment) : null;
        if (cs) {
          s.name ??= cs.name;
          if (!/->/.test(comment ?? '')) s.portName ??= cs.portName;
        }
        const target = ruleTarget[i]!;
        if (target === null || !target.startsWith('KUBE-SEP-') || ruleRecent[i]) continue;
        if (seen !== null) {
          if (seen.has(target)) continue;
          seen.add(target);
        } else {
          let dup = false;
          for (let k = first; k < eps.length && !dup; k++) dup = eps[k]!.chain === target;
          if (dup) continue;
          if (eps.length - first >= 16) seen = new Set(eps.slice(first).map((e) => e.chain));
          seen?.add(target);
        }
        const dnat = this.sepDnat.get(target);
        const a = dnat !== undefined ? endpointAddr(dnat) : this.commentAddr(comment);
        const p = ruleProbability[i]!;
        const probability = Number.isNaN(p) ? null : p;
        const share = remaining * (probability ?? 1);
        remaining -= share;
        eps.push({
          chain: target,
          address: a?.address ?? null,
          port: a?.port ?? null,
          probability,
          share: Math.round(share * 1e6) / 1e6,
        });
      }
    }
    return {
      services: this.services,
      // In the order the input shows them (sorting 10,000 names costs more than the rest).
      serviceChains: [...this.serviceChains],
      endpointChains: [...this.endpointChains],
      matchSets: [...this.matchSets].sort(),
    };
  }
}

/**
 * KUBE-SVC/SVL/EXT/FW/XLB-…: the letter after `KUBE-` rules out the most common other names
 * (KUBE-SEP-…, KUBE-SERVICES, KUBE-MARK-MASQ, KUBE-NODEPORTS…) before any regex.
 */
function isSvcChain(n: string): boolean {
  if (!n.startsWith('KUBE-')) return false;
  const c = n.charCodeAt(5);
  return (
    (c === 83 /* S */ ? n.charCodeAt(6) === 86 /* V */ : c === 69 || c === 70 || c === 88) &&
    SVC_CHAIN.test(n)
  );
}

export function kubeProxyView(dump: IptablesDump): KubeProxyIptablesView {
  const v = new KubeProxyCollector();
  for (const tn in dump.tables) {
    const cs = dump.tables[tn]!.chains;
    for (const n in cs) {
      v.chain(n);
      for (const r of cs[n]!.rules) v.rule(r);
    }
  }
  return v.view();
}
