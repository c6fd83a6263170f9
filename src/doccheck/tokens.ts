/**
 * Splits one line of terminal output into literal text and volatile tokens.
 *
 * Expected outputs in the lab docs stay concrete (real IPs, real pod names). What changes
 * from one run to the next is recognised here and given a class:
 *
 * - bound classes (`ip`, `mac`, `hash`, `chain`, `ifindex`, `nodeport`): the doc value is
 *   renamed to the actual value, consistently across the whole lab run (see bindings.ts);
 * - free classes (`age`, `time`, `counter`): any value of that class matches;
 * - `any`: the explicit inline wildcard `[..]` written by the doc author.
 *
 * Everything else is literal and must be equal (whitespace runs collapse to one space,
 * trailing spaces are ignored): ports, protocols, schedulers, flags, forward methods,
 * weights, chain-name prefixes, mode words.
 */

export type BoundClass = 'ip' | 'mac' | 'hash' | 'chain' | 'ifindex' | 'nodeport';
export type FreeClass = 'age' | 'time' | 'counter';
export type TokenClass = BoundClass | FreeClass;

export const BOUND_CLASSES: readonly BoundClass[] = [
  'ip',
  'mac',
  'hash',
  'chain',
  'ifindex',
  'nodeport',
];
export const FREE_CLASSES: readonly FreeClass[] = ['age', 'time', 'counter'];

export function isBound(c: TokenClass): c is BoundClass {
  return (BOUND_CLASSES as readonly string[]).includes(c);
}

/** What a class is called in messages. */
export const CLASS_LABEL: Record<TokenClass, string> = {
  ip: 'IP address',
  mac: 'MAC address',
  hash: 'pod/ReplicaSet hash',
  chain: 'chain hash',
  ifindex: 'interface index',
  nodeport: 'NodePort',
  age: 'age',
  time: 'timestamp',
  counter: 'counter',
};

export type Segment =
  | { kind: 'lit'; text: string }
  | { kind: 'var'; cls: TokenClass; text: string }
  | { kind: 'any' }
  | { kind: 'num'; op: ValueOp; value: number; text: string };

/**
 * "This value matters": a number the lesson depends on, written in the doc as `[=0]`
 * (exactly 0), `[>0]` (more than 0) or `[<5]` (less than 5). Counters are otherwise free
 * (any value matches); a marked one is compared. ipvsadm's K/M/G/T suffixes count 1000s.
 */
export type ValueOp = '=' | '<' | '>';
export const VALUE_MARKER = /\[([=<>])(\d+)\]/g;

/** Whether a doc line holds a `[..]` or a value marker (it is kept as written by --update). */
export function hasMarkers(line: string): boolean {
  return line.includes(INLINE_WILDCARD) || new RegExp(VALUE_MARKER.source).test(line);
}

/** Whether `actual` (digits, maybe with a K/M/G/T suffix) satisfies `op value`. */
export function valueHolds(op: ValueOp, value: number, actual: string): boolean {
  const m = /^(\d+)([KMGT]?)$/.exec(actual);
  if (!m) return false;
  const n = Number(m[1]) * 1000 ** ' KMGT'.indexOf(m[2] || ' ');
  return op === '=' ? n === value : op === '<' ? n < value : n > value;
}

/** The explicit inline wildcard: matches any text within the line (possibly none). */
export const INLINE_WILDCARD = '[..]';
/** A line holding only this matches any number of lines (possibly none). */
export const ELLIPSIS = '...';

export function isEllipsis(line: string): boolean {
  return line.trim() === ELLIPSIS;
}

/** Values that mean the same thing on every machine: kept literal, never renamed. */
const FIXED_VALUES = new Set([
  '0.0.0.0',
  '127.0.0.1',
  '255.255.255.255',
  '::',
  '::1',
  'ff:ff:ff:ff:ff:ff',
  '00:00:00:00:00:00',
]);

interface Span {
  start: number;
  end: number;
  cls: TokenClass | 'lit';
}

/** Kubernetes' random suffix alphabet (no vowels, no 0/1/3): see apimachinery's rand.String. */
const K = '[bcdfghjklmnpqrstvwxz2456789]';
/** 5-letter words that use that alphabet but are not pod suffixes. */
const NOT_POD_SUFFIX = new Set(['https', 'nginx', 'ctstt']);

/** Context rules: spans whose meaning depends on the shape of the line. */
function contextSpans(line: string): Span[] {
  const spans: Span[] = [];
  const add = (re: RegExp, cls: TokenClass, groups: number[]) => {
    const m = re.exec(line);
    if (!m || m.indices === undefined) return;
    for (const g of groups) {
      const r = m.indices[g];
      // a value marker ([=0]) in a counter's place is the marker, not a counter
      if (r && line[r[0]] !== '[') spans.push({ start: r[0], end: r[1], cls });
    }
  };
  // klog header: I1031 00:39:54.832710       1 server_others.go:170]
  // The severity letter stays literal (an E line is not an I line). Each part on its own,
  // so a doc line that leaves the source location open (`1 [..] "Using …"`) lexes its time
  // and thread id as the output line does.
  add(/^[IWEF](\d{4} \d{2}:\d{2}:\d{2}\.\d+)\s/d, 'time', [1]);
  add(/^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+(\d+) /d, 'time', [1]);
  add(/^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ ([\w.-]+\.go:\d+)\]/d, 'time', [1]);
  // ipvsadm real server: -> 10.244.1.6:80   Masq    1      0          0   (ActiveConn, InActConn)
  // (a doc may put a value marker, [=0] [>0] [<5], in a counter's place)
  add(
    /^\s*->\s+\S+\s+(?:Masq|Route|Tunnel|Local|FullNat|Bypass)\s+\d+\s+(\d+|\[[=<>]\d+\])\s+(\d+|\[[=<>]\d+\])\s*$/d,
    'counter',
    [1, 2],
  );
  // ipvsadm --stats / --rate rows: five numbers after the address
  add(
    /^\s*(?:(?:TCP|UDP|SCTP|FWM)\s+|->\s+)\S+\s+(\d+[KMGT]?|\[[=<>]\d+\])\s+(\d+[KMGT]?|\[[=<>]\d+\])\s+(\d+[KMGT]?|\[[=<>]\d+\])\s+(\d+[KMGT]?|\[[=<>]\d+\])\s+(\d+[KMGT]?|\[[=<>]\d+\])\s*$/d,
    'counter',
    [1, 2, 3, 4, 5],
  );
  // iptables -v rule rows: pkts bytes target ...
  add(/^\s*(\d+[KMGT]?)\s+(\d+[KMGT]?)\s+[A-Za-z_-]/d, 'counter', [1, 2]);
  add(/\(policy \w+ (\d+) packets, (\d+) bytes\)/d, 'counter', [1, 2]);
  add(/^Chain \S+ \((\d+) references?\)/d, 'counter', [1]);
  // iptables-save chain counters: :KUBE-SERVICES - [0:0]
  add(/^:\S+ \S+ \[(\d+):(\d+)\]/d, 'counter', [1, 2]);
  // ipset list header
  add(/^(?:Size in memory|References): (\d+)/d, 'counter', [1]);
  // ip addr / ip link: "4: kube-ipvs0: <...>" and veth peers "eth0@if12:"
  add(/^(\d+): [\w.-]+(?:@(?:if)?(\d+))?:/d, 'ifindex', [1, 2]);
  return spans;
}

interface Rule {
  re: RegExp;
  /** Returns spans for one match (relative to the line), or null to treat as literal. */
  spans(m: RegExpExecArray): Span[] | null;
}

function whole(cls: TokenClass) {
  return (m: RegExpExecArray): Span[] => [{ start: m.index, end: m.index + m[0].length, cls }];
}

function groupSpans(pairs: Array<[number, TokenClass | 'lit']>) {
  return (m: RegExpExecArray): Span[] =>
    pairs.flatMap(([g, cls]) => {
      const r = m.indices?.[g];
      return r ? [{ start: r[0], end: r[1], cls }] : [];
    });
}

const MONTHS = 'Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec';
const DAYS = 'Mon|Tue|Wed|Thu|Fri|Sat|Sun';

const RULES: Rule[] = [
  // RFC 3339 timestamps
  {
    re: /\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?/dy,
    spans: whole('time'),
  },
  // "Sat Nov 21 22:36:19 2026" (iptables-save headers, date)
  {
    re: new RegExp(
      `(?:${DAYS}) (?:${MONTHS}) +\\d{1,2} \\d{2}:\\d{2}:\\d{2}(?: [A-Z]{2,5})? \\d{4}`,
      'dy',
    ),
    spans: whole('time'),
  },
  // clock times 22:36:19(.123)
  { re: /(?<![\w:.])\d{1,2}:\d{2}:\d{2}(?:\.\d+)?(?![\w:])/dy, spans: whole('time') },
  // MAC addresses
  {
    re: /(?<![\w:])[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}(?![\w:])/dy,
    spans: (m) => (FIXED_VALUES.has(m[0].toLowerCase()) ? null : whole('mac')(m)),
  },
  // IPv6 addresses (need "::" or all eight groups), optional /prefix kept literal
  {
    re: /(?<![\w:.])((?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|(?:[0-9a-fA-F]{1,4}:){0,6}(?:[0-9a-fA-F]{1,4})?::(?:[0-9a-fA-F]{1,4}:){0,6}[0-9a-fA-F]{0,4})(?![\w:])/dy,
    spans: (m) => {
      const v = m[1] ?? '';
      if (FIXED_VALUES.has(v) || !/[0-9a-fA-F]/.test(v)) return null;
      return groupSpans([[1, 'ip']])(m);
    },
  },
  // IPv4 addresses, optional /prefix kept literal; also right after "__", where kube-proxy's
  // nftables endpoint chains put the pod IP (endpoint-<hash>-default/web/tcp/http__10.244.1.3/80,
  // pkg/proxy/nftables/proxier.go servicePortEndpointChainNameBase): a pod on another IP is
  // the same chain renamed, not a different line
  {
    re: /(?:(?<=__)|(?<![\w.]))(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?![\w]|\.\d)/dy,
    spans: (m) => {
      const v = m[1] ?? '';
      if (FIXED_VALUES.has(v) || v.split('.').some((o) => Number(o) > 255)) return null;
      return groupSpans([[1, 'ip']])(m);
    },
  },
  // kube-proxy chain names: KUBE-SVC-JTMI3DYZIM6D5ZYY (prefix literal, hash renamed)
  {
    re: /(?<![\w-])KUBE-(?:SVC|SEP|SVL|EXT|FW|XLB|SVCX|FWX)-([A-Z0-9]{16})(?![\w-])/dy,
    spans: groupSpans([[1, 'chain']]),
  },
  // kube-proxy nftables chains: service-SUSTUHLJ-default/web/tcp/http, endpoint-…__10.244.1.3/80
  {
    re: /(?<![\w-])(?:service|endpoint|external|firewall|cluster-ips|firewall-ips)-([A-Z0-9]{8})-(?=[a-z0-9])/dy,
    spans: groupSpans([[1, 'chain']]),
  },
  // Deployment pods: web-96d5df5c8-6bgpr (name literal, both hashes renamed)
  {
    re: new RegExp(
      `(?<![\\w.-])[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-(${K}{6,10})-(${K}{5})(?![\\w-])`,
      'dy',
    ),
    spans: groupSpans([
      [1, 'hash'],
      [2, 'hash'],
    ]),
  },
  // ReplicaSets: web-96d5df5c8 (hash has a digit)
  {
    re: new RegExp(`(?<![\\w.-])[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-(${K}{8,10})(?![\\w-])`, 'dy'),
    spans: (m) => (/\d/.test(m[1] ?? '') ? groupSpans([[1, 'hash']])(m) : null),
  },
  // DaemonSet pods: kube-proxy-4n6nd
  {
    re: new RegExp(`(?<![\\w.-])[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-(${K}{5})(?![\\w-])`, 'dy'),
    spans: (m) => (NOT_POD_SUFFIX.has(m[1] ?? '') ? null : groupSpans([[1, 'hash']])(m)),
  },
  // ages: 111s, 24m, 3d9h, 5m59s (kubectl AGE, "(128m ago)")
  { re: /(?<![\w.:/=-])\d+(?:d|h|m|s)(?:\d+(?:h|m|s))*(?![\w.:/%-])/dy, spans: whole('age') },
  // NodePorts: an integer in 30000-32767 standing alone or as a port
  {
    re: /(?<![\w.])(3[0-2]\d{3})(?![\w.])/dy,
    spans: (m) => {
      const n = Number(m[1]);
      return n >= 30000 && n <= 32767 ? groupSpans([[1, 'nodeport']])(m) : null;
    },
  },
];

/** Characters that can start a token (cheap pre-filter for the scanner). */
const TOKEN_START = /[0-9a-fA-F:A-Za-z]/;

/** Lex one line into segments. Whitespace runs collapse to one space; ends are trimmed. */
export function lexLine(raw: string, opts: { wildcards?: boolean } = {}): Segment[] {
  const line = raw.replace(/\s+$/, '');
  const ctx = contextSpans(line);
  const spans: Span[] = [...ctx];
  // wildcards
  if (opts.wildcards) {
    let from = 0;
    for (;;) {
      const i = line.indexOf(INLINE_WILDCARD, from);
      if (i < 0) break;
      spans.push({ start: i, end: i + INLINE_WILDCARD.length, cls: 'lit' });
      from = i + INLINE_WILDCARD.length;
    }
  }
  const wildcardAt = new Set<number>();
  if (opts.wildcards) for (const s of spans) if (s.cls === 'lit') wildcardAt.add(s.start);
  // value markers: [=0], [>0], [<5]
  const markerAt = new Map<number, { op: ValueOp; value: number; text: string }>();
  if (opts.wildcards)
    for (const m of line.matchAll(VALUE_MARKER)) {
      const start = m.index;
      if (spans.some((x) => start < x.end && x.start < start + m[0].length)) continue;
      spans.push({ start, end: start + m[0].length, cls: 'lit' });
      markerAt.set(start, { op: m[1] as ValueOp, value: Number(m[2]), text: m[0] });
    }
  // Characters the context rules and wildcards already took. Tokens found by the scan
  // below never reach back before its cursor, so this is all `covered` needs to know
  // (one look per character: lexing stays linear in the line's length).
  const taken = new Uint8Array(line.length);
  for (const s of spans) taken.fill(1, s.start, s.end);
  const covered = (i: number) => taken[i] === 1;
  const overlaps = (x: Span) => {
    for (let k = x.start; k < x.end; k++) if (taken[k]) return true;
    return false;
  };
  let i = 0;
  while (i < line.length) {
    if (covered(i) || !TOKEN_START.test(line[i]!)) {
      i++;
      continue;
    }
    // only start tokens at a boundary (previous char not a word char), except inside "to:" etc.
    let hit: Span[] | null = null;
    let end = i;
    for (const r of RULES) {
      r.re.lastIndex = i;
      const m = r.re.exec(line);
      if (!m) continue;
      const s = r.spans(m);
      if (s === null) {
        // a literal match: skip it whole so its parts are not lexed as other tokens
        hit = [];
        end = i + m[0].length;
        break;
      }
      if (s.some(overlaps)) continue;
      hit = s;
      end = i + m[0].length;
      break;
    }
    if (hit) {
      spans.push(...hit);
      i = Math.max(end, i + 1);
    } else {
      // skip the rest of this word-ish run so tokens are not found mid-word; a "__" ends
      // the run (kube-proxy's nftables endpoint chains: …/tcp/http__10.244.1.3/80)
      const w = /(?:[A-Za-z0-9]|_(?!_))+/y;
      w.lastIndex = i;
      const m = w.exec(line);
      i += m && m[0].length > 0 ? m[0].length : 1;
    }
  }
  spans.sort((a, b) => a.start - b.start);
  const segs: Segment[] = [];
  const pushLit = (t: string) => {
    if (!t) return;
    const last = segs[segs.length - 1];
    if (last && last.kind === 'lit') last.text += t;
    else segs.push({ kind: 'lit', text: t });
  };
  let pos = 0;
  for (const s of spans) {
    if (s.start < pos) continue;
    pushLit(line.slice(pos, s.start));
    if (s.cls === 'lit') {
      const marker = markerAt.get(s.start);
      if (wildcardAt.has(s.start)) segs.push({ kind: 'any' });
      else if (marker) segs.push({ kind: 'num', ...marker });
      else pushLit(line.slice(s.start, s.end));
    } else segs.push({ kind: 'var', cls: s.cls, text: line.slice(s.start, s.end) });
    pos = s.end;
  }
  pushLit(line.slice(pos));
  // normalise whitespace inside literals
  for (const s of segs) if (s.kind === 'lit') s.text = s.text.replace(/\s+/g, ' ');
  if (segs[0]?.kind === 'lit') segs[0].text = segs[0].text.replace(/^ +/, ' ');
  const last = segs[segs.length - 1];
  if (last?.kind === 'lit') last.text = last.text.replace(/ +$/, '');
  return segs.filter((s) => s.kind !== 'lit' || s.text !== '');
}

/** The tokens of a line that carry a value (for tests, JSON and messages). */
export function volatileTokens(line: string): Array<{ cls: TokenClass; text: string }> {
  return lexLine(line).flatMap((s) => (s.kind === 'var' ? [{ cls: s.cls, text: s.text }] : []));
}

/** A line's shape: its literal text with each token replaced by its class, e.g. "TCP <ip>:80 rr". */
export function shape(segs: Segment[]): string {
  return segs
    .map((s) =>
      s.kind === 'lit'
        ? s.text
        : s.kind === 'any'
          ? '[..]'
          : s.kind === 'num'
            ? s.text
            : `<${s.cls}>`,
    )
    .join('');
}
