/**
 * A small hand-written SVG line-chart renderer: panels side by side, log-scale x (number of
 * services), one line per proxy mode, the machine and method printed underneath.
 */
import { vipFor, type Mode } from './generate.js';
import type { ScaleReport } from './results.js';

export interface Point {
  x: number;
  y: number;
}

export interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  points: Point[];
}

export interface Panel {
  title: string;
  yLabel: string;
  logY?: boolean;
  series: Series[];
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  panels: Panel[];
  notes: string[];
}

export const MODE_COLORS: Record<Mode, string> = {
  iptables: '#d62728',
  ipvs: '#1f77b4',
  nftables: '#2ca02c',
};

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** Round numbers for axis ticks: 1, 2, 5 × 10^k. */
function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step)
    out.push(+v.toPrecision(12));
  return out;
}

function logTicks(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= min * 0.999 && v <= max * 1.001) out.push(+v.toPrecision(12));
    }
  }
  return out;
}

export function formatNumber(v: number): string {
  if (v >= 1000 && v % 1000 === 0) return `${v / 1000}k`;
  if (v >= 100) return String(Math.round(v));
  if (v >= 1) return String(+v.toFixed(1));
  return String(+v.toPrecision(2));
}

const W = 400;
const H = 300;
const M = { left: 58, right: 14, top: 36, bottom: 46 };

function renderPanel(p: Panel, xLabel: string, ox: number, oy: number): string {
  const pts = p.series
    .flatMap((s) => s.points)
    .filter((q) => Number.isFinite(q.x) && Number.isFinite(q.y) && q.x > 0);
  const parts: string[] = [`<g transform="translate(${ox},${oy})">`];
  parts.push(
    `<text x="${W / 2}" y="18" text-anchor="middle" class="title">${escapeXml(p.title)}</text>`,
  );
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${iw}" height="${ih}" class="frame"/>`);
  if (!pts.length) {
    parts.push(
      `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="note">no data</text>`,
      '</g>',
    );
    return parts.join('\n');
  }
  const xs = pts.map((q) => q.x);
  let xMin = Math.min(...xs);
  let xMax = Math.max(...xs);
  if (xMin === xMax) {
    xMin /= 2;
    xMax *= 2;
  }
  // Log scale: points at or below zero cannot be drawn (they stay in the JSON).
  const logY = p.logY === true && pts.some((q) => q.y > 0);
  if (logY) pts.splice(0, pts.length, ...pts.filter((q) => q.y > 0));
  const ys = pts.map((q) => q.y);
  let yMin = logY ? Math.min(...ys) / 1.5 : 0;
  let yMax = Math.max(...ys) * (logY ? 1.5 : 1.1);
  if (!(yMax > yMin)) yMax = yMin + 1;
  if (logY && yMin <= 0) yMin = yMax / 1000;
  const lx = (v: number) =>
    M.left + ((Math.log10(v) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * iw;
  const ly = (v: number) =>
    M.top +
    ih -
    (logY
      ? (Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))
      : (v - yMin) / (yMax - yMin)) *
      ih;
  for (const t of logTicks(xMin, xMax)) {
    const x = lx(t).toFixed(1);
    parts.push(`<line x1="${x}" y1="${M.top}" x2="${x}" y2="${M.top + ih}" class="grid"/>`);
    parts.push(
      `<text x="${x}" y="${M.top + ih + 16}" text-anchor="middle" class="tick">${formatNumber(t)}</text>`,
    );
  }
  for (const t of logY ? logTicks(yMin, yMax) : niceTicks(yMin, yMax)) {
    const y = ly(t).toFixed(1);
    parts.push(`<line x1="${M.left}" y1="${y}" x2="${M.left + iw}" y2="${y}" class="grid"/>`);
    parts.push(
      `<text x="${M.left - 6}" y="${(+y + 4).toFixed(1)}" text-anchor="end" class="tick">${formatNumber(t)}</text>`,
    );
  }
  parts.push(
    `<text x="${M.left + iw / 2}" y="${H - 8}" text-anchor="middle" class="axis">${escapeXml(xLabel)} (log scale)</text>`,
  );
  parts.push(
    `<text transform="translate(14,${M.top + ih / 2}) rotate(-90)" text-anchor="middle" class="axis">${escapeXml(p.yLabel)}${logY ? ' (log)' : ''}</text>`,
  );
  let legendY = M.top + 14;
  for (const s of p.series) {
    const sp = s.points
      .filter((q) => Number.isFinite(q.y) && q.x > 0 && (!logY || q.y > 0))
      .sort((a, b) => a.x - b.x);
    if (!sp.length) continue;
    const d = sp
      .map((q, i) => `${i ? 'L' : 'M'}${lx(q.x).toFixed(1)},${ly(q.y).toFixed(1)}`)
      .join(' ');
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} class="series" data-series="${escapeXml(s.name)}"/>`,
    );
    for (const q of sp) {
      parts.push(
        `<circle cx="${lx(q.x).toFixed(1)}" cy="${ly(q.y).toFixed(1)}" r="3" fill="${s.color}"><title>${escapeXml(`${s.name}: ${formatNumber(q.x)} services → ${+q.y.toPrecision(4)} ${p.yLabel}`)}</title></circle>`,
      );
    }
    parts.push(
      `<line x1="${M.left + 10}" y1="${legendY - 4}" x2="${M.left + 28}" y2="${legendY - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    parts.push(
      `<text x="${M.left + 32}" y="${legendY}" class="legend">${escapeXml(s.name)}</text>`,
    );
    legendY += 14;
  }
  parts.push('</g>');
  return parts.join('\n');
}

/** Split a note into lines of at most `max` characters, at spaces. */
export function wrap(text: string, max: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > max) {
      out.push(line);
      line = `  ${word}`;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

export function renderChart(spec: ChartSpec): string {
  const cols = Math.max(1, spec.panels.length);
  const width = cols * W + 20;
  const notes = spec.notes.flatMap((n) => wrap(n, Math.floor((width - 24) / 6.2)));
  const noteTop = H + 44;
  const height = noteTop + notes.length * 15 + 12;
  const out = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    '<style>.title{font-size:14px;font-weight:bold}.tick{font-size:10px;fill:#444}.axis{font-size:11px;fill:#222}.legend{font-size:11px}.note{font-size:11px;fill:#333}.frame{fill:none;stroke:#999}.grid{stroke:#e5e5e5}</style>',
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" style="font-size:16px;font-weight:bold">${escapeXml(spec.title)}</text>`,
  ];
  spec.panels.forEach((p, i) => out.push(renderPanel(p, spec.xLabel, 10 + i * W, 28)));
  notes.forEach((n, i) =>
    out.push(`<text x="12" y="${noteTop + i * 15}" class="note">${escapeXml(n)}</text>`),
  );
  out.push('</svg>', '');
  return out.join('\n');
}

function seriesByMode<T extends { mode: Mode; services: number; backend?: string }>(
  rows: readonly T[],
  modes: readonly Mode[],
  y: (r: T) => number | null | undefined,
): Series[] {
  const out: Series[] = [];
  for (const backend of ['native', 'vm']) {
    for (const m of modes) {
      const mine = rows.filter((r) => r.mode === m && (r.backend ?? 'native') === backend);
      if (backend === 'vm' && !mine.length) continue;
      out.push({
        name: backend === 'vm' ? `${m} (in VM)` : m,
        color: MODE_COLORS[m],
        dashed: backend === 'vm',
        points: mine
          .map((r) => ({ x: r.services, y: y(r) ?? NaN }))
          .filter((q) => Number.isFinite(q.y)),
      });
    }
  }
  return out;
}

function machineNotes(r: ScaleReport): string[] {
  const m = r.machine;
  const tools = Object.values(m.tools).join('; ');
  return [
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memGiB} GiB, kernel ${m.kernel}, backend ${m.backend}${m.loadavg ? `, load average ${m.loadavg.start}${m.loadavg.end !== undefined ? ` → ${m.loadavg.end}` : ''}` : ''}; ${tools}`,
    ...(r.vm
      ? [
          `Dashed lines: measured inside ${r.vm.describe}; compare them with each other only (emulated CPU).`,
        ]
      : []),
    `Run ${r.startedAt} → ${r.finishedAt}.${r.skipped.length ? ` Not measured: ${r.skipped.map((s) => `${s.mode} (${s.reason})`).join('; ')}` : ''}`,
  ];
}

/** Chart of a `--bare` run: programming time, one-service update, first-packet latency. */
export function bareChart(r: ScaleReport): string {
  const rows = r.bare ?? [];
  // VM rows time whole nc requests (process start included): not comparable, kept out of this panel.
  const last = (x: (typeof rows)[number]) =>
    x.backend === 'vm'
      ? null
      : (x.latency.find((l) => l.target === lastTarget(x))?.connectP50Ms ??
        x.latency[1]?.connectP50Ms ??
        x.latency[0]?.connectP50Ms);
  return renderChart({
    title: 'kube-proxy datapath at scale: iptables vs IPVS vs nftables (proxylab scale --bare)',
    xLabel: 'services (2 endpoints each)',
    panels: [
      {
        title: 'Programming N services (full restore)',
        yLabel: 'ms CPU (VM: ms wall)',
        logY: true,
        series: seriesByMode(rows, r.modes, (x) => x.programCpuMs ?? x.programMs),
      },
      {
        title: 'Adding one service on top of N',
        yLabel: 'ms CPU (VM: ms wall)',
        logY: true,
        series: seriesByMode(rows, r.modes, (x) => x.updateCpuMs ?? x.updateMs),
      },
      {
        title: 'First packet to the last service (p50)',
        yLabel: 'ms (TCP connect)',
        series: seriesByMode(rows, r.modes, last),
      },
    ],
    notes: [...machineNotes(r), ...r.method.map((l) => `· ${l}`)],
  });
}

/** The VIP of the last of the N services (the worst case for a linear rule list). */
export function lastTarget(x: { services: number }): string {
  return `${vipFor(x.services - 1)}:80`;
}

/** Chart of a cluster run: kube-proxy sync time, what a node holds, first-request latency. */
export function clusterChart(r: ScaleReport): string {
  const rows = r.cluster ?? [];
  return renderChart({
    title: 'kube-proxy on kind at scale: iptables vs IPVS vs nftables (proxylab scale)',
    xLabel: 'services',
    panels: [
      {
        title: 'kube-proxy sync time (mean)',
        yLabel: 's',
        logY: true,
        series: seriesByMode(rows, r.modes, (x) => x.syncProxyRules.meanSeconds),
      },
      {
        title: 'Rules (or virtual servers) on a node',
        yLabel: 'count',
        logY: true,
        series: seriesByMode(rows, r.modes, (x) =>
          x.mode === 'ipvs' ? x.counts.virtualServers : x.counts.rules,
        ),
      },
      {
        title: 'First request to a service (p50)',
        yLabel: 'ms',
        series: seriesByMode(rows, r.modes, (x) => x.latency?.requestP50Ms),
      },
    ],
    notes: [...machineNotes(r), ...r.method.map((l) => `· ${l}`)],
  });
}
