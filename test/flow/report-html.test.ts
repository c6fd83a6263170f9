/**
 * The `proxylab check --html` page, built from a real lab-run shape: outputs from the
 * shared fixtures compared by the real matcher (src/doccheck/matcher.ts), then opened in
 * headless Chromium. The assertions read the DOM the browser built; the screenshot stays in
 * test-results/check-report.png for a person to look at.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { REAL_OUTPUTS } from '../helpers/fixtures.js';
import { dumpDom, findChromium, NO_CHROMIUM, screenshot } from '../helpers/chromium.js';
import { matchOutput } from '../../src/doccheck/matcher.js';
import {
  countSteps,
  RESULT_VERSION,
  type CheckResult,
  type StepResult,
} from '../../src/doccheck/result.js';
import { renderHtml, renamedValues, sanitizeSvg } from '../../src/report/html.js';

const FIX = REAL_OUTPUTS;
const body = (rel: string) => readFileSync(join(FIX, rel), 'utf8').split(/^# ---\n/m)[1]!;
const OUT = join(ROOT, 'test-results');

/** A run of three steps the way `proxylab check` records them: passed, failed, error, skipped. */
function sampleResult(): CheckResult {
  const doc = body('ipvsadm/20-hwchiu-fresh-kubeadm-ipvs.txt');
  // the same services on this cluster: other pod IPs, another apiserver address
  const renamedOnly = doc
    .replace(/10\.244\.0\.2/g, '10.244.1.7')
    .replace(/10\.244\.0\.3/g, '10.244.2.9')
    .replace('10.0.2.15', '172.18.0.3');
  const good = matchOutput(doc, renamedOnly);
  assert.equal(good.ok, true, 'renamed IPs alone must match');
  // and a run where someone switched the scheduler to sh
  const withSh = renamedOnly.replace('TCP  10.96.0.10:9153 rr', 'TCP  10.96.0.10:9153 sh');
  const bad = matchOutput(doc, withSh, { bindings: good.bindings });
  assert.equal(bad.ok, false);
  const base = { attempts: 1, exitCode: 0, expectedExit: 0, node: 'proxylab-worker' };
  const steps: StepResult[] = [
    {
      ...base,
      index: 1,
      line: 12,
      heading: '5. Check the `ipvsadm -Ln` virtual servers',
      command: 'ipvsadm -Ln',
      status: 'passed',
      durationMs: 412,
      kind: good.kind,
      expected: doc,
      actual: renamedOnly,
      // the matcher may list a value that stays what it was: that is no renaming
      renamed: [...good.renamed, { cls: 'ip', doc: '10.96.0.1', actual: '10.96.0.1' }],
    },
    {
      ...base,
      index: 2,
      line: 30,
      heading: '7. After switching the scheduler',
      command: 'ipvsadm -Ln',
      status: 'failed',
      reason: '1 line differs from the doc: scheduler rr ≠ sh',
      durationMs: 388,
      kind: bad.kind,
      expected: doc,
      actual: withSh,
      diff: bad.diff,
      notes: bad.notes,
      renamed: [],
    },
    {
      ...base,
      index: 3,
      line: 44,
      heading: 'The dummy interface `kube-ipvs0`',
      command: 'ip addr show kube-ipvs0',
      status: 'error',
      reason:
        '`docker exec proxylab-worker ip addr show kube-ipvs0` exited with code 1: Device "kube-ipvs0" does not exist.',
      exitCode: 1,
      durationMs: 95,
      expected: body('kube-ipvs0/' + firstFile('kube-ipvs0')),
      actual: '',
      renamed: [],
    },
    {
      ...base,
      index: 4,
      line: 60,
      heading: 'Traffic to the web service',
      command: 'proxylab traffic',
      status: 'skipped',
      reason: 'skipped: an earlier step failed',
      durationMs: 0,
      attempts: 0,
      exitCode: null,
      expected: '',
      actual: '',
      renamed: [],
    },
  ];
  return {
    version: RESULT_VERSION,
    lab: 'labs/ipvs',
    file: 'labs/ipvs/README.md',
    title: 'kube-proxy in IPVS mode',
    cluster: 'proxylab',
    kubeconfig: 'kubeconfig',
    startedAt: '2026-11-21T22:40:01.000Z',
    finishedAt: '2026-11-21T22:40:03.000Z',
    durationMs: 2000,
    ok: false,
    counts: countSteps(steps),
    steps,
    // the run's bindings: empty when only a failed step renamed values (run.ts keeps a
    // failed step's renamings out of later steps)
    bindings: [],
  };
}

function firstFile(dir: string): string {
  const idx = readFileSync(join(FIX, 'INDEX.md'), 'utf8');
  const m = new RegExp('`' + dir + '/([^`]+)`').exec(idx);
  assert.ok(m, `a ${dir} fixture`);
  return m[1]!;
}

test('the report page holds every step, its mark, the diff with reasons, renamed values', () => {
  const r = sampleResult();
  const html = renderHtml(r);
  assert.match(html, /^<!DOCTYPE html>/);
  assert.doesNotMatch(
    html,
    /<script|<link |src="http/i,
    'self-contained: no script, no external resource',
  );
  for (const s of r.steps) assert.ok(html.includes(`id="step-${s.index}"`), `step ${s.index}`);
  assert.match(html, /scheduler rr ≠ sh/);
  // the diff shows the differing line with 2 lines of context; runs of matching lines fold
  const step2 = html.slice(html.indexOf('id="step-2"'), html.indexOf('id="step-3"'));
  const same = r.steps[1]!.diff!.filter((d) => d.op === 'same').length;
  assert.ok(same > 6, `${same} matching lines in the sample`);
  assert.match(step2, /<tr class="fold"><td class="op">⋯<\/td><td colspan="2">\d+ matching lines/);
  assert.ok((step2.match(/<tr class="op-same">/g) ?? []).length <= 4, 'context only');
  assert.match(step2, /<tr class="op-changed">/);
  assert.match(html, /<code>10\.244\.0\.2<\/code> → <code>10\.244\.1\.7<\/code>/);
  // headings: the doc's own section number once, inline code as code, no raw backticks
  assert.doesNotMatch(html, /\d+\. \d+\./, 'no doubled section numbers');
  assert.match(html, /5\. Check the <code>ipvsadm -Ln<\/code> virtual servers/);
  assert.match(html, /The dummy interface <code>kube-ipvs0<\/code>/);
  assert.doesNotMatch(html.replace(/<pre>[\s\S]*?<\/pre>/g, ''), /`kube-ipvs0`|`ipvsadm/);
  // renamed values: no identity pair; the header counts the list the steps show
  assert.doesNotMatch(html, /<code>10\.96\.0\.1<\/code> → <code>10\.96\.0\.1<\/code>/);
  const pairs = new Set(
    r.steps.flatMap((s) => s.renamed.filter((x) => x.doc !== x.actual).map((x) => x.doc)),
  );
  assert.ok(pairs.size >= 2);
  assert.match(html, new RegExp(`>${pairs.size} values renamed<`));
  assert.equal(renamedValues(r).length, pairs.size);
  assert.doesNotMatch(html, /none: the outputs used the doc/);
  // a failing step comes first: before the index, the renamed values and the picture
  const firstBad = html.indexOf('<section class="step failed"');
  assert.ok(firstBad > 0 && firstBad < html.indexOf('<h2>Steps</h2>'), 'failed step first');
  assert.ok(html.indexOf('<section class="step error"') < html.indexOf('<h2>Steps</h2>'));
  assert.ok(html.indexOf('<h2>Datapath</h2>') > html.indexOf('<h2>Every step</h2>'));
  assert.equal(html.match(/id="step-2"/g)?.length, 1, 'each step card once');
  assert.match(html, /✘ 2 of 4 steps differ from the doc/);
  // a green run: no red badge, no failing section
  const green = sampleResult();
  green.steps = green.steps.filter((x) => x.status === 'passed');
  green.counts = countSteps(green.steps);
  green.ok = true;
  const gh = renderHtml(green);
  assert.doesNotMatch(gh, /class="pill bad"|failed<\/span>|✘/);
  assert.match(gh, /✔ every step matches the doc/);
  // what comes from outputs is escaped, never markup
  const evil = sampleResult();
  evil.steps[0]!.actual = '<img src=x onerror=alert(1)>';
  assert.ok(!renderHtml(evil).includes('<img src=x'));
});

test('a datapath picture is kept as a picture: scripts, handlers and external links removed', () => {
  const svg =
    '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="x()"><script>alert(1)</script><a href="https://evil"><text>kube-ipvs0</text></a><use href="#m"/></svg>';
  const clean = sanitizeSvg(svg);
  assert.ok(clean.startsWith('<svg'));
  assert.doesNotMatch(clean, /script|onload|https:/);
  assert.match(clean, /kube-ipvs0/);
  assert.match(clean, /href="#m"/);
});

test('the report opens in headless Chromium with the step results visible', (t) => {
  if (!findChromium()) {
    t.skip(NO_CHROMIUM);
    return;
  }
  mkdirSync(OUT, { recursive: true });
  const r = sampleResult();
  const picture = readFileSync(join(ROOT, 'diagrams', 'ipvs-datapath.svg'), 'utf8');
  const file = join(OUT, 'check-report.html');
  writeFileSync(
    file,
    renderHtml(r, { datapathSvg: picture, facts: { 'kube-proxy mode': 'ipvs' } }),
  );

  const dom = dumpDom(file);
  const text = dom
    .replace(/<[^>]+>/g, ' ')
    .replace(/&gt;/g, '>')
    .replace(/&lt;/g, '<')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
  for (const s of r.steps) {
    const heading = s.heading.replace(/`/g, '');
    assert.ok(text.includes(heading), `step ${s.index}'s heading "${heading}" is shown`);
    assert.ok(text.includes(`step ${s.index} $ ${s.command}`), `step ${s.index} is shown`);
  }
  // one mark per step card, each where it belongs
  const marks = [
    ...dom.matchAll(
      /<section class="step (\w+)" id="step-(\d+)">\s*<h3><span class="mark">(.)<\/span>/g,
    ),
  ].map((m) => [m[2], m[1], m[3]]);
  // the steps that differ first, then the others in doc order
  assert.deepEqual(marks, [
    ['2', 'failed', '✘'],
    ['3', 'error', '✘'],
    ['1', 'passed', '✔'],
    ['4', 'skipped', '○'],
  ]);
  assert.ok(text.includes('✘ 2 of 4 steps differ from the doc'));
  assert.ok(text.includes('scheduler rr ≠ sh'), 'the reason of the differing line');
  assert.match(dom, /<tr class="op-changed">/, 'the changed line is highlighted');
  assert.ok(text.includes('Device "kube-ipvs0" does not exist.'));
  assert.ok(text.includes('10.244.0.2 → 10.244.1.7'), 'renamed values');
  assert.match(dom, /<div class="datapath"><svg[^>]*>/, 'the datapath picture is in the page');
  assert.ok(text.includes('KUBE-CLUSTER-IP'), 'the picture is drawn as text the browser knows');

  const png = join(OUT, 'check-report.png');
  const size = screenshot(file, png, 1280, 2400);
  assert.ok(size > 20_000, `a real screenshot (${size} bytes) in ${png}`);
  assert.deepEqual([...readFileSync(png).subarray(1, 4)], [0x50, 0x4e, 0x47], 'PNG');
});
