/**
 * The datapath picture: per node, client → ClusterIP (on kube-ipvs0) → IPVS virtual
 * server (KUBE-SVC chain in iptables mode, service-ips map entry and chain in nftables
 * mode) → pods. Plain SVG 1.1, no scripts, no
 * external resources: it opens in any browser and embeds in the labs' markdown.
 */
import { servicePortKey, type Snapshot, type NodeView, type ServicePort } from './join.js';
import type { Finding } from './findings.js';

const W = 1000;
const COL = { client: 16, vip: 130, svc: 390, pod: 640 };
const BOX = { client: 90, vip: 220, svc: 220, pod: 344 };
const POD_H = 30;
const GAP = 8;
const ROW_PAD = 10;
const NODE_HEAD = 44;

export function xml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

interface Row {
  port: ServicePort;
  vipText: string[];
  svcText: string[];
  targets: { text: string; sub: string; ready: boolean }[];
  bad: boolean;
  vipBound: boolean | null;
}

function rowsFor(n: NodeView, ports: ServicePort[], bad: Set<string>): Row[] {
  const rows: Row[] = [];
  for (const p of ports) {
    const v = n.services[servicePortKey(p)];
    if (!v) continue;
    const label = `${p.service}${p.portName ? `:${p.portName}` : ''}`;
    const vipText = [`${p.clusterIP}:${p.port}/${p.protocol}`, label];
    let svcText: string[];
    let targets: string[];
    if (n.mode === 'ipvs') {
      if (v.ipvs) {
        svcText = [
          `IPVS ${p.protocol} ${p.clusterIP}:${p.port}`,
          `scheduler ${v.ipvs.scheduler ?? '?'}${v.ipvs.persistent ? `, persistent ${v.ipvs.persistent}s` : ''}`,
        ];
        targets = v.ipvs.realServers;
      } else {
        svcText = [v.ipvs === false ? 'no IPVS virtual server' : 'IPVS table not readable', ''];
        targets = [];
      }
    } else if (n.mode === 'iptables') {
      if (v.iptables) {
        svcText = [v.iptables.chain, `${v.iptables.endpoints.length} × KUBE-SEP (random)`];
        targets = v.iptables.endpoints;
      } else {
        svcText = [v.iptables === false ? 'no KUBE-SVC chain' : 'iptables not readable', ''];
        targets = [];
      }
    } else if (n.mode === 'nftables') {
      if (v.nft) {
        // the chain name carries ns/name/proto/port, already in the VIP box: keep its hash part
        svcText = [
          `nft ${v.nft.chain.split('-').slice(0, 2).join('-')}`,
          `${v.nft.endpoints.length} endpoint${v.nft.endpoints.length === 1 ? '' : 's'} (numgen random)`,
        ];
        targets = v.nft.endpoints;
      } else {
        svcText = [v.nft === false ? 'not in map service-ips' : 'nft table not readable', ''];
        targets = [];
      }
    } else {
      svcText = [n.mode ? `${n.mode} mode` : 'mode unknown', 'not drawn'];
      targets = p.ready;
    }
    rows.push({
      port: p,
      vipText,
      svcText,
      targets: targets.map((t) => {
        const ip = t.startsWith('[') ? t.slice(1, t.indexOf(']')) : t.slice(0, t.lastIndexOf(':'));
        const pod = p.pods[ip];
        const ready = p.ready.includes(t);
        return {
          text: t,
          sub: ready ? (pod ?? 'ready endpoint') : `${pod ?? 'endpoint'} (NOT ready)`,
          ready,
        };
      }),
      bad: bad.has(`${n.node}|${label}`),
      vipBound: v.vipOnKubeIpvs0,
    });
  }
  return rows;
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
  const max = Math.floor(w / 6.7);
  const cy = y + h / 2 - ((t.length - 1) * 14) / 2;
  const text = t
    .map(
      (l, i) =>
        `<text x="${x + w / 2}" y="${(cy + i * 14 + 4).toFixed(1)}" class="${i === 0 ? 't' : 's'}">${xml(l.length > max ? `${l.slice(0, max - 1)}…` : l)}</text>`,
    )
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
}

/** Render the snapshot as one SVG document. */
export function renderSvg(s: Snapshot, found: Finding[], opts: SvgOptions = {}): string {
  const bad = new Set(
    found
      .filter((f) => f.severity === 'error' && f.node && f.service)
      .map((f) => `${f.node}|${f.service}`),
  );
  const ports = s.servicePorts.filter(
    (p) => !(opts.skipNamespaces ?? []).includes(p.service.split('/')[0]!),
  );
  const parts: string[] = [];
  let y = 56;
  for (const n of s.nodes) {
    if (opts.nodes && !opts.nodes.includes(n.node)) continue;
    const rows = rowsFor(n, ports, bad);
    const top = y;
    y += NODE_HEAD;
    const body: string[] = [];
    const rowMid: number[] = [];
    for (const r of rows) {
      const h = Math.max(1, r.targets.length) * (POD_H + GAP) - GAP + 2 * ROW_PAD;
      const mid = y + h / 2;
      rowMid.push(mid);
      const vipCls = r.vipBound === false && n.mode === 'ipvs' ? 'vip bad' : 'vip';
      const vipTitle =
        n.mode === 'ipvs'
          ? r.vipBound
            ? `${r.port.clusterIP} is bound to kube-ipvs0`
            : r.vipBound === false
              ? `${r.port.clusterIP} is NOT on kube-ipvs0`
              : 'kube-ipvs0 not readable'
          : 'ClusterIP';
      body.push(box(COL.vip, mid - 22, BOX.vip, 44, [...r.vipText], vipCls, vipTitle));
      body.push(arrow(COL.vip + BOX.vip, mid, COL.svc, mid));
      body.push(box(COL.svc, mid - 22, BOX.svc, 44, r.svcText, r.bad ? 'svc bad' : 'svc'));
      r.targets.forEach((t, i) => {
        const ty = y + ROW_PAD + i * (POD_H + GAP);
        body.push(arrow(COL.svc + BOX.svc, mid, COL.pod, ty + POD_H / 2));
        body.push(
          box(COL.pod, ty, BOX.pod, POD_H, [`${t.text}  ${t.sub}`], t.ready ? 'pod' : 'pod bad'),
        );
      });
      if (!r.targets.length)
        body.push(
          `<text x="${COL.pod + 8}" y="${(mid + 4).toFixed(1)}" class="s l">no endpoints</text>`,
        );
      y += h + 12;
    }
    if (!rows.length) {
      body.push(
        `<text x="${COL.vip}" y="${y + 20}" class="s l">no Services with a ClusterIP</text>`,
      );
      y += 36;
    }
    // One client per node, with an arrow to every VIP.
    const cMid = rowMid.length
      ? (rowMid[0]! + rowMid[rowMid.length - 1]!) / 2
      : top + NODE_HEAD + 20;
    body.unshift(box(COL.client, cMid - 20, BOX.client, 40, ['client', 'pod or node'], 'client'));
    for (const m of rowMid) body.push(arrow(COL.client + BOX.client, cMid, COL.vip, m));
    const head = `${n.node} — ${n.mode ? `${n.mode} mode` : 'mode unknown'}${n.mode === 'ipvs' ? ` — ${n.ipvsServices} IPVS virtual servers, ${n.kubeIpvs0Addresses ?? 0} ClusterIPs on kube-ipvs0` : ''}`;
    parts.push(
      `<g class="node"><rect class="panel" x="6" y="${top}" width="${W - 12}" height="${y - top}" rx="10"/><text x="20" y="${top + 27}" class="h">${xml(head)}</text>${body.join('')}</g>`,
    );
    y += 16;
  }
  const H = y + 8;
  const legend = `<text x="20" y="34" class="title">${xml(`proxylab inspect — cluster ${s.cluster}`)}</text><text x="${W - 20}" y="34" class="s r">client → ClusterIP (kube-ipvs0) → IPVS virtual server / KUBE-SVC → pods · red: differs from the Service</text>`;
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<title>${xml(`kube-proxy datapath of cluster ${s.cluster}`)}</title>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#556"/></marker>',
    '<style>',
    '.panel{fill:#f7f8fa;stroke:#c9ced6}.title{font-size:17px;font-weight:bold;fill:#1d2430}.h{font-size:14px;font-weight:bold;fill:#1d2430}',
    '.t{font-size:12px;text-anchor:middle;fill:#1d2430}.s{font-size:11px;text-anchor:middle;fill:#4a5363}.l{text-anchor:start}.r{text-anchor:end}',
    '.client rect{fill:#e8eefc;stroke:#5b7bd5}.vip rect{fill:#fff7e0;stroke:#d4a017}.svc rect{fill:#e6f5ea;stroke:#3c9a5f}.pod rect{fill:#ffffff;stroke:#8a94a6}',
    '.bad rect{fill:#fde8e8;stroke:#d23b3b;stroke-width:2}.a{fill:none;stroke:#556;stroke-width:1.3}',
    '</style></defs>',
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    legend,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
