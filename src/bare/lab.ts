/**
 * The by-hand IPVS lab as data: phases of commands (argv lists) and a check for each that
 * reads the real output (parsed with src/inspect) and says what it saw. The same phases run
 * natively or in the micro-VM (see backend.ts).
 *
 * The picture (all of it inside namespaces; nothing in the host's own namespace):
 *
 *   plb-client 10.244.1.20 ─┐
 *   plb-web-1  10.244.1.11 ─┤ cbr0 10.244.1.1/24 ── plb-node: kube-ipvs0 holds the VIP
 *   plb-web-2  10.244.1.12 ─┤                        10.96.0.10, IPVS, ipset, iptables
 *   plb-web-3  10.244.1.13 ─┘
 */
import { parseIpvsadm, type IpvsTable } from '../inspect/ipvsadm.js';
import { parseIpset } from '../inspect/ipset.js';
import { parseIptables, type IptablesRule } from '../inspect/iptables.js';
import type { Backend, Cmd, CmdResult } from './backend.js';

export const NET = {
  node: 'plb-node',
  client: 'plb-client',
  bridge: 'cbr0',
  gateway: '10.244.1.1',
  prefix: 24,
  vip: '10.96.0.10',
  port: 80,
  clientIp: '10.244.1.20',
  pods: [
    { ns: 'plb-web-1', name: 'web-1', ip: '10.244.1.11', veth: 'veth-web-1' },
    { ns: 'plb-web-2', name: 'web-2', ip: '10.244.1.12', veth: 'veth-web-2' },
    { ns: 'plb-web-3', name: 'web-3', ip: '10.244.1.13', veth: 'veth-web-3' },
  ],
} as const;

export const VIP_PORT = `${NET.vip}:${NET.port}`;
export const URL = `http://${NET.vip}/`;
export const ALL_NS = [NET.node, NET.client, ...NET.pods.map((p) => p.ns)];

/** Counts of answers per pod name (plus 'error' for failed requests). */
export type Distribution = Record<string, number>;

export function distribution(output: string): Distribution {
  const d: Distribution = {};
  for (const line of output.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    const key = /^web-\d$/.test(t) ? t : 'error';
    d[key] = (d[key] ?? 0) + 1;
  }
  return d;
}

export function formatDistribution(d: Distribution): string {
  const total = Object.values(d).reduce((a, b) => a + b, 0);
  return Object.entries(d)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${v} (${Math.round((100 * v) / (total || 1))} %)`)
    .join(', ');
}

export interface PhaseOutcome {
  /** One line for the progress tree. */
  summary: string;
  /** The outputs worth showing (ipvsadm tables, distributions). */
  shown: string[];
  data: Record<string, unknown>;
}

export class CheckFailed extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

export interface Phase {
  id: string;
  title: string;
  /** Commands of the phase; `servers` lists pods whose HTTP server starts first. */
  cmds(b: Backend): Cmd[];
  servers?: readonly (typeof NET.pods)[number][];
  check(r: Results): PhaseOutcome;
}

/** Results of a phase, addressable by the index of the command. */
export class Results {
  constructor(readonly list: CmdResult[]) {}
  at(i: number): CmdResult {
    const r = this.list[i < 0 ? this.list.length + i : i];
    if (!r) throw new CheckFailed(`no output for command #${i}`, '');
    return r;
  }
  out(i: number): string {
    return this.at(i).output;
  }
}

const inNode = (...argv: string[]): Cmd => ({ argv: ['ip', 'netns', 'exec', NET.node, ...argv] });
const inNs = (ns: string, ...argv: string[]): Cmd => ({
  argv: ['ip', 'netns', 'exec', ns, ...argv],
});
const ipvsadm = (...args: string[]): Cmd => inNode('ipvsadm', ...args);

function ipvs(text: string): IpvsTable {
  try {
    return parseIpvsadm(text);
  } catch (e) {
    throw new CheckFailed(`ipvsadm printed something unexpected: ${(e as Error).message}`, text);
  }
}

function expect(cond: unknown, message: string, output: string): asserts cond {
  if (!cond) throw new CheckFailed(message, output);
}

function theService(t: IpvsTable, text: string) {
  const svc = t.services.find(
    (s) => s.address === NET.vip && s.port === NET.port && s.protocol === 'TCP',
  );
  expect(svc, `ipvsadm shows no TCP service ${VIP_PORT}`, text);
  return svc;
}

/** Every rule of an iptables listing (the nat table's -nvL output here). */
export function allRules(text: string): IptablesRule[] {
  const dump = parseIptables(text, { table: 'nat' });
  return Object.values(dump.tables).flatMap((t) => Object.values(t.chains).flatMap((c) => c.rules));
}

/** An `ipvsadm -Lnc` listing cut to its header, the lines matching `keep`, and the first few others. */
export function shortConnections(
  text: string,
  keep: (line: string) => boolean = () => false,
  others = 4,
): string {
  const lines = text.trimEnd().split('\n');
  const head = lines.filter((l) => !/^(TCP|UDP|SCTP)\s/.test(l));
  const rows = lines.filter((l) => /^(TCP|UDP|SCTP)\s/.test(l));
  const kept = rows.filter(keep);
  const rest = rows.filter((l) => !keep(l));
  const shown = [...kept, ...rest.slice(0, others)];
  const more = rest.length - Math.min(rest.length, others);
  return [...head, ...shown, ...(more > 0 ? [`(… ${more} more connection entries)`] : [])].join(
    '\n',
  );
}

function share(d: Distribution, k: string): number {
  const total = Object.values(d).reduce((a, b) => a + b, 0);
  return total ? (d[k] ?? 0) / total : 0;
}

/** The pod setup, shared by the lab and the tests. */
export function podCmds(): Cmd[] {
  const c: Cmd[] = [];
  for (const ns of ALL_NS) c.push({ argv: ['ip', 'netns', 'add', ns] });
  for (const ns of ALL_NS) c.push({ argv: ['ip', '-n', ns, 'link', 'set', 'lo', 'up'] });
  c.push({ argv: ['ip', '-n', NET.node, 'link', 'add', NET.bridge, 'type', 'bridge'] });
  c.push({
    argv: ['ip', '-n', NET.node, 'addr', 'add', `${NET.gateway}/${NET.prefix}`, 'dev', NET.bridge],
  });
  c.push({ argv: ['ip', '-n', NET.node, 'link', 'set', NET.bridge, 'up'] });
  const members = [
    ...NET.pods.map((p) => ({ ns: p.ns, ip: p.ip, veth: p.veth })),
    { ns: NET.client, ip: NET.clientIp, veth: 'veth-client' },
  ];
  for (const m of members) {
    c.push({
      argv: [
        'ip',
        'link',
        'add',
        m.veth,
        'netns',
        NET.node,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        m.ns,
      ],
    });
    c.push({ argv: ['ip', '-n', NET.node, 'link', 'set', m.veth, 'master', NET.bridge, 'up'] });
    c.push({ argv: ['ip', '-n', m.ns, 'addr', 'add', `${m.ip}/${NET.prefix}`, 'dev', 'eth0'] });
    c.push({ argv: ['ip', '-n', m.ns, 'link', 'set', 'eth0', 'up'] });
    c.push({ argv: ['ip', '-n', m.ns, 'route', 'add', 'default', 'via', NET.gateway] });
  }
  // the node routes between pods and the VIP; bridged replies must pass netfilter (br_netfilter)
  c.push(inNode('sysctl', '-w', 'net.ipv4.ip_forward=1'));
  c.push(inNode('sysctl', '-w', 'net.bridge.bridge-nf-call-iptables=1'));
  c.push(inNode('sysctl', '-w', 'net.ipv4.vs.conntrack=1'));
  return c;
}

export function teardownCmds(): Cmd[] {
  return ALL_NS.map((ns) => ({ argv: ['ip', 'netns', 'delete', ns], ok: 'any' as const }));
}

export const PHASES: Phase[] = [
  {
    id: 'pods',
    title:
      'pods: 3 web pods and a client as network namespaces on the bridge cbr0, each web pod serving its own name',
    cmds: () => [
      ...NET.pods.map((p) => inNode('wget', '-q', '-O', '-', `http://${p.ip}/`)),
      inNode('ip', '-br', 'addr', 'show', 'dev', NET.bridge),
    ],
    check: (r) => {
      const answers = NET.pods.map((p, i) => `${p.ip} → ${r.out(i).trim()}`);
      NET.pods.forEach((p, i) =>
        expect(
          r.out(i).trim() === p.name,
          `pod ${p.name} (${p.ip}) did not answer with its name`,
          r.out(i),
        ),
      );
      return {
        summary: `each pod answers with its name: ${answers.join(', ')}`,
        shown: answers,
        data: {},
      };
    },
  },
  {
    id: 'node',
    title: 'node: the dummy interface kube-ipvs0 holds the service VIP',
    cmds: () => [
      inNode('ip', 'link', 'add', 'kube-ipvs0', 'type', 'dummy'),
      inNode('ip', 'addr', 'add', `${NET.vip}/32`, 'dev', 'kube-ipvs0'),
      inNode('ip', 'addr', 'show', 'dev', 'kube-ipvs0'),
    ],
    check: (r) => {
      const out = r.out(2);
      expect(
        new RegExp(`inet ${NET.vip.replace(/\./g, '\\.')}/32 `).test(out),
        `kube-ipvs0 does not hold ${NET.vip}/32`,
        out,
      );
      return { summary: `kube-ipvs0 holds ${NET.vip}/32`, shown: [out.trim()], data: {} };
    },
  },
  {
    id: 'nat',
    title: `NAT mode: ipvsadm -A -t ${VIP_PORT} -s rr, real servers with -m`,
    cmds: () => [
      ipvsadm('-A', '-t', VIP_PORT, '-s', 'rr'),
      ...NET.pods.map((p) => ipvsadm('-a', '-t', VIP_PORT, '-r', `${p.ip}:${NET.port}`, '-m')),
      ipvsadm('-Ln'),
    ],
    check: (r) => {
      const text = r.out(-1);
      const svc = theService(ipvs(text), text);
      expect(svc.scheduler === 'rr', `scheduler is ${svc.scheduler}, not rr`, text);
      const rs = svc.realServers.map((s) => `${s.address}:${s.port} ${s.forward} ${s.weight}`);
      for (const p of NET.pods)
        expect(
          rs.includes(`${p.ip}:80 Masq 1`),
          `${p.ip}:80 is not a Masq real server with weight 1`,
          text,
        );
      return {
        summary: `TCP ${VIP_PORT} rr → ${svc.realServers.length} real servers, Masq`,
        shown: [text.trimEnd()],
        data: { service: svc },
      };
    },
  },
  {
    id: 'traffic',
    title: 'requests to the VIP from the node and from a pod; ipvsadm --stats and -Lnc',
    cmds: (b) => [
      { ...b.requests(NET.node, URL, 30) },
      { ...b.requests(NET.client, URL, 30) },
      // IPVS adds up its per-CPU counters every 2 s (its rate estimator): wait for that
      { argv: ['sleep', '2.5'] },
      ipvsadm('-Ln', '--stats'),
      ipvsadm('-Lnc'),
    ],
    check: (r) => {
      const fromNode = distribution(r.out(0));
      const fromPod = distribution(r.out(1));
      for (const [who, d, out] of [
        ['node', fromNode, r.out(0)],
        ['client pod', fromPod, r.out(1)],
      ] as const) {
        expect(!d.error, `${d.error} of 30 requests from the ${who} failed`, out);
        for (const p of NET.pods)
          expect((d[p.name] ?? 0) > 0, `${p.name} never answered the ${who}`, out);
      }
      const stats = theService(ipvs(r.out(3)), r.out(3));
      expect(
        stats.stats && stats.stats.conns >= 60,
        `--stats counts ${stats.stats?.conns} connections, expected ≥ 60`,
        r.out(3),
      );
      expect(stats.stats.outPkts > 0, 'NAT mode: the director saw no reply packets', r.out(3));
      const conns = ipvs(r.out(4)).connections;
      expect(conns.length > 0, 'ipvsadm -Lnc lists no connections', r.out(4));
      const states = [...new Set(conns.map((c) => c.state))].join(', ');
      return {
        summary: `from the node: ${formatDistribution(fromNode)}; from the client pod: ${formatDistribution(fromPod)}`,
        shown: [
          `from node:       ${formatDistribution(fromNode)}`,
          `from client pod: ${formatDistribution(fromPod)}`,
          r.out(3).trimEnd(),
          shortConnections(r.out(4)),
        ],
        data: { fromNode, fromPod, stats: stats.stats, connections: conns.length, states },
      };
    },
  },
  {
    id: 'rr',
    title: 'scheduler rr: 100 requests spread evenly',
    cmds: (b) => [ipvsadm('-Z'), b.requests(NET.client, URL, 100), ipvsadm('-Ln', '--stats')],
    check: (r) => {
      const d = distribution(r.out(1));
      expect(!d.error, `${d.error} requests failed`, r.out(1));
      for (const p of NET.pods) {
        const s = share(d, p.name);
        expect(
          Math.abs(s - 1 / 3) <= 0.15 / 3 + 1e-9,
          `rr: ${p.name} got ${(s * 100).toFixed(0)} %, not 33 % ± 15 %`,
          r.out(1),
        );
      }
      return {
        summary: formatDistribution(d),
        shown: [formatDistribution(d)],
        data: { distribution: d },
      };
    },
  },
  {
    id: 'wrr',
    title: 'scheduler wrr: weights 3:1 (web-1 -w 3, web-2 -w 1, web-3 removed)',
    cmds: (b) => [
      ipvsadm('-E', '-t', VIP_PORT, '-s', 'wrr'),
      ipvsadm('-e', '-t', VIP_PORT, '-r', `${NET.pods[0].ip}:80`, '-m', '-w', '3'),
      ipvsadm('-e', '-t', VIP_PORT, '-r', `${NET.pods[1].ip}:80`, '-m', '-w', '1'),
      ipvsadm('-d', '-t', VIP_PORT, '-r', `${NET.pods[2].ip}:80`),
      ipvsadm('-Ln'),
      b.requests(NET.client, URL, 100),
    ],
    check: (r) => {
      const text = r.out(4);
      const svc = theService(ipvs(text), text);
      expect(svc.scheduler === 'wrr', `scheduler is ${svc.scheduler}, not wrr`, text);
      const w = Object.fromEntries(svc.realServers.map((s) => [s.address, s.weight]));
      expect(
        w[NET.pods[0].ip] === 3 && w[NET.pods[1].ip] === 1,
        `weights are ${JSON.stringify(w)}, not 3 and 1`,
        text,
      );
      const d = distribution(r.out(5));
      const s1 = share(d, 'web-1');
      expect(
        !d.error && Math.abs(s1 - 0.75) <= 0.075 + 1e-9,
        `wrr 3:1: web-1 got ${(s1 * 100).toFixed(0)} %, not 75 % ± 10 %`,
        r.out(5),
      );
      expect(!d['web-3'], 'web-3 answered although it was removed', r.out(5));
      return {
        summary: formatDistribution(d),
        shown: [text.trimEnd(), formatDistribution(d)],
        data: { distribution: d, weights: w },
      };
    },
  },
  {
    id: 'sh',
    title: 'scheduler sh (source hashing): one client always reaches the same pod',
    cmds: (b) => [
      ipvsadm('-a', '-t', VIP_PORT, '-r', `${NET.pods[2].ip}:80`, '-m', '-w', '1'),
      ipvsadm('-e', '-t', VIP_PORT, '-r', `${NET.pods[0].ip}:80`, '-m', '-w', '1'),
      ipvsadm('-E', '-t', VIP_PORT, '-s', 'sh'),
      b.requests(NET.client, URL, 20),
      b.requests(NET.node, URL, 20),
      ipvsadm('-Ln'),
    ],
    check: (r) => {
      const fromPod = distribution(r.out(3));
      const fromNode = distribution(r.out(4));
      expect(
        !fromPod.error && Object.keys(fromPod).length === 1,
        `sh: one client reached ${Object.keys(fromPod).length} pods`,
        r.out(3),
      );
      expect(
        !fromNode.error && Object.keys(fromNode).length === 1,
        `sh: the node reached ${Object.keys(fromNode).length} pods`,
        r.out(4),
      );
      const svc = theService(ipvs(r.out(5)), r.out(5));
      expect(svc.scheduler === 'sh', `scheduler is ${svc.scheduler}, not sh`, r.out(5));
      return {
        summary: `client pod → ${formatDistribution(fromPod)}; node → ${formatDistribution(fromNode)}`,
        shown: [
          `from client pod: ${formatDistribution(fromPod)}`,
          `from node:       ${formatDistribution(fromNode)}`,
        ],
        data: { fromPod, fromNode },
      };
    },
  },
  {
    id: 'persistence',
    title: 'persistence: rr with -p 60 keeps a client on one pod',
    cmds: (b) => [
      ipvsadm('-E', '-t', VIP_PORT, '-s', 'rr', '-p', '60'),
      b.requests(NET.client, URL, 20),
      ipvsadm('-Ln'),
      ipvsadm('-Lnc'),
    ],
    check: (r) => {
      const d = distribution(r.out(1));
      expect(
        !d.error && Object.keys(d).length === 1,
        `persistence: one client reached ${Object.keys(d).length} pods`,
        r.out(1),
      );
      const svc = theService(ipvs(r.out(2)), r.out(2));
      expect(
        svc.persistent === 60,
        `ipvsadm -Ln shows persistent ${svc.persistent}, not 60`,
        r.out(2),
      );
      const conns = ipvs(r.out(3)).connections;
      // the persistence template: client address with port 0 → the chosen pod
      const template = conns.find((c) => c.source.port === 0 && c.source.address === NET.clientIp);
      expect(
        template,
        'ipvsadm -Lnc shows no persistence template (source port 0) for the client',
        r.out(3),
      );
      return {
        summary: `${formatDistribution(d)}; template ${template.source.address} → ${template.destination.address}`,
        shown: [
          r.out(2).trimEnd(),
          formatDistribution(d),
          shortConnections(r.out(3), (l) => /\s10\.244\.1\.20:0\s/.test(l), 2),
        ],
        data: { distribution: d },
      };
    },
  },
  {
    id: 'ipset',
    title: 'kube-proxy wiring: ipset KUBE-CLUSTER-IP and an iptables match-set rule',
    cmds: (b) => [
      ipvsadm('-E', '-t', VIP_PORT, '-s', 'rr'),
      {
        ...inNode('ipset', 'restore'),
        input: `create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536\nadd KUBE-CLUSTER-IP ${NET.vip},tcp:${NET.port}\n`,
      },
      {
        ...inNode('iptables-restore', '--noflush'),
        input: [
          '*nat',
          ':KUBE-SERVICES - [0:0]',
          ':KUBE-MARK-MASQ - [0:0]',
          ':KUBE-POSTROUTING - [0:0]',
          '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
          '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
          '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
          '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
          '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
          '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0',
          '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE',
          '-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT',
          'COMMIT',
          '',
        ].join('\n'),
      },
      b.requests(NET.client, URL, 10),
      inNode('ipset', 'list', 'KUBE-CLUSTER-IP'),
      inNode('iptables', '-t', 'nat', '-nvL', 'KUBE-SERVICES'),
    ],
    check: (r) => {
      for (const i of [1, 2])
        expect(r.at(i).exitCode === 0, `${r.at(i).argv.slice(4).join(' ')} failed`, r.out(i));
      const d = distribution(r.out(3));
      expect(
        !d.error && Object.keys(d).length === 3,
        `with the ipset rule, requests did not reach all 3 pods`,
        r.out(3),
      );
      const sets = parseIpset(r.out(4)).sets;
      const set = sets.find((s) => s.name === 'KUBE-CLUSTER-IP');
      expect(
        set && set.members.includes(`${NET.vip},tcp:${NET.port}`),
        `KUBE-CLUSTER-IP does not hold ${NET.vip},tcp:${NET.port}`,
        r.out(4),
      );
      const rule = allRules(r.out(5)).find((x) =>
        x.matchSets.some((m) => m.name === 'KUBE-CLUSTER-IP'),
      );
      expect(
        rule?.counters && rule.counters.packets > 0,
        'the match-set KUBE-CLUSTER-IP rule counted no packets',
        r.out(5),
      );
      return {
        summary: `KUBE-CLUSTER-IP = {${set.members.join(' ')}}; the match-set rule counted ${rule.counters.packets} packets`,
        shown: [r.out(4).trimEnd(), r.out(5).trimEnd()],
        data: { members: set.members, packets: rule.counters.packets },
      };
    },
  },
  {
    id: 'dr',
    title:
      "DR mode (-g): the VIP on each web pod's own dummy, arp_ignore=1, arp_announce=2; replies skip the director",
    cmds: (b) => {
      const c: Cmd[] = [
        ipvsadm('-D', '-t', VIP_PORT),
        ipvsadm('-A', '-t', VIP_PORT, '-s', 'rr'),
        // the node's bridge stands in for the switch: it must pass the replies on at layer 2
        // without showing them to IPVS, as a real switch between director and pods would
        inNode('sysctl', '-w', 'net.bridge.bridge-nf-call-iptables=0'),
      ];
      for (const p of NET.pods) {
        c.push(ipvsadm('-a', '-t', VIP_PORT, '-r', `${p.ip}:80`, '-g'));
        c.push({ argv: ['ip', '-n', p.ns, 'link', 'add', 'vip0', 'type', 'dummy'] });
        c.push({ argv: ['ip', '-n', p.ns, 'addr', 'add', `${NET.vip}/32`, 'dev', 'vip0'] });
        c.push({ argv: ['ip', '-n', p.ns, 'link', 'set', 'vip0', 'up'] });
        c.push(
          inNs(
            p.ns,
            'sysctl',
            '-w',
            'net.ipv4.conf.all.arp_ignore=1',
            'net.ipv4.conf.all.arp_announce=2',
          ),
        );
      }
      c.push(ipvsadm('-Z'));
      c.push(b.requests(NET.client, URL, 30));
      c.push(ipvsadm('-Ln'));
      c.push({ argv: ['sleep', '2.5'] });
      c.push(ipvsadm('-Ln', '--stats'));
      return c;
    },
    check: (r) => {
      const d = distribution(r.out(-4));
      expect(!d.error, `DR mode: ${d.error} of 30 requests failed`, r.out(-4));
      for (const p of NET.pods)
        expect((d[p.name] ?? 0) > 0, `DR mode: ${p.name} never answered`, r.out(-4));
      const svc = theService(ipvs(r.out(-3)), r.out(-3));
      expect(
        svc.realServers.length === 3 && svc.realServers.every((s) => s.forward === 'Route'),
        'the real servers are not all Route (-g)',
        r.out(-3),
      );
      const stats = theService(ipvs(r.out(-1)), r.out(-1)).stats;
      expect(
        stats && stats.inPkts > 0,
        'DR mode: the director counted no incoming packets',
        r.out(-1),
      );
      expect(
        stats.outPkts === 0,
        `DR mode: the director saw ${stats.outPkts} reply packets (replies should go straight to the client)`,
        r.out(-1),
      );
      return {
        summary: `${formatDistribution(d)}; director InPkts ${stats.inPkts}, OutPkts ${stats.outPkts} (replies went straight back)`,
        shown: [r.out(-3).trimEnd(), formatDistribution(d), r.out(-1).trimEnd()],
        data: { distribution: d, stats },
      };
    },
  },
  {
    id: 'iptables',
    title:
      'for contrast, iptables mode: KUBE-SERVICES → KUBE-SVC (statistic random) → KUBE-SEP (DNAT), same pods',
    cmds: (b) => [
      ipvsadm('-C'),
      inNode('ip', 'link', 'del', 'kube-ipvs0'),
      ...NET.pods.map((p) => ({ argv: ['ip', '-n', p.ns, 'link', 'del', 'vip0'] })),
      inNode('iptables', '-t', 'nat', '-F'),
      inNode('iptables', '-t', 'nat', '-X'),
      // bridged replies must pass conntrack again to be un-DNATed
      inNode('sysctl', '-w', 'net.bridge.bridge-nf-call-iptables=1'),
      // without kube-ipvs0 the node needs a route towards the service range (a real node has its default route)
      inNode('ip', 'route', 'add', '10.96.0.0/12', 'dev', NET.bridge),
      { ...inNode('iptables-restore', '--noflush'), input: iptablesModeRules('iptables') },
      b.requests(NET.client, URL, 100),
      b.requests(NET.node, URL, 10),
      inNode('iptables', '-t', 'nat', '-nvL', 'KUBE-SVC-WEB'),
    ],
    check: (r) => {
      const restore = r.at(-4);
      expect(
        restore.exitCode === 0,
        'iptables-restore of the iptables-mode chains failed',
        restore.output,
      );
      const d = distribution(r.out(-3));
      expect(!d.error, `${d.error} of 100 requests failed`, r.out(-3));
      for (const p of NET.pods)
        expect(
          share(d, p.name) >= 0.15,
          `iptables mode: ${p.name} got ${d[p.name] ?? 0} of 100`,
          r.out(-3),
        );
      const fromNode = distribution(r.out(-2));
      expect(!fromNode.error, 'iptables mode: requests from the node failed', r.out(-2));
      const probs = allRules(r.out(-1))
        .map((x) => x.probability)
        .filter((x): x is number => x !== null);
      expect(
        probs.length === 2,
        `KUBE-SVC-WEB has ${probs.length} statistic rules, expected 2`,
        r.out(-1),
      );
      return {
        summary: `${formatDistribution(d)} (random, per connection)`,
        shown: [r.out(-1).trimEnd(), formatDistribution(d)],
        data: { distribution: d, probabilities: probs },
      };
    },
  },
];

/**
 * The iptables-mode rules kube-proxy would write for a 3-endpoint ClusterIP service, as an
 * `iptables-restore --noflush` input for the nat table. `bin` is only used in the comment.
 */
export function iptablesModeRules(
  _bin: string,
  pods: readonly { name: string; ip: string }[] = NET.pods,
  vip: string = NET.vip,
): string {
  const n = pods.length;
  const lines = [
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-SVC-WEB - [0:0]',
    ':KUBE-MARK-MASQ - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
  ];
  for (const p of pods) lines.push(`:KUBE-SEP-${p.name.toUpperCase()} - [0:0]`);
  lines.push('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  lines.push('-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  lines.push(
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
  );
  lines.push('-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000');
  lines.push('-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN');
  lines.push('-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0');
  lines.push(
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE',
  );
  lines.push(
    `-A KUBE-SERVICES -d ${vip}/32 -p tcp -m comment --comment "default/web cluster IP" -m tcp --dport 80 -j KUBE-SVC-WEB`,
  );
  pods.forEach((p, i) => {
    const sep = `KUBE-SEP-${p.name.toUpperCase()}`;
    const left = n - i;
    const stat =
      left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(11)}` : '';
    lines.push(`-A KUBE-SVC-WEB -m comment --comment "default/web -> ${p.ip}:80"${stat} -j ${sep}`);
    lines.push(`-A ${sep} -s ${p.ip}/32 -m comment --comment "default/web" -j KUBE-MARK-MASQ`);
    lines.push(
      `-A ${sep} -p tcp -m comment --comment "default/web" -m tcp -j DNAT --to-destination ${p.ip}:80`,
    );
  });
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** The final check: none of the lab's namespaces are left. */
export function leftovers(ipNetnsList: string): string[] {
  const names = new Set(ipNetnsList.split('\n').map((l) => l.split(/\s+/)[0] ?? ''));
  return ALL_NS.filter((n) => names.has(n));
}
