/**
 * The scale chart (src/scale/svg.ts, drawn by Vega-Lite): each panel one quantity in one unit,
 * this kernel and the micro-VM in separate rows, the checked-in charts are what their measured
 * JSON draws, and in headless Chromium no legend, title or footer lies over a plotted point.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from 'vega-lite';
import { parse, View } from 'vega';
import { ROOT } from '../../helpers/cli.js';
import { dumpDom, findChromium, NO_CHROMIUM, screenshot } from '../../helpers/chromium.js';
import { parseXml } from '../../helpers/xml.js';
import {
  bareChart,
  bareRows,
  chartSpec,
  clusterChart,
  clusterRows,
} from '../../../src/scale/svg.js';
import type { ScaleReport } from '../../../src/scale/results.js';

const MEASURED = join(ROOT, 'labs', 'scale', 'measured');

/** Every measured run in the repository: [folder, report]. */
function measured(): Array<[string, ScaleReport]> {
  const dirs = [
    MEASURED,
    ...readdirSync(MEASURED, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(MEASURED, d.name)),
  ];
  return dirs
    .filter((d) => existsSync(join(d, 'scale-bare.json')))
    .map((d) => [d, JSON.parse(readFileSync(join(d, 'scale-bare.json'), 'utf8')) as ScaleReport]);
}

test('each panel holds one quantity in one unit; this kernel and the VM are separate rows', () => {
  const runs = measured();
  assert.ok(runs.length >= 5, `${runs.length} measured runs`);
  for (const [dir, r] of runs) {
    const rows = bareRows(r);
    const native = (r.bare ?? []).filter((x) => (x.backend ?? 'native') === 'native');
    const vm = (r.bare ?? []).filter((x) => x.backend === 'vm');
    assert.equal(rows.length, (native.length ? 1 : 0) + (vm.length ? 1 : 0), dir);
    for (const row of rows) {
      const inVm = /micro-VM/.test(row.title);
      const src = inVm ? vm : native;
      const [prog, upd, lat] = row.panels;
      // the programming panel: CPU time wherever the run measured it, never mixed with wall time
      const cpu = !inVm && src.some((x) => x.programCpuMs !== undefined);
      assert.equal(prog!.unit, cpu ? 'CPU time, ms' : 'wall time, ms', dir);
      for (const p of prog!.points) {
        const x = src.find((y) => y.mode === p.mode && y.services === p.services)!;
        assert.equal(p.value, cpu ? x.programCpuMs : x.programMs, `${dir} ${p.mode} ${p.services}`);
      }
      // the update panel says CPU when it plots CPU, "median wall time" only for wall times
      const ucpu = !inVm && src.some((x) => x.updateCpuMs !== undefined);
      assert.equal(upd!.unit, ucpu ? 'CPU time, ms' : 'median wall time, ms', dir);
      for (const p of upd!.points) {
        const x = src.find((y) => y.mode === p.mode && y.services === p.services)!;
        assert.equal(p.value, ucpu ? x.updateCpuMs : x.updateMs);
      }
      // latency: TCP connect on this kernel; whole nc requests in the VM, IPVS included
      assert.equal(lat!.unit, inVm ? 'request p50, ms' : 'TCP connect p50, ms');
      if (inVm && src.some((x) => x.mode === 'ipvs'))
        assert.ok(
          lat!.points.some((p) => p.mode === 'ipvs'),
          `${dir}: IPVS in the latency panel`,
        );
      // a mode of the run with no point in a panel is named under its title
      for (const p of row.panels)
        for (const m of r.modes)
          if (!p.points.some((q) => q.mode === m))
            assert.match(p.missing ?? '', new RegExp(`not measured here: .*${m}`));
    }
  }
});

test('the checked-in charts are what their measured JSON draws, with a footer of at most 4 lines', async () => {
  for (const [dir, r] of measured()) {
    const svg = await bareChart(r);
    assert.equal(parseXml(svg).name, 'svg');
    assert.equal(
      readFileSync(join(dir, 'scale-bare.svg'), 'utf8'),
      svg,
      `${dir}/scale-bare.svg is stale: regenerate it from scale-bare.json (bareChart)`,
    );
    const footer = /<g class="mark-text role-mark footer_marks"[^>]*>([\s\S]*?)<\/g>/.exec(svg);
    assert.ok(footer, dir);
    const lines = footer[1]!.match(/<text/g)?.length ?? 0;
    assert.ok(lines >= 1 && lines <= 4, `${dir}: ${lines} footer lines`);
    assert.doesNotMatch(svg, /median wall time[^<]*CPU|CPU[^<]*median wall time/);
  }
  // the cluster chart draws too, and an empty run says so
  const r = measured()[0]![1];
  const c: ScaleReport = { ...r, target: 'cluster', bare: undefined, cluster: [] };
  assert.deepEqual(clusterRows(c), []);
  assert.match(await clusterChart(c), /no data/);
});

/** A page with the SVGs inline and a script writing what overlaps into <pre id="out">. */
function overlapPage(svgs: string[]): string {
  const script = `
const box = (e) => e.getBoundingClientRect();
const hit = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
const union = (rs) => rs.length ? { left: Math.min(...rs.map((r) => r.left)), top: Math.min(...rs.map((r) => r.top)), right: Math.max(...rs.map((r) => r.right)), bottom: Math.max(...rs.map((r) => r.bottom)) } : null;
const out = [];
document.querySelectorAll('.chart').forEach((c, i) => {
  const q = (s) => [...c.querySelectorAll(s)];
  const legend = union(q('.role-legend-symbol path, .role-legend-label text, .role-legend-title text').map(box));
  const points = q('.mark-symbol.role-mark path').map(box);
  const lines = q('.mark-line.role-mark path').map(box);
  const texts = q('.role-title-text text, .role-title-subtitle text, .footer_marks text, .role-axis-title text').map((t) => ({ t: t.textContent, r: box(t) }));
  const bad = [];
  if (legend) {
    points.forEach((p, k) => { if (hit(legend, p)) bad.push('legend over point ' + k); });
    lines.forEach((p, k) => { if (hit(legend, p)) bad.push('legend over line ' + k); });
  }
  for (const t of texts) points.forEach((p, k) => { if (hit(t.r, p)) bad.push('"' + t.t + '" over point ' + k); });
  out.push({ chart: i, legend: !!legend, points: points.length, bad });
});
document.getElementById('out').textContent = JSON.stringify(out);
`;
  return `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">${svgs
    .map((s) => `<div class="chart">${s.replace(/^<\?xml[^>]*>\s*/, '')}</div>`)
    .join('')}<pre id="out"></pre><script>${script}</script></body></html>`;
}

interface Overlap {
  chart: number;
  legend: boolean;
  points: number;
  bad: string[];
}

function overlaps(file: string): Overlap[] {
  const dom = dumpDom(file);
  const m = /<pre id="out">([^<]*)<\/pre>/.exec(dom);
  assert.ok(m && m[1], 'the page ran its check');
  return JSON.parse(m[1]!.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as Overlap[];
}

test('in headless Chromium no legend, title or footer lies over the data', async (t) => {
  if (!findChromium()) {
    t.skip(NO_CHROMIUM);
    return;
  }
  const out = join(ROOT, 'test-results');
  mkdirSync(out, { recursive: true });
  const runs = measured();
  const svgs = runs.map(([dir]) => readFileSync(join(dir, 'scale-bare.svg'), 'utf8'));
  // and the check itself finds a legend drawn inside a plot
  const r = runs.find(([d]) => d.endsWith('default-run'))?.[1] ?? runs[0]![1];
  const spec = chartSpec({
    title: 'bad',
    xTitle: 'services',
    rows: bareRows(r),
    footer: ['x'],
  }) as unknown as {
    config: { legend: Record<string, unknown> };
  };
  spec.config.legend = { orient: 'none', legendX: 60, legendY: 80, symbolSize: 400 };
  const view = new View(parse(compile(spec as never).spec), { renderer: 'none' });
  svgs.push(await view.toSVG());
  view.finalize();
  const page = join(out, 'scale-chart-overlaps.html');
  writeFileSync(page, overlapPage(svgs));
  const res = overlaps(page);
  assert.equal(res.length, svgs.length);
  for (const [i, [dir]] of runs.entries()) {
    assert.ok(res[i]!.legend && res[i]!.points > 0, `${dir}: legend and points found`);
    assert.deepEqual(res[i]!.bad, [], `${dir}: overlaps`);
  }
  assert.ok(res[svgs.length - 1]!.bad.length > 0, 'a legend inside a plot is caught');
  // one picture to look at
  const file = join(out, 'scale-chart.svg');
  writeFileSync(file, svgs[runs.findIndex(([d]) => d.endsWith('default-run'))] ?? svgs[0]!);
  const size = screenshot(file, join(out, 'scale-chart.png'), 1320, 780);
  assert.ok(size > 20_000, `a real screenshot (${size} bytes)`);
});
