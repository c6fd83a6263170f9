/**
 * `npm run bench -- adversarial`: what a user can paste or write must cost time in
 * proportion to its size. For the matcher and every parser in src/inspect, a hostile
 * input (long lines, many wildcards, thousands of elements, quotes, `#`) is generated at
 * sizes n, 2n, 4n and 8n; each is run a few times (median CPU time, from a collected heap)
 * and the figure printed is the cost of each doubling: t(2n)/t(n), t(4n)/t(2n), t(8n)/t(4n).
 * Linear work gives ~2, quadratic ~4. Goal: at most ~2.3 for the median doubling (with two
 * ratios and their mean, one noisy doubling decided the verdict).
 * n is chosen per case so that t(n) is at least ~40 ms of warm work (timer noise stays small).
 * Ratios in one run, never absolute times: the machine's speed and load cancel out.
 *   node --expose-gc --import tsx scripts/bench/adversarial.ts
 */
import { fileURLToPath } from 'node:url';
import { matchOutput } from '../../src/doccheck/matcher.js';
import { lexLine } from '../../src/doccheck/tokens.js';
import { PARSERS, parseIptables, stripAnnotation } from '../../src/inspect/index.js';

/** One hostile input family: `make(n)` builds the input of size n, `run` is the work timed. */
export interface Case {
  name: string;
  start: number;
  max: number;
  make(n: number): string[];
  run(input: string[]): void;
}

const rep = (s: string, n: number) => s.repeat(n);
const ip = (i: number, a = 10, b = 0) =>
  `${a}.${b + ((i >> 16) & 255)}.${(i >> 8) & 255}.${i & 255}`;
const text = (expected: string, actual: string) => [expected, actual];
const m = ([e, a]: string[]) => {
  matchOutput(e!, a!, { kind: 'text' });
};
const parse =
  (kind: keyof typeof PARSERS) =>
  ([t]: string[]) => {
    try {
      (PARSERS[kind] as (s: string) => unknown)(t!);
    } catch {
      // a refusal is an answer too: its cost is what is measured
    }
  };

function ipvsadm(n: number, rename: number, reverse: boolean): string {
  const svc = Array.from({ length: n }, (_, i) => [
    `TCP  ${ip(i, 10, 96 + rename)}:80 rr`,
    `  -> ${ip(2 * i, 10, 200 + rename)}:8080               Masq    1      0          0`,
    `  -> ${ip(2 * i + 1, 10, 200 + rename)}:8080               Masq    1      0          0`,
  ]);
  if (reverse) svc.reverse();
  return [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
    ...svc.flat(),
  ].join('\n');
}

function nftMap(n: number): string {
  const el = Array.from(
    { length: n },
    (_, i) =>
      `${ip(i, 10, 96)} . tcp . 80 : goto service-ABCD${String(i % 10000).padStart(4, '0')}-default/web${i}/tcp/http`,
  );
  return [
    'table ip kube-proxy {',
    '\tmap service-ips {',
    '\t\ttype ipv4_addr . inet_proto . inet_service : verdict',
    '\t\tcomment "ClusterIP, ExternalIP and LoadBalancer IP traffic"',
    `\t\telements = { ${el.join(',\n\t\t\t     ')} }`,
    '\t}',
    '}',
  ].join('\n');
}

export function adversarialCases(): Case[] {
  return [
    // ------------------------------------------------------------ the matcher
    {
      name: 'matcher: [..]a×8 + Z against a×n + Y (no match)',
      start: 1000,
      max: 1 << 20,
      make: (n) => text(`${rep('[..]a', 8)}Z`, `${rep('a', n)}Y`),
      run: m,
    },
    {
      name: 'matcher: 3 × [..] on one line of n characters (match)',
      start: 1000,
      max: 1 << 20,
      make: (n) =>
        text('[..]x [..]needle [..]end', `${rep('x ', n / 2)}needle ${rep('y ', 10)}end`),
      run: m,
    },
    {
      name: 'matcher: n lines, each with [..] and an address',
      start: 100,
      max: 1 << 16,
      make: (n) =>
        text(
          Array.from({ length: n }, (_, i) => `row ${i} from ${ip(i, 10, 2)} [..] end`).join('\n'),
          Array.from({ length: n }, (_, i) => `row ${i} from ${ip(i, 10, 1)} says end`).join('\n'),
        ),
      run: m,
    },
    {
      name: 'matcher: n lines with a "..." before each',
      start: 100,
      max: 1 << 16,
      make: (n) =>
        text(
          Array.from({ length: n }, (_, i) => `...\nrow ${i}`).join('\n'),
          Array.from({ length: n }, (_, i) => `noise ${i}\nrow ${i}`).join('\n'),
        ),
      run: m,
    },
    {
      name: 'matcher: n lines, one changed in the middle (explained)',
      start: 100,
      max: 1 << 16,
      make: (n) => {
        const rows = Array.from({ length: n }, (_, i) => `row ${i} from ${ip(i)} [..] end`);
        const out = Array.from({ length: n }, (_, i) =>
          i === n >> 1 ? `row ${i} gone` : `row ${i} from ${ip(i)} says end`,
        );
        return text(rows.join('\n'), out.join('\n'));
      },
      run: m,
    },
    {
      name: 'matcher: ipvsadm, n services renamed and reordered (a set)',
      start: 50,
      max: 1 << 15,
      make: (n) => [ipvsadm(n, 0, false), ipvsadm(n, 1, true)],
      run: ([e, a]) => {
        matchOutput(e!, a!, { kind: 'ipvsadm' });
      },
    },
    {
      name: 'matcher: lexing a line of n addresses',
      start: 500,
      max: 1 << 20,
      make: (n) => [Array.from({ length: n }, (_, i) => ip(i)).join(' ')],
      run: ([l]) => {
        lexLine(l!);
      },
    },
    // ------------------------------------------------------------ parsers (src/inspect)
    {
      name: 'parse ipvsadm: n services',
      start: 500,
      max: 1 << 20,
      make: (n) => [ipvsadm(n, 0, false)],
      run: parse('ipvsadm'),
    },
    {
      name: 'parse nft: a service-ips map of n elements',
      start: 250,
      max: 1 << 18,
      make: (n) => [nftMap(n)],
      run: parse('nft'),
    },
    {
      name: 'parse iptables-save: one rule with n quoted comments',
      start: 500,
      max: 1 << 20,
      make: (n) => [
        [
          '*nat',
          ':KUBE-SERVICES - [0:0]',
          `-A KUBE-SERVICES${rep(' -m comment --comment "a b"', n)} -j RETURN`,
          'COMMIT',
        ].join('\n'),
      ],
      run: ([t]) => {
        parseIptables(t!);
      },
    },
    {
      name: 'parse iptables-save: n services (kube-proxy view)',
      // From 25,600 rules: below that, a whole run (its rules and services kept to the end)
      // fits in V8's young generation and no GC runs inside it, so the step across that
      // size (2n → 4n from 6,400) measured the first GCs, not the parser (×3 there, ~×2
      // on either side of it).
      start: 25_600,
      max: 1 << 17,
      make: (n) => {
        const lines = ['*nat', ':KUBE-SERVICES - [0:0]'];
        for (let i = 0; i < n; i++)
          lines.push(
            `-A KUBE-SERVICES -d ${ip(i, 10, 96)}/32 -p tcp -m comment --comment "default/web${i}:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-${String(i).padStart(16, 'A')}`,
          );
        lines.push('COMMIT');
        return [lines.join('\n')];
      },
      run: parse('iptables'),
    },
    {
      name: 'parse iptables -L: a line with n "# " (annotation stripper)',
      start: 1000,
      max: 1 << 20,
      make: (n) => [
        `Chain KUBE-SERVICES (2 references)\ntarget     prot opt source               destination\nRETURN     all  --  0.0.0.0/0            0.0.0.0/0  ${rep(' # ', n)}`,
      ],
      run: parse('iptables'),
    },
    {
      name: 'annotation stripper: one line with n "# "',
      start: 1000,
      max: 1 << 22,
      make: (n) => [`-A X -j RETURN${rep(' # ', n)}`],
      run: ([t]) => {
        stripAnnotation(t!);
      },
    },
    {
      name: 'parse ipset: one set of n members',
      start: 500,
      max: 1 << 20,
      make: (n) => [
        [
          'Name: KUBE-CLUSTER-IP',
          'Type: hash:ip,port',
          'Revision: 6',
          'Header: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1b6c0b6f',
          'Size in memory: 600',
          'References: 2',
          `Number of entries: ${n}`,
          'Members:',
          ...Array.from({ length: n }, (_, i) => `${ip(i, 10, 96)},tcp:80`),
        ].join('\n'),
      ],
      run: parse('ipset'),
    },
    {
      name: 'parse ip-addr: kube-ipvs0 with n addresses',
      start: 500,
      max: 1 << 20,
      make: (n) => [
        [
          '30: kube-ipvs0: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN group default ',
          '    link/ether 12:37:cc:2c:0a:cc brd ff:ff:ff:ff:ff:ff',
          ...Array.from({ length: n }, (_, i) => [
            `    inet ${ip(i, 10, 96)}/32 scope global kube-ipvs0`,
            '       valid_lft forever preferred_lft forever',
          ]).flat(),
        ].join('\n'),
      ],
      run: parse('ip-addr'),
    },
    {
      name: 'parse kube-proxy-log: n lines',
      start: 500,
      max: 1 << 20,
      make: (n) => [
        Array.from(
          { length: n },
          (_, i) =>
            `I1031 00:39:54.${String(i % 1_000_000).padStart(6, '0')}       1 proxier.go:${i % 2000}] "Syncing ipvs proxier rules" service="default/web${i}"`,
        ).join('\n'),
      ],
      run: parse('kube-proxy-log'),
    },
    {
      name: 'parse kube-proxy-log: one line of n characters',
      start: 4000,
      max: 1 << 23,
      make: (n) => [`I1031 00:39:54.832710       1 server.go:1] "${rep('x" ', n / 3)}"`],
      run: parse('kube-proxy-log'),
    },
    {
      name: 'parse proxy-mode: an answer of n characters',
      start: 4000,
      max: 1 << 23,
      make: (n) => [`${rep('ipvs ', n / 5)}`],
      run: parse('proxy-mode'),
    },
  ];
}

export const GOAL_RATIO = 2.3;

const gc = (globalThis as { gc?: () => void }).gc;

function cpuMs(f: () => void): number {
  gc?.();
  const t = process.cpuUsage();
  f();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeAt(c: Case, n: number, reps: number): number {
  const input = c.make(n);
  c.run(input); // warm up (JIT, caches)
  return median(Array.from({ length: reps }, () => cpuMs(() => c.run(input))));
}

export interface Ratio {
  name: string;
  n: number;
  /** CPU at n, 2n, 4n and 8n. */
  ms: number[];
  /** The cost of each doubling: ms[i + 1] / ms[i]. */
  doublings: number[];
  /** Their median: one doubling that trips over something once (the first run that spills
   * out of V8's young generation, a burst of load) does not decide; a superlinear parser
   * costs more than 2.3× at every doubling. */
  ratio: number;
  ok: boolean;
}

export function measure(c: Case, reps = 5): Ratio {
  let n = c.start;
  // grow n until one run is long enough to time
  for (;;) {
    const input = c.make(n);
    c.run(input); // warm: the JIT's first pass is not the cost of the input
    if (n >= c.max || cpuMs(() => c.run(input)) >= 40) break;
    n *= 2;
  }
  const ms = [1, 2, 4, 8].map((k) => timeAt(c, k * n, reps));
  const doublings = ms.slice(1).map((t, i) => t / Math.max(ms[i]!, 0.01));
  const ratio = median(doublings);
  return { name: c.name, n, ms, doublings, ratio, ok: ratio <= GOAL_RATIO };
}

export async function bench(log: (line: string) => void) {
  const cases = adversarialCases();
  log(
    `doubling the input three times: t(2n)/t(n), t(4n)/t(2n), t(8n)/t(4n) (median CPU of 5, heap collected${gc ? '' : ' — run with --expose-gc for steadier figures'}); goal ≤ ${GOAL_RATIO} (the median doubling)`,
  );
  const rows: Ratio[] = [];
  for (const c of cases) {
    const r = measure(c);
    rows.push(r);
    log(
      `${r.ok ? '✔' : '✘'} ${r.name.padEnd(58)} n=${String(r.n).padStart(7)}  ${r.ms.map((x) => `${x.toFixed(0)}`.padStart(6)).join(' ')} ms  ${r.doublings.map((d) => `×${d.toFixed(2)}`).join(' ')}  → ${r.ratio.toFixed(2)}`,
    );
  }
  const over = rows.filter((r) => !r.ok);
  log(
    over.length
      ? `${over.length} of ${rows.length} cases cost more than ${GOAL_RATIO}× per doubling: ${over.map((r) => r.name).join('; ')}`
      : `all ${rows.length} cases within ${GOAL_RATIO}× per doubling`,
  );
  if (over.length) throw new Error(`${over.length} case(s) above ${GOAL_RATIO}× per doubling`);
  return undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  await bench((l) => process.stdout.write(`${l}\n`)).catch((e: Error) => {
    process.stdout.write(`${e.message}\n`);
    process.exit(1);
  });
