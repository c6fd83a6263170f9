/**
 * The scale chart (`proxylab scale` → scale-bare.svg / scale-cluster.svg), drawn by Vega-Lite
 * (compiled to Vega, rendered to SVG in Node without a browser).
 *
 * Each panel shows one quantity in one unit; measurements on this machine's kernel and
 * measurements inside the micro-VM (emulated CPU, wall clock) are separate rows, never on one
 * axis. The legend sits under the panels, outside every plot. The method stays in the JSON's
 * `method` field and labs/scale/README.md; the chart's footer is the machine and the run.
 */
import { compile, type TopLevelSpec } from 'vega-lite';
import { parse, View } from 'vega';
import { vipFor, type Mode } from './generate.js';
import type { ScaleReport } from './results.js';

export const MODE_COLORS: Record<Mode, string> = {
  iptables: '#d62728',
  ipvs: '#1f77b4',
  nftables: '#2ca02c',
};

const MODES: Mode[] = ['iptables', 'ipvs', 'nftables'];

/** One plotted point: a mode's value at N services. */
export interface Point {
  mode: Mode;
  services: number;
  value: number;
}

/** One panel: one quantity, one unit. */
export interface Panel {
  title: string;
  /** The y axis title: the unit and what was measured. */
  unit: string;
  logY: boolean;
  points: Point[];
  /** Shown under the title when a mode has no point here (and why). */
  missing?: string;
}

/** A row of panels measured the same way (this kernel, or the micro-VM). */
export interface PanelRow {
  title: string;
  panels: Panel[];
}

export interface ChartSpec {
  title: string;
  xTitle: string;
  rows: PanelRow[];
  /** At most a few lines: the machine and the run. */
  footer: string[];
}

const PANEL_W = 250;
const PANEL_H = 200;

function panelSpec(p: Panel, xTitle: string, modes: Mode[]): Record<string, unknown> {
  const values = p.points.filter(
    (q) => Number.isFinite(q.value) && q.services > 0 && (!p.logY || q.value > 0),
  );
  return {
    width: PANEL_W,
    height: PANEL_H,
    title: {
      text: p.title,
      ...(p.missing ? { subtitle: p.missing, subtitleColor: '#666' } : {}),
    },
    data: { values },
    mark: { type: 'line', point: { filled: true, size: 36 }, strokeWidth: 2 },
    encoding: {
      x: {
        field: 'services',
        type: 'quantitative',
        scale: { type: 'log' },
        axis: { title: xTitle, format: '~s', values: xTicks(values) },
      },
      y: {
        field: 'value',
        type: 'quantitative',
        scale: p.logY ? { type: 'log' } : { zero: true },
        axis: { title: p.unit, format: p.logY ? '~s' : '~r' },
      },
      color: {
        field: 'mode',
        type: 'nominal',
        title: 'mode',
        scale: { domain: modes, range: modes.map((m) => MODE_COLORS[m]) },
      },
      tooltip: [
        { field: 'mode', type: 'nominal' },
        { field: 'services', type: 'quantitative' },
        { field: 'value', type: 'quantitative', title: p.unit },
      ],
    },
  };
}

function xTicks(values: readonly Point[]): number[] {
  return [...new Set(values.map((v) => v.services))].sort((a, b) => a - b);
}

/** Lines of text under (or instead of) the panels, drawn as a text mark with no axes. */
function textBlock(lines: readonly string[], name: string): Record<string, unknown> {
  return {
    name,
    width: 3 * PANEL_W,
    height: { step: 15 },
    data: { values: lines.map((t, i) => ({ i, t })) },
    mark: { type: 'text', align: 'left', baseline: 'middle', fontSize: 11, color: '#333' },
    encoding: {
      x: { value: 0 },
      y: { field: 'i', type: 'ordinal', axis: null },
      text: { field: 't' },
    },
    view: { stroke: null },
  };
}

/** The Vega-Lite spec of a chart (pure: what `renderChart` draws). */
export function chartSpec(spec: ChartSpec): TopLevelSpec {
  const used = MODES.filter((m) =>
    spec.rows.some((r) => r.panels.some((p) => p.points.some((q) => q.mode === m))),
  );
  const modes = used.length ? used : MODES;
  const rows = spec.rows.filter((r) => r.panels.length);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: spec.title, anchor: 'start', fontSize: 15, offset: 14 },
    background: 'white',
    padding: 12,
    vconcat: [
      ...(rows.length
        ? rows.map((r) => ({
            title: { text: r.title, anchor: 'start', fontSize: 13 },
            hconcat: r.panels.map((p) => panelSpec(p, spec.xTitle, modes)),
          }))
        : [textBlock(['no data'], 'nodata')]),
      textBlock(spec.footer, 'footer'),
    ],
    resolve: { scale: { color: 'shared' } },
    config: {
      font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
      legend: { orient: 'bottom', direction: 'horizontal', titleFontSize: 12, labelFontSize: 12 },
      title: { fontSize: 12, subtitleFontSize: 11 },
      axis: {
        labelFontSize: 10,
        titleFontSize: 11,
        grid: true,
        gridColor: '#eee',
        labelOverlap: 'greedy',
      },
      view: { stroke: '#bbb' },
      concat: { spacing: 26 },
    },
  } as unknown as TopLevelSpec;
}

/** Draw a chart to an SVG document. */
export async function renderChart(spec: ChartSpec): Promise<string> {
  const view = new View(parse(compile(chartSpec(spec)).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return `<?xml version="1.0" encoding="UTF-8"?>\n${svg}\n`;
}

function points<T extends { mode: Mode; services: number }>(
  rows: readonly T[],
  y: (r: T) => number | null | undefined,
): Point[] {
  const out: Point[] = [];
  for (const r of rows) {
    const v = y(r);
    if (typeof v === 'number' && Number.isFinite(v))
      out.push({ mode: r.mode, services: r.services, value: v });
  }
  return out;
}

/** "not measured: ipvs (no ip_vs module)" for the modes of the run a panel has no point of. */
function missing(r: ScaleReport, ps: readonly Point[]): string | undefined {
  const absent = r.modes.filter((m) => !ps.some((p) => p.mode === m));
  if (!absent.length) return undefined;
  return `not measured here: ${absent.join(', ')}`;
}

/** A skip reason's first clause: the JSON keeps the whole of it. */
function shortReason(reason: string): string {
  const first = reason.split(/;|\s\(/)[0]!.trim();
  return first.length > 90 ? `${first.slice(0, 89)}…` : first;
}

function footer(r: ScaleReport): string[] {
  const m = r.machine;
  const load = m.loadavg
    ? `, load ${m.loadavg.start}${m.loadavg.end !== undefined ? ` → ${m.loadavg.end}` : ''}`
    : '';
  return [
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memGiB} GiB, kernel ${m.kernel}${load}. Run ${r.startedAt} → ${r.finishedAt}.`,
    ...(r.vm ? [`Micro-VM: ${r.vm.describe}.`] : []),
    ...(r.skipped.length
      ? [
          `Not measured: ${r.skipped.map((s) => `${s.mode} (${shortReason(s.reason)})`).join('; ')}.`,
        ]
      : []),
    'How each number is measured: the "method" field of the JSON beside this chart, and labs/scale/README.md.',
  ];
}

/** The VIP of the last of the N services (the worst case for a linear rule list). */
export function lastTarget(x: { services: number }): string {
  return `${vipFor(x.services - 1)}:80`;
}

type BareRow = NonNullable<ScaleReport['bare']>[number];

function toLast(x: BareRow) {
  return x.latency.find((l) => l.target === lastTarget(x)) ?? x.latency[1] ?? x.latency[0];
}

/** The panels of a `--bare` run (exported for tests). */
export function bareRows(r: ScaleReport): PanelRow[] {
  const rows = r.bare ?? [];
  const native = rows.filter((x) => (x.backend ?? 'native') === 'native');
  const vm = rows.filter((x) => x.backend === 'vm');
  const out: PanelRow[] = [];
  if (native.length) {
    // CPU time where the run has it (a busy machine does not inflate it), else wall time
    const cpu = native.some((x) => x.programCpuMs !== undefined);
    const prog = points(native, (x) => (cpu ? x.programCpuMs : x.programMs));
    const ucpu = native.some((x) => x.updateCpuMs !== undefined);
    const upd = points(native, (x) => (ucpu ? x.updateCpuMs : x.updateMs));
    const lat = points(native, (x) => toLast(x)?.connectP50Ms);
    out.push({
      title: `On this machine's kernel (${r.machine.kernel})`,
      panels: [
        {
          title: 'Programming N services (full restore)',
          unit: cpu ? 'CPU time, ms' : 'wall time, ms',
          logY: true,
          points: prog,
          missing: missing(r, prog),
        },
        {
          title: 'Adding one service on top of N',
          unit: ucpu ? 'CPU time, ms' : 'median wall time, ms',
          logY: true,
          points: upd,
          missing: missing(r, upd),
        },
        {
          title: 'First packet to the last service',
          unit: 'TCP connect p50, ms',
          logY: false,
          points: lat,
          missing: missing(r, lat),
        },
      ],
    });
  }
  if (vm.length) {
    const prog = points(vm, (x) => x.programMs);
    const upd = points(vm, (x) => x.updateMs);
    const lat = points(vm, (x) => toLast(x)?.requestP50Ms);
    out.push({
      title: 'Inside the micro-VM (emulated CPU): compare the modes with each other only',
      panels: [
        {
          title: 'Programming N services (full restore)',
          unit: 'wall time, ms',
          logY: true,
          points: prog,
          missing: missing(r, prog),
        },
        {
          title: 'Adding one service on top of N',
          unit: 'median wall time, ms',
          logY: true,
          points: upd,
          missing: missing(r, upd),
        },
        {
          title: 'Request to the last service (whole nc run)',
          unit: 'request p50, ms',
          logY: false,
          points: lat,
          missing: missing(r, lat),
        },
      ],
    });
  }
  return out;
}

/** Chart of a `--bare` run: programming time, one-service update, first-packet latency. */
export function bareChart(r: ScaleReport): Promise<string> {
  return renderChart({
    title: 'kube-proxy datapath at scale: iptables vs IPVS vs nftables (proxylab scale --bare)',
    xTitle: 'services (2 endpoints each, log)',
    rows: bareRows(r),
    footer: footer(r),
  });
}

/** The panels of a cluster run (exported for tests). */
export function clusterRows(r: ScaleReport): PanelRow[] {
  const rows = r.cluster ?? [];
  if (!rows.length) return [];
  const sync = points(rows, (x) => x.syncProxyRules.meanSeconds);
  const rules = points(
    rows.filter((x) => x.mode !== 'ipvs'),
    (x) => x.counts.rules,
  );
  const vs = points(
    rows.filter((x) => x.mode === 'ipvs'),
    (x) => x.counts.virtualServers,
  );
  const lat = points(rows, (x) => x.latency?.requestP50Ms);
  const panels: Panel[] = [
    {
      title: 'kube-proxy sync time',
      unit: 'mean sync, s',
      logY: true,
      points: sync,
      missing: missing(r, sync),
    },
    {
      title: 'Rules on a node (iptables, nftables)',
      unit: 'rules',
      logY: true,
      points: rules,
    },
  ];
  if (vs.length)
    panels.push({
      title: 'IPVS virtual servers on a node',
      unit: 'virtual servers',
      logY: true,
      points: vs,
    });
  panels.push({
    title: 'First request to a service',
    unit: 'request p50, ms',
    logY: false,
    points: lat,
    missing: missing(r, lat),
  });
  return [{ title: 'kube-proxy on a kind cluster', panels }];
}

/** Chart of a cluster run: kube-proxy sync time, what a node holds, first-request latency. */
export function clusterChart(r: ScaleReport): Promise<string> {
  return renderChart({
    title: 'kube-proxy on kind at scale: iptables vs IPVS vs nftables (proxylab scale)',
    xTitle: 'services (log)',
    rows: clusterRows(r),
    footer: footer(r),
  });
}
