/**
 * The datapath picture of `proxylab inspect --svg`. Per node (nodes whose datapath is the
 * same are drawn once): where a packet is addressed → what kube-proxy built for it → pods.
 *
 * - ipvs mode: every IPVS virtual server of the node's table, one row each (ClusterIPs, held
 *   by the dummy interface kube-ipvs0, and the NodePort servers on the node's own addresses),
 *   with scheduler, forwarding method and weight of each real server; below them, the
 *   iptables rules kube-proxy keeps around IPVS (ipset matches, KUBE-MARK-MASQ, masquerade).
 * - iptables mode: ClusterIP → KUBE-SVC chain → KUBE-SEP endpoints.
 * - nftables mode: ClusterIP → service chain from map service-ips → endpoints.
 *
 * Each pod says which node it runs on (EndpointSlice nodeName). Plain SVG 1.1, no scripts, no
 * external resources: it opens in any browser and embeds in the labs' markdown.
 */
import { servicePortKey, type Snapshot, type NodeView, type ServicePort } from './join.js';
import type { K8sEndpointSlice, K8sEndpoints, K8sList, K8sService } from './join.js';
import { NAT_CHAINS_DRAWN, type NodeSnapshot } from './snapshot.js';
import type { IpvsService } from './ipvsadm.js';
import type { Finding } from './findings.js';

const W = 1180;
const COL = { client: 16, from: 122, via: 412, pod: 676 };
const BOX = { client: 86, from: 262, via: 236, pod: 486 };
const POD_H = 34;
const GAP = 6;
const ROW_PAD = 6;
const NODE_HEAD = 48;
const LINE = 15;

export function xml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** What the Services say beyond the snapshot: NodePorts and the node each endpoint runs on. */
export interface ClusterFacts {
  /** `TCP 31729` → the Service port it belongs to (`default/web-nodeport:http`). */
  nodePorts: Record<string, string>;
  /** Endpoint address → node name (EndpointSlice endpoints[].nodeName). */
  podNodes: Record<string, string>;
}

export function clusterFacts(
  services: K8sList<K8sService>,
  endpoints: K8sList<K8sEndpointSlice> | K8sList<K8sEndpoints>,
): ClusterFacts {
  const nodePorts: Record<string, string> = {};
  for (const s of services.items ?? [])
    for (const p of s.spec?.ports ?? [])
      if (p.nodePort)
        nodePorts[`${(p.protocol ?? 'TCP').toUpperCase()} ${p.nodePort}`] =
          `${s.metadata.namespace ?? 'default'}/${s.metadata.name}${p.name ? `:${p.name}` : ''}`;
  const podNodes: Record<string, string> = {};
  for (const sl of (endpoints.items ?? []) as K8sEndpointSlice[])
    for (const e of sl.endpoints ?? [])
      if (e.nodeName) for (const a of e.addresses ?? []) podNodes[a] = e.nodeName;
  return { nodePorts, podNodes };
}

interface Target {
  text: string;
  sub: string;
  ready: boolean;
}

interface Row {
  /** `vip` is a ClusterIP (on kube-ipvs0 in ipvs mode); `nodeport` an address of the node. */
  kind: 'vip' | 'nodeport' | 'other';
  fromText: string[];
  fromTitle: string;
  fromBad: boolean;
  viaText: string[];
  viaBad: boolean;
  targets: Target[];
}

interface Group {
  nodes: NodeView[];
  mode: NodeView['mode'];
  rows: Row[];
  /** Lines under the rows (ipvs mode: ipsets and masquerade), per node of the group. */
  notes: string[][];
  /** Per node: its own addresses in the order the rows name them (collapsed groups). */
  addrs: string[][];
  head: string;
}

const FORWARD: Record<string, string> = {
  Masq: 'Masq (NAT)',
  Route: 'Route (direct routing)',
  Tunnel: 'Tunnel (IPIP)',
  Local: 'Local',
};

function ipOf(ep: string): string {
  return ep.startsWith('[') ? ep.slice(1, ep.indexOf(']')) : ep.slice(0, ep.lastIndexOf(':'));
}

function hostPort(ip: string, port: number | null): string {
  return ip.includes(':') ? `[${ip}]:${port ?? '?'}` : `${ip}:${port ?? '?'}`;
}

function target(
  ep: string,
  p: ServicePort | undefined,
  facts: ClusterFacts | undefined,
  extra: string[],
): Target {
  const ip = ipOf(ep);
  const pod = p?.pods[ip];
  const ready = p ? p.ready.includes(ep) : true;
  const node = facts?.podNodes[ip];
  const who = pod ?? (ready ? 'ready endpoint' : 'endpoint');
  return {
    text: `${ep}  ${who}${ready ? '' : ' (NOT ready)'}`,
    sub: [node ? `on ${node}` : '', ...extra].filter(Boolean).join(' · '),
    ready,
  };
}

function label(p: ServicePort): string {
  return `${p.service}${p.portName ? `:${p.portName}` : ''}`;
}

/** ipvs mode with the node's IPVS table: one row per virtual server, in the table's order. */
function ipvsRows(
  n: NodeView,
  raw: NodeSnapshot,
  allPorts: ServicePort[],
  skipped: (service: string) => boolean,
  bad: Set<string>,
  facts: ClusterFacts | undefined,
  own: string[],
): Row[] {
  const byKey = new Map(allPorts.map((p) => [servicePortKey(p), p]));
  const rows: Row[] = [];
  for (const vs of raw.ipvs!.services) {
    const key = vs.address !== null ? `${vs.protocol} ${vs.address}:${vs.port}` : '';
    const p = byKey.get(key);
    const np = !p && vs.port !== null ? facts?.nodePorts[`${vs.protocol} ${vs.port}`] : undefined;
    const svcName = p ? label(p) : np;
    if (svcName && skipped(svcName)) continue;
    const addr = vs.address ?? `fwmark ${vs.fwmark ?? '?'}`;
    let kind: Row['kind'] = 'other';
    let fromText: string[];
    let fromTitle: string;
    let fromBad = false;
    if (p) {
      kind = 'vip';
      const onDummy = n.services[key]?.vipOnKubeIpvs0;
      fromBad = onDummy === false;
      fromText = [`${hostPort(addr, vs.port)}/${vs.protocol}`, svcName!];
      fromTitle =
        onDummy === true
          ? `${addr} is bound to kube-ipvs0`
          : onDummy === false
            ? `${addr} is NOT on kube-ipvs0`
            : 'kube-ipvs0 not readable';
    } else {
      if (!own.includes(addr)) own.push(addr);
      kind = np ? 'nodeport' : 'other';
      fromText = [
        `${hostPort(addr, vs.port)}/${vs.protocol}`,
        np ? `NodePort of ${np}` : 'no Service has this address',
      ];
      fromTitle = np ? `${addr} is an address of this node` : 'not a ClusterIP or NodePort';
    }
    rows.push({
      kind,
      fromText,
      fromTitle,
      fromBad,
      viaText: [
        `IPVS ${vs.protocol} ${hostPort(addr, vs.port)}`,
        `scheduler ${vs.scheduler ?? '?'}${vs.persistent ? `, persistent ${vs.persistent}s` : ''}`,
      ],
      viaBad: !!svcName && (bad.has(`${n.node}|${svcName}`) || !vs.realServers.length),
      targets: realServers(vs, p ?? allPorts.find((x) => label(x) === np), facts),
    });
  }
  return rows;
}

function realServers(vs: IpvsService, p: ServicePort | undefined, facts?: ClusterFacts): Target[] {
  return vs.realServers.map((r) =>
    target(hostPort(r.address, r.port), p, facts, [
      r.forward ? (FORWARD[r.forward] ?? r.forward) : '',
      r.weight !== null ? `weight ${r.weight}` : '',
    ]),
  );
}

/** iptables / nftables mode, or ipvs mode without a readable table: one row per Service port. */
function serviceRows(
  n: NodeView,
  ports: ServicePort[],
  bad: Set<string>,
  facts: ClusterFacts | undefined,
): Row[] {
  const rows: Row[] = [];
  for (const p of ports) {
    const v = n.services[servicePortKey(p)];
    if (!v) continue;
    let viaText: string[];
    let eps: string[];
    const extra: Record<string, string[]> = {};
    if (n.mode === 'ipvs') {
      // without the node's table (no `raw`): the virtual servers of the Service ports only
      if (v.ipvs) {
        viaText = [
          `IPVS ${p.protocol} ${p.clusterIP}:${p.port}`,
          `scheduler ${v.ipvs.scheduler ?? '?'}${v.ipvs.persistent ? `, persistent ${v.ipvs.persistent}s` : ''}`,
        ];
        eps = v.ipvs.realServers;
        const weights = v.ipvs.weights;
        for (const e of eps) if (weights[e] != null) extra[e] = [`weight ${weights[e]}`];
      } else {
        viaText = [v.ipvs === false ? 'no IPVS virtual server' : 'IPVS table not readable', ''];
        eps = [];
      }
    } else if (n.mode === 'iptables') {
      if (v.iptables) {
        viaText = [v.iptables.chain, `${v.iptables.endpoints.length} × KUBE-SEP (random)`];
        eps = v.iptables.endpoints;
      } else {
        viaText = [v.iptables === false ? 'no KUBE-SVC chain' : 'iptables not readable', ''];
        eps = [];
      }
    } else if (n.mode === 'nftables') {
      if (v.nft) {
        // the chain name carries ns/name/proto/port, already in the VIP box: keep its hash part
        viaText = [
          `nft ${v.nft.chain.split('-').slice(0, 2).join('-')}`,
          `${v.nft.endpoints.length} endpoint${v.nft.endpoints.length === 1 ? '' : 's'} (numgen random)`,
        ];
        eps = v.nft.endpoints;
      } else {
        viaText = [v.nft === false ? 'not in map service-ips' : 'nft table not readable', ''];
        eps = [];
      }
    } else {
      viaText = [n.mode ? `${n.mode} mode` : 'mode unknown', 'not drawn'];
      eps = p.ready;
    }
    const fromBad = n.mode === 'ipvs' && v.vipOnKubeIpvs0 === false;
    rows.push({
      kind: 'vip',
      fromText: [`${p.clusterIP}:${p.port}/${p.protocol}`, label(p)],
      fromTitle: 'ClusterIP',
      fromBad,
      viaText,
      viaBad: bad.has(`${n.node}|${label(p)}`),
      targets: eps.map((e) => target(e, p, facts, extra[e] ?? [])),
    });
  }
  return rows;
}

/** ipvs mode: the iptables rules and ipsets kube-proxy keeps beside IPVS, one line each. */
function ipvsNotes(raw: NodeSnapshot): string[] {
  const sets = new Map((raw.ipsets?.sets ?? []).map((s) => [s.name, s.members.length]));
  const nat = raw.iptables?.nat ?? {};
  const out: string[] = [];
  for (const chain of NAT_CHAINS_DRAWN) {
    for (const r of nat[chain] ?? []) {
      const cond: string[] = [];
      if (r.source)
        cond.push(r.source.startsWith('!') ? `not from ${r.source.slice(1)}` : `from ${r.source}`);
      for (const m of r.matchSets) {
        const n = sets.get(m.name);
        cond.push(
          `${m.negated ? 'not in' : 'in'} ipset ${m.name}${n === undefined ? '' : ` (${n} ${n === 1 ? 'entry' : 'entries'})`}`,
        );
      }
      const mark = /(!\s*)?--mark (\S+)/.exec(r.raw);
      if (mark) cond.push(`${mark[1] ? 'not ' : ''}marked ${mark[2]}`);
      if (/--dst-type LOCAL/.test(r.raw)) cond.push('to a local address');
      const set = /--set-xmark (\S+)/.exec(r.raw);
      const what = set ? `set mark ${set[1]}` : (r.target ?? 'continue');
      out.push(`${chain}: ${cond.length ? `${cond.join(', ')} → ` : ''}${what}`);
    }
  }
  if (!raw.iptables) out.push('iptables-save not readable: masquerade rules not shown');
  if (!raw.ipsets) out.push('ipset not readable: set sizes not shown');
  return out;
}

function groupHead(g: Group): string {
  const mode = g.mode ? `${g.mode} mode` : 'mode unknown';
  const n = g.nodes[0]!;
  const ipvs = n.unavailable.ipvsadm
    ? `IPVS table not readable: ${n.unavailable.ipvsadm}`
    : `${n.ipvsServices} IPVS virtual servers`;
  const what =
    g.mode === 'ipvs'
      ? `${mode} — ${ipvs}, ${n.kubeIpvs0Addresses ?? 0} ClusterIPs on kube-ipvs0`
      : mode;
  return g.nodes.length === 1
    ? `${n.node} — ${what}`
    : `${g.nodes.length} nodes with the same datapath — ${what}`;
}

function box(
  x: number,
  y: number,
  w: number,
  h: number,
  lines: string[],
  cls: string,
  title?: string,
): string {
  const t = lines.filter((l) => l !== '');
  const cy = y + h / 2 - ((t.length - 1) * 14) / 2;
  const text = t
    .map((l, i) => {
      const max = Math.floor(w / (i === 0 ? 7.2 : 6.6));
      return `<text x="${x + w / 2}" y="${(cy + i * 14 + 4).toFixed(1)}" class="${i === 0 ? 't' : 's'}">${xml(l.length > max ? `${l.slice(0, max - 1)}…` : l)}</text>`;
    })
    .join('');
  return `<g class="${cls}">${title ? `<title>${xml(title)}</title>` : ''}<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="6"/>${text}</g>`;
}

function arrow(x1: number, y1: number, x2: number, y2: number, cls = 'a'): string {
  const mx = (x1 + x2) / 2;
  return `<path class="${cls}" d="M${x1},${y1.toFixed(1)} C${mx},${y1.toFixed(1)} ${mx},${y2.toFixed(1)} ${x2 - 2},${y2.toFixed(1)}" marker-end="url(#arrow)"/>`;
}

export interface SvgOptions {
  /** Draw only these nodes. */
  nodes?: string[];
  /** Leave out Services of these namespaces (e.g. kube-system). */
  skipNamespaces?: string[];
  /** Each node's parsed datapath: ipvs mode draws every virtual server, ipsets and masquerade. */
  raw?: NodeSnapshot[];
  /** NodePorts and the node of each pod, from the Services and EndpointSlices. */
  facts?: ClusterFacts;
  /** Draw nodes with the same datapath once (default true). */
  collapse?: boolean;
}

function groups(s: Snapshot, found: Finding[], opts: SvgOptions): Group[] {
  const bad = new Set(
    found
      .filter((f) => f.severity === 'error' && f.node && f.service)
      .map((f) => `${f.node}|${f.service}`),
  );
  const skipped = (service: string) => (opts.skipNamespaces ?? []).includes(service.split('/')[0]!);
  const ports = s.servicePorts.filter((p) => !skipped(p.service));
  const out: Group[] = [];
  const seen = new Map<string, Group>();
  for (const n of s.nodes) {
    if (opts.nodes && !opts.nodes.includes(n.node)) continue;
    const raw = opts.raw?.find((r) => r.node === n.node);
    const own: string[] = [];
    const rows =
      n.mode === 'ipvs' && raw?.ipvs
        ? ipvsRows(n, raw, s.servicePorts, skipped, bad, opts.facts, own)
        : serviceRows(n, ports, bad, opts.facts);
    const notes = n.mode === 'ipvs' && raw ? ipvsNotes(raw) : [];
    // the same picture once the node's own addresses are set aside
    const sig = JSON.stringify([
      n.mode,
      n.ipvsServices,
      n.kubeIpvs0Addresses,
      rows.map((r) =>
        r.kind === 'vip'
          ? r
          : {
              ...r,
              fromText: [own.indexOf(ipOfRow(r)), r.fromText[1]],
              fromTitle: '',
              viaText: [r.viaText[1]],
            },
      ),
      notes.map(withoutCounts),
    ]);
    const same = opts.collapse === false ? undefined : seen.get(sig);
    if (same) {
      same.nodes.push(n);
      same.addrs.push(own);
      same.notes.push(notes);
      continue;
    }
    const g: Group = { nodes: [n], mode: n.mode, rows, notes: [notes], addrs: [own], head: '' };
    seen.set(sig, g);
    out.push(g);
  }
  for (const g of out) {
    g.head = groupHead(g);
    if (g.nodes.length > 1) {
      // one row stands for the same server on each node's own address: say so
      for (const r of g.rows) {
        if (r.kind === 'vip') continue;
        const i = g.addrs[0]!.indexOf(ipOfRow(r));
        const port = r.fromText[0]!.slice(r.fromText[0]!.lastIndexOf(':'));
        r.fromText = [`node address ${i + 1}${port}`, r.fromText[1]!];
        r.viaText = [`IPVS on node address ${i + 1}${port.replace(/\/\w+$/, '')}`, r.viaText[1]!];
        r.fromTitle = g.nodes.map((n, k) => `${n.node}: ${g.addrs[k]![i] ?? '?'}`).join(', ');
      }
    }
  }
  return out;
}

const COUNT = / \((\d+) (?:entry|entries)\)/;

function withoutCounts(note: string): string {
  return note.replace(COUNT, '');
}

/** One line per rule; where the nodes' set sizes differ, each node's size in heading order. */
function mergedNotes(perNode: string[][]): string[] {
  const first = perNode[0] ?? [];
  return first.map((note, i) => {
    const all = perNode.map((n) => n[i] ?? '');
    if (all.every((x) => x === note)) return note;
    const counts = all.map((x) => COUNT.exec(x)?.[1] ?? '?');
    return note.replace(COUNT, ` (${counts.join(' / ')} entries, node by node)`);
  });
}

function ipOfRow(r: Row): string {
  const a = r.fromText[0]!;
  const hp = a.slice(0, a.lastIndexOf('/'));
  return ipOf(hp);
}

/** A collapsed group: its nodes, one line each, with the addresses its rows number. */
function addrLines(g: Group): string[] {
  if (g.nodes.length < 2) return [];
  return g.nodes.map((n, k) => {
    const a = g.addrs[k]!;
    return a.length
      ? `${n.node}: ${a.map((x, i) => `node address ${i + 1} = ${x}`).join(', ')}`
      : n.node;
  });
}

/** Render the snapshot as one SVG document. */
export function renderSvg(s: Snapshot, found: Finding[], opts: SvgOptions = {}): string {
  const parts: string[] = [];
  let y = 56;
  for (const g of groups(s, found, opts)) {
    const top = y;
    y += NODE_HEAD + (g.mode === 'ipvs' ? 8 : 0);
    y += addrLines(g).length * LINE;
    const body: string[] = [];
    const rowMid: number[] = [];
    let dummyTop = -1;
    let dummyBottom = -1;
    for (const r of g.rows) {
      const h = Math.max(1, r.targets.length) * (POD_H + GAP) - GAP + 2 * ROW_PAD;
      const mid = y + h / 2;
      rowMid.push(mid);
      if (g.mode === 'ipvs' && r.kind === 'vip') {
        if (dummyTop < 0) dummyTop = y;
        dummyBottom = y + h;
      }
      body.push(
        box(
          COL.from,
          mid - 20,
          BOX.from,
          40,
          r.fromText,
          `${r.kind === 'vip' ? 'vip' : 'np'}${r.fromBad ? ' bad' : ''}`,
          r.fromTitle,
        ),
      );
      body.push(arrow(COL.from + BOX.from, mid, COL.via, mid));
      body.push(box(COL.via, mid - 20, BOX.via, 40, r.viaText, r.viaBad ? 'svc bad' : 'svc'));
      r.targets.forEach((t, i) => {
        const ty = y + ROW_PAD + i * (POD_H + GAP);
        body.push(arrow(COL.via + BOX.via, mid, COL.pod, ty + POD_H / 2));
        body.push(box(COL.pod, ty, BOX.pod, POD_H, [t.text, t.sub], t.ready ? 'pod' : 'pod bad'));
      });
      if (!r.targets.length)
        body.push(
          `<text x="${COL.pod + 8}" y="${(mid + 4).toFixed(1)}" class="s l">no endpoints</text>`,
        );
      y += h + 8;
    }
    if (dummyTop >= 0)
      body.unshift(
        `<g class="dummy"><rect x="${COL.from - 8}" y="${dummyTop - 16}" width="${BOX.from + 16}" height="${dummyBottom - dummyTop + 20}" rx="8"/><text x="${COL.from}" y="${dummyTop - 4}" class="s l">kube-ipvs0 (dummy interface): the ClusterIPs</text></g>`,
      );
    if (!g.rows.length) {
      body.push(
        `<text x="${COL.from}" y="${y + 20}" class="s l">no Services with a ClusterIP</text>`,
      );
      y += 36;
    }
    const notes = mergedNotes(g.notes);
    if (notes.length) {
      y += 6;
      body.push(
        `<text x="${COL.from}" y="${y + 12}" class="h2 l">iptables beside IPVS (nat table): which packets are accepted for IPVS and masqueraded</text>`,
      );
      y += 18;
      for (const note of notes) {
        body.push(`<text x="${COL.from}" y="${y + 12}" class="m l">${xml(note)}</text>`);
        y += LINE;
      }
      y += 8;
    }
    // One client per group, with an arrow to every address.
    const cMid = rowMid.length
      ? (rowMid[0]! + rowMid[rowMid.length - 1]!) / 2
      : top + NODE_HEAD + 20;
    body.unshift(box(COL.client, cMid - 20, BOX.client, 40, ['client', 'pod or node'], 'client'));
    for (const m of rowMid) body.push(arrow(COL.client + BOX.client, cMid, COL.from, m));
    const addrLine = addrLines(g)
      .map((l, i) => `<text x="20" y="${top + 46 + i * LINE}" class="s l">${xml(l)}</text>`)
      .join('');
    parts.push(
      `<g class="node"><rect class="panel" x="6" y="${top}" width="${W - 12}" height="${y - top}" rx="10"/><text x="20" y="${top + 27}" class="h">${xml(g.head)}</text>${addrLine}${body.join('')}</g>`,
    );
    y += 16;
  }
  const H = y + 8;
  const legend = `<text x="20" y="34" class="title">${xml(`proxylab inspect — cluster ${s.cluster}`)}</text><text x="${W - 20}" y="34" class="s r">client → address → what kube-proxy built → pods · red: differs from the Service</text>`;
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<title>${xml(`kube-proxy datapath of cluster ${s.cluster}`)}</title>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#556"/></marker>',
    '<style>',
    '.panel{fill:#f7f8fa;stroke:#c9ced6}.title{font-size:17px;font-weight:bold;fill:#1d2430}.h{font-size:14px;font-weight:bold;fill:#1d2430}.h2{font-size:12px;font-weight:bold;fill:#1d2430}',
    '.t{font-size:12px;text-anchor:middle;fill:#1d2430}.s{font-size:11px;text-anchor:middle;fill:#4a5363}.m{font-size:11px;font-family:DejaVu Sans Mono,monospace;fill:#1d2430}.l{text-anchor:start}.r{text-anchor:end}',
    '.client rect{fill:#e8eefc;stroke:#5b7bd5}.vip rect{fill:#fff7e0;stroke:#d4a017}.np rect{fill:#f1e8fc;stroke:#8a5bd5}.svc rect{fill:#e6f5ea;stroke:#3c9a5f}.pod rect{fill:#ffffff;stroke:#8a94a6}',
    '.dummy rect{fill:none;stroke:#d4a017;stroke-dasharray:5 4}',
    '.bad rect{fill:#fde8e8;stroke:#d23b3b;stroke-width:2}.a{fill:none;stroke:#556;stroke-width:1.3}',
    '</style></defs>',
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    legend,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
