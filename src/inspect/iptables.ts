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
  matches: string[];
  comment: string | null;
  matchSets: MatchSet[];
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
}

export interface ParseIptablesOptions {
  /** Table to file rules under when the input does not say (default "unknown"). */
  table?: string;
}

let lastTables: Record<string, IptablesTable> | null = null;
let lastTableName = '';
let lastChainName = '';
let lastChain: IptablesChain | null = null;

function chainOf(
  tables: Record<string, IptablesTable>,
  table: string,
  chain: string,
): IptablesChain {
  // Consecutive rules mostly share a chain: remember the last one.
  if (lastTables === tables && lastChain && lastChainName === chain && lastTableName === table)
    return lastChain;
  const c = chainOfSlow(tables, table, chain);
  lastTables = tables;
  lastTableName = table;
  lastChainName = chain;
  lastChain = c;
  return c;
}

function chainOfSlow(
  tables: Record<string, IptablesTable>,
  table: string,
  chain: string,
): IptablesChain {
  const t = (tables[table] ??= { chains: Object.create(null) as Record<string, IptablesChain> });
  let c = t.chains[chain];
  if (!c) {
    c = { policy: null, counters: null, references: null, rules: [] };
    t.chains[chain] = c;
  }
  return c;
}

/** Split an iptables-save line into words, honouring double quotes and backslash escapes; null if a quote is left open. */
export function saveWords(line: string): string[] | null {
  if (!line.includes('"')) return fields(line);
  if (line.includes('\t')) return saveWordsSlow(line);
  // iptables-save separates words with one space and quotes only whole words (--comment "…").
  const parts = line.split(' ');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p === '') continue;
    if (p.charCodeAt(0) === 34) {
      let w = p;
      while (!closesQuote(w)) {
        if (++i >= parts.length) return null;
        w += ` ${parts[i]!}`;
      }
      const inner = w.slice(1, -1);
      out.push(inner.includes('\\') ? inner.replace(/\\(.)/g, '$1') : inner);
    } else if (p.includes('"')) {
      return saveWordsSlow(line);
    } else out.push(p);
  }
  return out;
}

function closesQuote(w: string): boolean {
  if (w.length < 2 || w.charCodeAt(w.length - 1) !== 34) return false;
  let back = 0;
  for (let k = w.length - 2; k >= 1 && w.charCodeAt(k) === 92; k--) back++;
  return back % 2 === 0;
}

const QUOTED_WORD = /(?:[^\s"]+|"(?:[^"\\]|\\.)*")+/g;
const QUOTED_PART = /"((?:[^"\\]|\\.)*)"/g;

function saveWordsSlow(line: string): string[] | null {
  if ((line.match(/(?<!\\)"/g)?.length ?? 0) % 2 === 1) return null;
  const words = line.match(QUOTED_WORD) ?? [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.includes('"'))
      words[i] = w.replace(QUOTED_PART, (_m, inner: string) => inner.replace(/\\(.)/g, '$1'));
  }
  return words;
}

function emptyRule(raw: string, line: number): IptablesRule {
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

/** Parse one `-A CHAIN ...` rule (save / -S syntax). Returns [chain, rule] or null. */
function saveRule(words: string[], raw: string, line: number): [string, IptablesRule] | null {
  let i = 0;
  let counters: Counters | null = null;
  // iptables-save -c: `[12:345] -A CHAIN ...`
  const cm = /^\[(\d+):(\d+)\]$/.exec(words[0] ?? '');
  if (cm) {
    counters = { packets: Number(cm[1]), bytes: Number(cm[2]) };
    i = 1;
  }
  if (words[i] !== '-A' && words[i] !== '-I' && words[i] !== '--append') return null;
  const chain = words[i + 1];
  if (!chain || chain.startsWith('-')) return null;
  i += 2;
  if (words[0] === '-I' && int(words[i]) !== null) i++;
  const r = emptyRule(raw, line);
  r.counters = counters;
  let neg = false;
  for (; i < words.length; i++) {
    const w = words[i]!;
    switch (w) {
      case '!':
        neg = true;
        continue;
      case '-s':
      case '--source':
        r.source = neg ? `!${words[++i] ?? ''}` : (words[++i] ?? null);
        break;
      case '-d':
      case '--destination':
        r.destination = neg ? `!${words[++i] ?? ''}` : (words[++i] ?? null);
        break;
      case '-p':
      case '--protocol':
        r.protocol = neg ? `!${words[++i] ?? ''}` : (words[++i] ?? null);
        break;
      case '-i':
      case '--in-interface':
        r.inInterface = neg ? `!${words[++i] ?? ''}` : (words[++i] ?? null);
        break;
      case '-o':
      case '--out-interface':
        r.outInterface = neg ? `!${words[++i] ?? ''}` : (words[++i] ?? null);
        break;
      case '-m':
      case '--match': {
        const m = words[++i];
        if (m !== undefined) r.matches.push(m);
        break;
      }
      case '-j':
      case '--jump':
        r.target = words[++i] ?? null;
        break;
      case '-g':
      case '--goto':
        r.target = words[++i] ?? null;
        r.goto = true;
        break;
      case '--comment':
        r.comment = words[++i] ?? null;
        break;
      case '--match-set': {
        const name = words[++i];
        const flags = words[++i];
        if (name !== undefined && flags !== undefined)
          r.matchSets.push({ name, flags, negated: neg });
        break;
      }
      case '--probability': {
        const p = words[++i];
        r.probability = p !== undefined && NUM.test(p) ? Number(p) : null;
        break;
      }
      case '--dport':
      case '--destination-port':
        r.dport = neg ? `!${words[++i] ?? ''}` : (words[++i] ?? null);
        break;
      case '--to-destination':
        r.dnatTo = words[++i] ?? null;
        break;
      default:
        // Other options: skip their values (words not starting with '-').
        if (w.startsWith('-')) {
          while (
            words[i + 1] !== undefined &&
            !words[i + 1]!.startsWith('-') &&
            words[i + 1] !== '!'
          )
            i++;
        }
    }
    neg = false;
  }
  return [chain, r];
}

/** Read the text after the columns of an -L rule line: comment, match-set, statistic, DNAT. */
function listExtras(r: IptablesRule, extra: string): void {
  let text = extra;
  const cm = /\/\*\s?(.*?)\s?\*\//.exec(text);
  if (cm) {
    r.comment = cm[1]!;
    text = text.slice(0, cm.index) + text.slice(cm.index + cm[0].length);
    r.matches.push('comment');
  }
  const setRe = /(!\s*)?match-set (\S+) (\S+)/g;
  for (let m = setRe.exec(text); m; m = setRe.exec(text)) {
    r.matchSets.push({ name: m[2]!, flags: m[3]!, negated: Boolean(m[1]) });
  }
  if (r.matchSets.length) r.matches.push('set');
  const p = /statistic mode random probability (\S+)/.exec(text);
  if (p && NUM.test(p[1]!)) {
    r.probability = Number(p[1]);
    r.matches.push('statistic');
  }
  const to = /(?:^|\s)to:(\S+)/.exec(text);
  if (to) r.dnatTo = to[1]!;
  const dpt = /(?:^|\s)(?:(tcp|udp|sctp) )?dpts?:(\S+)/.exec(text);
  if (dpt) {
    r.dport = dpt[2]!;
    if (dpt[1]) r.matches.push(dpt[1]);
  }
  if (/\bADDRTYPE match\b/.test(text)) r.matches.push('addrtype');
  if (/\bctstate\b/.test(text)) r.matches.push('conntrack');
  if (/\bmark match\b/.test(text)) r.matches.push('mark');
  if (/\brecent:/.test(text)) r.matches.push('recent');
}

interface ListHeader {
  verbose: boolean;
  lineNumbers: boolean;
}

const OPT = /^(?:--|-f|!f)$/;

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
  } else return null;
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
  };
  const fmt = (f: IptablesFormat) => {
    if (!out.formats.includes(f)) out.formats.push(f);
  };
  let table = fallbackTable;
  let recognized = 0;
  let listChain: IptablesChain | null = null;
  let header: ListHeader | null = null;
  let lastListRule: IptablesRule | null = null;

  const lines = toLines(input);
  for (let li = 0; li < lines.length; li++) {
    const no = li + 1;
    const rawText = lines[li]!;
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
      out.tables[table] ??= { chains: Object.create(null) as Record<string, IptablesChain> };
      fmt('save');
      recognized++;
      listChain = null;
      continue;
    }
    if (first === ':') {
      const m = /^:(\S+) (\S+) \[(\d+):(\d+)\]$/.exec(line);
      if (m) {
        const c = chainOf(out.tables, table, m[1]!);
        c.policy = m[2] === '-' ? null : m[2]!;
        c.counters = { packets: Number(m[3]), bytes: Number(m[4]) };
        fmt('save');
        recognized++;
        continue;
      }
    }
    if (first === '#') {
      if (/^# (?:Generated by|Completed on|Warning: )/.test(line)) recognized++;
      continue;
    }
    if (line === 'COMMIT') {
      recognized++;
      continue;
    }
    if (first === '-' || first === '[') {
      const trimmed = line.includes('#') ? stripAnnotation(line).trim() : line;
      const words = saveWords(trimmed);
      if (words) {
        if ((words[0] === '-P' || words[0] === '--policy') && words.length === 3) {
          chainOf(out.tables, table, words[1]!).policy = words[2]!;
          fmt('save');
          recognized++;
          continue;
        }
        if ((words[0] === '-N' || words[0] === '--new-chain') && words.length === 2) {
          chainOf(out.tables, table, words[1]!);
          fmt('save');
          recognized++;
          continue;
        }
        const sr = saveRule(words, trimmed, no);
        if (sr) {
          chainOf(out.tables, table, sr[0]).rules.push(sr[1]);
          out.ruleCount++;
          fmt('save');
          recognized++;
          continue;
        }
      }
    }
    // -L layout.
    const t = line;
    const ch =
      /^Chain (\S+) \((?:policy (\S+)(?: (\d+\w?) packets, (\d+\w?) bytes)?|(\d+) references)\)$/.exec(
        t,
      );
    if (ch) {
      listChain = chainOf(out.tables, table, ch[1]!);
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
      header = { lineNumbers: Boolean(hm[1]), verbose: Boolean(hm[2]) };
      fmt('list');
      recognized++;
      continue;
    }
    if (listChain && header) {
      const r = listRule(rawText, header, no);
      if (r) {
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
  return a.replace(/\/(?:32|128)$/, '');
}

export function kubeProxyView(dump: IptablesDump): KubeProxyIptablesView {
  const byHash = new Map<string, KubeProxyServicePort>();
  const services: KubeProxyServicePort[] = [];
  const serviceChains = new Set<string>();
  const endpointChains = new Set<string>();
  const matchSets = new Set<string>();
  const sepAddr = new Map<string, { address: string; port: number | null }>();
  const chains: [string, IptablesChain][] = [];
  for (const t of Object.values(dump.tables))
    for (const [n, c] of Object.entries(t.chains)) chains.push([n, c]);

  const newPort = (): KubeProxyServicePort => ({
    name: null,
    portName: null,
    clusterIP: null,
    port: null,
    protocol: null,
    chain: null,
    nodePorts: [],
    externalIPs: [],
    endpoints: [],
    noEndpoints: false,
  });
  const forHash = (hash: string): KubeProxyServicePort => {
    let s = byHash.get(hash);
    if (!s) {
      s = newPort();
      byHash.set(hash, s);
      services.push(s);
    }
    return s;
  };
  const addr = (s: string) => {
    const i = s.lastIndexOf(':');
    if (s.startsWith('[')) {
      const e = s.indexOf(']');
      return { address: s.slice(1, e), port: int(s.slice(e + 2)) };
    }
    return i > 0
      ? { address: s.slice(0, i), port: int(s.slice(i + 1)) }
      : { address: s, port: null };
  };

  for (const [name, c] of chains) {
    if (SVC_CHAIN.test(name)) serviceChains.add(name);
    if (name.startsWith('KUBE-SEP-')) {
      endpointChains.add(name);
      for (const r of c.rules)
        if (r.dnatTo && !sepAddr.has(name)) sepAddr.set(name, addr(r.dnatTo));
    }
    for (const r of c.rules) {
      for (const ms of r.matchSets) matchSets.add(ms.name);
      if (r.target?.startsWith('KUBE-SEP-')) endpointChains.add(r.target);
      if (r.target && SVC_CHAIN.test(r.target)) serviceChains.add(r.target);
    }
  }

  // KUBE-SERVICES: cluster IPs (and external IPs), or "has no endpoints" rejects.
  for (const [name, c] of chains) {
    if (name !== 'KUBE-SERVICES' && name !== 'KUBE-NODEPORTS' && name !== 'KUBE-EXTERNAL-SERVICES')
      continue;
    for (const r of c.rules) {
      const cs = commentService(r.comment);
      const m = r.target ? SVC_CHAIN.exec(r.target) : null;
      if (m) {
        const s = forHash(m[1]!);
        if (cs) {
          s.name ??= cs.name;
          s.portName ??= cs.portName;
        }
        const ip = stripMask(r.destination);
        const isClusterRule =
          r.target!.startsWith('KUBE-SVC-') || r.target!.startsWith('KUBE-SVL-');
        if (name === 'KUBE-NODEPORTS') {
          const np = int(r.dport ?? undefined);
          if (np !== null && !s.nodePorts.includes(np)) s.nodePorts.push(np);
        } else if (/\b(?:external|loadbalancer) IP\b/.test(r.comment ?? '') || !isClusterRule) {
          if (ip && !s.externalIPs.includes(ip)) s.externalIPs.push(ip);
        } else if (s.clusterIP === null || /\bcluster IP\b/.test(r.comment ?? '')) {
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
        let s = byHash.get(key);
        if (!s) {
          s = newPort();
          s.name = cs.name;
          s.portName = cs.portName;
          byHash.set(key, s);
          services.push(s);
        }
        s.noEndpoints = true;
        if (name === 'KUBE-SERVICES') {
          s.clusterIP ??= stripMask(r.destination);
          s.port ??= int(r.dport ?? undefined);
          s.protocol ??= r.protocol;
        }
      }
    }
  }

  // Service chains → endpoints.
  for (const [name, c] of chains) {
    const m = /^KUBE-(?:SVC|SVL)-([A-Z0-9]+)$/.exec(name);
    if (!m) continue;
    const s = forHash(m[1]!);
    s.chain ??= name;
    if (s.chain !== name) continue;
    let remaining = 1;
    const seen = new Set<string>();
    for (const r of c.rules) {
      const cs = commentService(r.comment);
      if (cs) {
        s.name ??= cs.name;
        if (!/->/.test(r.comment ?? '')) s.portName ??= cs.portName;
      }
      if (!r.target?.startsWith('KUBE-SEP-') || r.matches.includes('recent') || seen.has(r.target))
        continue;
      seen.add(r.target);
      const fromComment = /->\s*(\S+)$/.exec(r.comment ?? '');
      const a = sepAddr.get(r.target) ?? (fromComment ? addr(fromComment[1]!) : null);
      const share = remaining * (r.probability ?? 1);
      remaining -= share;
      s.endpoints.push({
        chain: r.target,
        address: a?.address ?? null,
        port: a?.port ?? null,
        probability: r.probability,
        share: Math.round(share * 1e6) / 1e6,
      });
    }
  }
  return {
    services,
    // In the order the input shows them (sorting 10,000 names costs more than the rest).
    serviceChains: [...serviceChains],
    endpointChains: [...endpointChains],
    matchSets: [...matchSets].sort(),
  };
}
