/**
 * `proxylab check --html FILE`: one self-contained HTML page (no script, no external
 * resource) with every step of a lab run: ✔/✘, the command, the diff of a failed step with
 * the reason for each line, the values renamed from the doc to this cluster, timings, and
 * the live datapath picture (`proxylab inspect --svg`) when there is one.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { findEntry } from '../commands/registry.js';
import type { Context } from '../core/context.js';
import { run } from '../core/exec.js';
import { paths } from '../core/paths.js';
import type { CheckResult, StepResult } from '../doccheck/result.js';
import type { DiffLine } from '../doccheck/matcher.js';
import type { Renaming } from '../doccheck/bindings.js';
import { escapeHtml, inlineHtml, inlineText } from './inline.js';

export { escapeHtml };

export interface HtmlOptions {
  /** An SVG document (from `proxylab inspect --svg`) to show as the live datapath. */
  datapathSvg?: string;
  /** Why there is no datapath picture (shown instead of it). */
  datapathNote?: string;
  /** Extra facts for the header, e.g. { 'kube-proxy mode': 'ipvs' }. */
  facts?: Record<string, string>;
}

/** Keep only the picture: no scripts, no event handlers, no external references. */
export function sanitizeSvg(svg: string): string {
  const start = svg.search(/<svg[\s>]/);
  if (start < 0) return '';
  return svg
    .slice(start)
    .replace(/<script[\s\S]*?<\/script\s*>/gi, '')
    .replace(/<foreignObject[\s\S]*?<\/foreignObject\s*>/gi, '')
    .replace(/\son[a-z]+\s*=\s*("[^"]*"|'[^']*')/gi, '')
    .replace(/\s(?:xlink:)?href\s*=\s*("(?!#)[^"]*"|'(?!#)[^']*')/gi, '');
}

const MARK: Record<StepResult['status'], string> = {
  passed: '✔',
  failed: '✘',
  error: '✘',
  skipped: '○',
};

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A renaming that changes nothing (the doc's value is the cluster's) is no renaming. */
function isRename(r: Renaming): boolean {
  const same =
    r.cls === 'ip' || r.cls === 'mac'
      ? r.doc.toLowerCase() === r.actual.toLowerCase()
      : r.doc === r.actual;
  return !same;
}

export interface RenamedValue extends Renaming {
  /** The steps whose output showed this renaming. */
  steps: number[];
}

/**
 * Every value renamed in the run, once: the run's bindings and each step's renamings (a
 * failed step's too), without identity pairs. The header counts this list.
 */
export function renamedValues(r: CheckResult): RenamedValue[] {
  const out = new Map<string, RenamedValue>();
  const key = (x: Renaming) => `${x.cls}\u0000${x.doc}\u0000${x.actual}`;
  for (const b of r.bindings.filter(isRename)) out.set(key(b), { ...b, steps: [] });
  for (const s of r.steps)
    for (const x of s.renamed.filter(isRename)) {
      const v = out.get(key(x)) ?? { ...x, steps: [] };
      if (!v.steps.includes(s.index)) v.steps.push(s.index);
      out.set(key(x), v);
    }
  return [...out.values()];
}

function renamings(list: readonly (Renaming & { steps?: number[] })[], cls = 'renamed'): string {
  const shown = list.filter(isRename);
  if (!shown.length) return '';
  return `<ul class="${cls}">${shown
    .map((r) => {
      const where = r.steps?.length
        ? ` · ${r.steps.length === 1 ? 'step' : 'steps'} ${r.steps.join(', ')}`
        : '';
      return `<li><code>${escapeHtml(r.doc)}</code> → <code>${escapeHtml(r.actual)}</code> <span class="cls">${escapeHtml(r.cls)}${where}</span></li>`;
    })
    .join('')}</ul>`;
}

/** Lines that match, far from any difference, are folded into one row (context: 2 lines). */
const CONTEXT = 2;

function diffTable(diff: readonly DiffLine[]): string {
  const near = diff.map((_, i) =>
    diff.slice(Math.max(0, i - CONTEXT), i + CONTEXT + 1).some((d) => d.op !== 'same'),
  );
  const rows: string[] = [];
  for (let i = 0; i < diff.length;) {
    if (near[i]) {
      rows.push(diffRow(diff[i]!));
      i++;
      continue;
    }
    let j = i;
    while (j < diff.length && !near[j]) j++;
    if (j - i === 1) rows.push(diffRow(diff[i]!));
    else
      rows.push(
        `<tr class="fold"><td class="op">⋯</td><td colspan="2">${j - i} matching lines (in the outputs below)</td></tr>`,
      );
    i = j;
  }
  return `<div class="diffwrap"><table class="diff"><thead><tr><th></th><th>expected (the doc)</th><th>actual (this cluster)</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function diffRow(d: DiffLine): string {
  const e = d.expected
    ? `<span class="ln">${d.expected.line}</span>${escapeHtml(d.expected.text)}`
    : '';
  const a = d.actual ? `<span class="ln">${d.actual.line}</span>${escapeHtml(d.actual.text)}` : '';
  const row = `<tr class="op-${d.op}"><td class="op">${OPS[d.op]}</td><td class="txt">${e}</td><td class="txt">${a}</td></tr>`;
  // why a line differs goes under it, across both columns, so the outputs keep their width
  const why = (d.why ?? []).map((w) => `<div>↑ ${escapeHtml(w)}</div>`).join('');
  return why
    ? `${row}<tr class="why-row"><td></td><td colspan="2" class="why">${why}</td></tr>`
    : row;
}

const OPS: Record<DiffLine['op'], string> = {
  same: '=',
  changed: '≠',
  missing: '−',
  unexpected: '+',
};

function stepCard(s: StepResult, maxMs: number): string {
  const bad = s.status === 'failed' || s.status === 'error';
  const width = maxMs > 0 ? Math.max(1, Math.round((s.durationMs / maxMs) * 100)) : 0;
  const meta = [
    s.node ? `on ${escapeHtml(s.node)}` : '',
    formatMs(s.durationMs),
    s.attempts > 1 ? `${s.attempts} attempts` : '',
    s.exitCode !== null && s.exitCode !== s.expectedExit
      ? `exit code ${s.exitCode}, expected ${s.expectedExit}`
      : '',
    s.kind ? `compared as ${escapeHtml(s.kind)}` : '',
    s.updated ? 'expected output updated' : '',
  ].filter(Boolean);
  const parts: string[] = [];
  if (s.reason) parts.push(`<p class="reason">${escapeHtml(s.reason)}</p>`);
  if (bad && s.diff?.length) parts.push(diffTable(s.diff));
  else if (bad && s.diffText) parts.push(`<pre class="difftext">${escapeHtml(s.diffText)}</pre>`);
  if (s.notes?.length)
    parts.push(
      `<ul class="notes">${s.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`,
    );
  if (s.renamed.some(isRename))
    parts.push(
      `<div class="sub">${bad ? 'values this output renames (not kept for later steps: the step differs)' : 'values renamed by this step'}</div>${renamings(s.renamed)}`,
    );
  const outputs =
    `<div class="outputs"><div><div class="sub">expected (the doc)</div><pre>${escapeHtml(s.expected) || '<i>(no output expected)</i>'}</pre></div>` +
    `<div><div class="sub">actual (this cluster)</div><pre>${escapeHtml(s.actual) || '<i>(no output)</i>'}</pre></div></div>`;
  parts.push(bad ? outputs : `<details><summary>outputs</summary>${outputs}</details>`);
  return `<section class="step ${s.status}" id="step-${s.index}">
<h3><span class="mark">${MARK[s.status]}</span> <span class="num">step ${s.index}</span> <code class="cmd">$ ${escapeHtml(s.command)}</code></h3>
<div class="where">${s.heading ? `${inlineHtml(s.heading)} · ` : ''}doc line ${s.line}</div>
<div class="meta">${meta.join(' · ')} <span class="bar"><span style="width:${width}%"></span></span></div>
${parts.join('\n')}
</section>`;
}

/** Steps in doc order, in runs that share a heading. */
function byHeading(steps: readonly StepResult[]): Array<{ heading: string; steps: StepResult[] }> {
  const out: Array<{ heading: string; steps: StepResult[] }> = [];
  for (const s of steps) {
    const last = out[out.length - 1];
    if (last && last.heading === s.heading) last.steps.push(s);
    else out.push({ heading: s.heading, steps: [s] });
  }
  return out;
}

function isBad(s: StepResult): boolean {
  return s.status === 'failed' || s.status === 'error';
}

const CSS = `
:root{--ok:#1a7f37;--bad:#cf222e;--skip:#8c959f;--bg:#ffffff;--fg:#1f2328;--mute:#59636e;--line:#d1d9e0}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:0 0 6px}
.summary{display:flex;gap:12px;flex-wrap:wrap;margin:14px 0}
.pill{border-radius:14px;padding:4px 12px;font-weight:600;border:1px solid var(--line)}
.pill.ok{color:var(--ok)}.pill.bad{color:var(--bad)}.pill.skip{color:var(--skip)}
.verdict{font-size:18px;font-weight:700}.verdict.ok{color:var(--ok)}.verdict.bad{color:var(--bad)}
.facts{color:var(--mute);margin:0;padding:0;list-style:none;display:flex;gap:18px;flex-wrap:wrap}
table.index{border-collapse:collapse;width:100%}table.index td{padding:3px 8px;border-bottom:1px solid #eef1f4;vertical-align:top}
table.index td.t{text-align:right;white-space:nowrap;color:var(--mute)}
.step{border:1px solid var(--line);border-left:6px solid var(--ok);border-radius:6px;padding:12px 14px;margin:12px 0}
.step.failed,.step.error{border-left-color:var(--bad)}.step.skipped{border-left-color:var(--skip)}
.mark{font-weight:700}.passed .mark{color:var(--ok)}.failed .mark,.error .mark{color:var(--bad)}.skipped .mark{color:var(--skip)}
.num{color:var(--mute);font-weight:400;font-size:13px}
h3 code.cmd{background:#f6f8fa;padding:2px 6px;border-radius:4px;font-weight:400;white-space:pre-wrap;word-break:break-word}
.where{color:var(--mute);font-size:13px}.where code,h2 code,td code,tr.group th code{background:#eef1f4;padding:0 4px;border-radius:3px}
tr.group th{text-align:left;font-weight:600;padding:10px 8px 3px;border-bottom:1px solid var(--line)}
table.index td.n{color:var(--mute);text-align:right;width:3em}
.ref{border:1px dashed var(--line);border-left:6px solid var(--bad);border-radius:6px;padding:6px 14px;margin:8px 0}
h2.group{font-size:15px;border:0;margin:22px 0 4px}
.datapath svg{display:block}
.meta{color:var(--mute);font-size:12px;margin:6px 0;display:flex;align-items:center;gap:8px}
.bar{display:inline-block;width:160px;height:6px;background:#eef1f4;border-radius:3px;overflow:hidden}.bar span{display:block;height:100%;background:#8c959f}
.reason{color:var(--bad);font-weight:600;margin:6px 0}
pre{background:#f6f8fa;border:1px solid #eef1f4;border-radius:4px;padding:8px;overflow:auto;font:12px/1.4 'DejaVu Sans Mono',Menlo,Consolas,monospace;margin:4px 0;max-height:420px}
.outputs{display:grid;grid-template-columns:1fr 1fr;gap:10px}
.sub{font-size:12px;color:var(--mute);margin-top:8px}
table.diff{border-collapse:collapse;width:100%;font:12px/1.4 'DejaVu Sans Mono',Menlo,Consolas,monospace;margin:6px 0}
table.diff th{text-align:left;font:600 12px Helvetica,Arial,sans-serif;color:var(--mute);border-bottom:1px solid var(--line);padding:3px 6px}
table.diff td{padding:2px 6px;vertical-align:top;white-space:pre-wrap;overflow-wrap:anywhere;border-bottom:1px solid #f0f2f4}table.diff td.txt{width:50%}
.diffwrap{overflow-x:auto}
table.diff td.why{font-family:Helvetica,Arial,sans-serif;color:#6e4b00;white-space:normal;background:#fffbe0}
td.op{width:18px;text-align:center;font-weight:700}.ln{color:#8c959f;display:inline-block;min-width:2.2em}
tr.fold td{color:var(--mute);font-style:italic;font-family:Helvetica,Arial,sans-serif}tr.op-changed{background:#fff8c5}tr.op-missing{background:#ffebe9}tr.op-unexpected{background:#dafbe1}tr.op-same td.txt{color:#59636e}
ul.renamed{list-style:none;padding:0;margin:4px 0;display:flex;flex-wrap:wrap;gap:6px}
ul.renamed li,ul.bindings li{background:#ddf4ff;border-radius:4px;padding:1px 6px}
ul.bindings{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:6px}
.cls{color:var(--mute);font-size:11px}
.datapath{border:1px solid var(--line);border-radius:6px;padding:8px;overflow:auto}.datapath svg{max-width:100%;height:auto}
.note{color:var(--mute)}
footer{color:var(--mute);font-size:12px;margin-top:30px}
`;

/** The whole page. Deterministic for a given result and options. */
export function renderHtml(r: CheckResult, opts: HtmlOptions = {}): string {
  const c = r.counts;
  const bad = c.failed + c.errors;
  const maxMs = Math.max(0, ...r.steps.map((s) => s.durationMs));
  const name = r.title ? inlineText(r.title) : r.lab;
  const title = `${r.ok ? '✔' : '✘'} ${name} — proxylab check`;
  const renamed = renamedValues(r);
  const facts: Record<string, string> = {
    lab: r.file,
    cluster: r.cluster,
    started: r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    took: formatMs(r.durationMs),
    ...(r.selected?.length ? { steps: r.selected.join(', ') } : {}),
    ...(opts.facts ?? {}),
  };
  const pills = [
    c.passed ? `<span class="pill ok">✔ ${c.passed} passed</span>` : '',
    c.failed ? `<span class="pill bad">✘ ${c.failed} failed</span>` : '',
    c.errors
      ? `<span class="pill bad">✘ ${c.errors} ${c.errors === 1 ? 'error' : 'errors'}</span>`
      : '',
    c.skipped ? `<span class="pill skip">○ ${c.skipped} skipped</span>` : '',
    `<a class="pill" href="#renamed">${renamed.length ? `${renamed.length} ${renamed.length === 1 ? 'value' : 'values'} renamed` : 'no value renamed'}</a>`,
  ].filter(Boolean);
  const failing = r.steps.filter(isBad);
  const first = failing.length
    ? `<h2>${failing.length === 1 ? 'The step that differs' : `The ${failing.length} steps that differ, in doc order`}</h2>\n${failing.map((s) => stepCard(s, maxMs)).join('\n')}`
    : '';
  const index = byHeading(r.steps)
    .map(
      (g) =>
        (g.heading ? `<tr class="group"><th colspan="4">${inlineHtml(g.heading)}</th></tr>` : '') +
        g.steps
          .map(
            (s) =>
              `<tr class="${s.status}"><td><span class="mark">${MARK[s.status]}</span></td><td class="n">${s.index}</td><td><a href="#step-${s.index}"><code>${escapeHtml(s.command)}</code></a></td><td class="t">${formatMs(s.durationMs)}</td></tr>`,
          )
          .join('\n'),
    )
    .join('\n');
  const every = byHeading(r.steps)
    .map(
      (g) =>
        (g.heading ? `<h2 class="group">${inlineHtml(g.heading)}</h2>\n` : '') +
        g.steps
          .map((s) =>
            isBad(s)
              ? `<div class="ref ${s.status}"><span class="mark">${MARK[s.status]}</span> <a href="#step-${s.index}">step ${s.index}</a> <code>$ ${escapeHtml(s.command)}</code>: shown at the top</div>`
              : stepCard(s, maxMs),
          )
          .join('\n'),
    )
    .join('\n');
  const picture = opts.datapathSvg
    ? `<div class="datapath">${sanitizeSvg(opts.datapathSvg)}</div>`
    : `<p class="note">${escapeHtml(opts.datapathNote ?? 'no datapath picture: `proxylab inspect --svg` was not available for this run')}</p>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${r.title ? inlineHtml(r.title) : escapeHtml(r.lab)}</h1>
<div class="summary">
<span class="verdict ${r.ok ? 'ok' : 'bad'}">${r.ok ? '✔ every step matches the doc' : `✘ ${bad} of ${c.total} steps differ from the doc`}</span>
${pills.join('\n')}
</div>
<ul class="facts">${Object.entries(facts)
    .map(([k, v]) => `<li>${escapeHtml(k)}: <b>${escapeHtml(v)}</b></li>`)
    .join('')}</ul>
${first}
<h2>Steps</h2>
<table class="index">${index}</table>
<h2 id="renamed">Renamed values</h2>
${renamed.length ? `<p class="note">The doc's values and what they are on this cluster (each doc value stands for one value all through the run).</p>${renamings(renamed, 'bindings')}` : '<p class="note">none: the outputs used the doc\'s own values</p>'}
<h2>Every step</h2>
${every}
<h2>Datapath</h2>
${picture}
<footer>proxylab check · ${escapeHtml(r.lab)} · finished ${escapeHtml(r.finishedAt)}</footer>
</main>
</body>
</html>
`;
}

/**
 * Write the report for `proxylab check --html FILE`, with the live datapath picture from
 * `proxylab inspect --svg` when this build has it and the cluster answers (never fatal:
 * the page says why the picture is missing).
 */
export async function writeHtmlReport(
  ctx: Pick<Context, 'cluster' | 'kubeconfig' | 'env' | 'signal'>,
  result: CheckResult,
  file: string,
): Promise<void> {
  const opts: HtmlOptions = {};
  const picture = await datapathPicture(ctx);
  if ('svg' in picture) opts.datapathSvg = picture.svg;
  else opts.datapathNote = picture.note;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, renderHtml(result, opts));
}

async function datapathPicture(
  ctx: Pick<Context, 'cluster' | 'kubeconfig' | 'env' | 'signal'>,
): Promise<{ svg: string } | { note: string }> {
  let hasSvg = false;
  try {
    hasSvg = !!(await findEntry('inspect')?.load())?.default.options?.svg;
  } catch {
    hasSvg = false;
  }
  if (!hasSvg)
    return { note: 'no datapath picture: this build of proxylab has no `inspect --svg` yet' };
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-report-'));
  const out = join(dir, 'datapath.svg');
  try {
    // the same entry point and loader as this process (bin/proxylab.js, or src/cli.ts via tsx)
    const entry = process.argv[1] ?? '';
    const self = /(?:^|[\\/])(?:cli\.(?:ts|js)|proxylab(?:\.js)?)$/.test(entry)
      ? entry
      : join(paths.root, 'bin', 'proxylab.js');
    const argv = [
      process.execPath,
      ...process.execArgv,
      self,
      '--cluster',
      ctx.cluster,
      '--kubeconfig',
      ctx.kubeconfig,
      '--quiet',
      'inspect',
      '--svg',
      out,
    ];
    const r = await run(argv, {
      reject: false,
      timeoutMs: 120_000,
      signal: ctx.signal,
      env: { ...ctx.env, NO_COLOR: '1' },
    });
    if (r.exitCode === 0 && existsSync(out)) return { svg: readFileSync(out, 'utf8') };
    const lines = r.stderr.trim().split('\n');
    const why = (lines.find((l) => l.startsWith('✘')) ?? lines.pop() ?? '').replace(/^✘\s*/, '');
    return {
      note: `no datapath picture: \`proxylab inspect --svg\` exited with code ${r.exitCode}${why ? `: ${why}` : ''}`,
    };
  } catch (e) {
    return { note: `no datapath picture: ${e instanceof Error ? e.message : String(e)}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
