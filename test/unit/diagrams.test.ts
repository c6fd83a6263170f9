import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { ROOT } from '../helpers/cli.js';
import { parseXml, walk, allText, XmlError } from '../helpers/xml.js';
import { dumpDom, findChromium, NO_CHROMIUM, screenshot } from '../helpers/chromium.js';
import { labelLines, parseDrawio, toSvg } from '../../src/report/drawio.js';
import { exportAll } from '../../scripts/diagrams.js';

const DIR = join(ROOT, 'diagrams');
const files = readdirSync(DIR);
const svgs = files.filter((f) => f.endsWith('.svg')).sort();
const drawios = files.filter((f) => f.endsWith('.drawio')).sort();

/** The docs that show diagrams to users: the README and every lab. */
function docs(): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  const readme = join(ROOT, 'README.md');
  if (existsSync(readme)) out.push({ path: 'README.md', text: readFileSync(readme, 'utf8') });
  const labs = join(ROOT, 'labs');
  for (const l of existsSync(labs) ? readdirSync(labs).sort() : []) {
    const p = join(labs, l, 'README.md');
    if (existsSync(p)) out.push({ path: `labs/${l}/README.md`, text: readFileSync(p, 'utf8') });
  }
  return out;
}

/** Paths under diagrams/ that a markdown doc links to or shows (resolved from the doc's folder). */
function diagramRefs(docPath: string, text: string): string[] {
  const targets = [
    ...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)|\bsrc="([^"]+)"/g),
  ].map((m) => (m[1] ?? m[2])!);
  return targets
    .filter((t) => !/^[a-z]+:/i.test(t) && !t.startsWith('#'))
    .map((t) => posix.normalize(posix.join(posix.dirname(docPath), t.replace(/[?#].*$/, ''))))
    .filter((p) => p.startsWith('diagrams/'));
}

test('the four diagrams the labs need exist, each as a .drawio source and an .svg', () => {
  for (const name of ['kube-proxy-modes', 'ipvs-datapath', 'nat-vs-dr', 'iptables-chain-walk']) {
    assert.ok(drawios.includes(`${name}.drawio`), `${name}.drawio`);
    assert.ok(svgs.includes(`${name}.svg`), `${name}.svg`);
  }
  assert.deepEqual(
    svgs.map((f) => f.replace(/\.svg$/, '')),
    drawios.map((f) => f.replace(/\.drawio$/, '')),
    'every SVG has its .drawio source and every source its SVG',
  );
});

test('every SVG is well-formed XML with an <svg> root, a size and a title', () => {
  for (const f of svgs) {
    const root = parseXml(readFileSync(join(DIR, f), 'utf8'));
    assert.equal(root.name, 'svg', f);
    assert.equal(root.attrs.xmlns, 'http://www.w3.org/2000/svg', f);
    assert.ok(Number(root.attrs.width) > 100 && Number(root.attrs.height) > 100, `${f}: size`);
    assert.ok(
      walk(root).some((e) => e.name === 'title' && e.text.trim()),
      `${f}: <title>`,
    );
  }
});

test('every .drawio is a diagrams.net file whose cells all have geometry', () => {
  for (const f of drawios) {
    const root = parseXml(readFileSync(join(DIR, f), 'utf8'));
    assert.equal(root.name, 'mxfile', f);
    const cells = walk(root).filter((e) => e.name === 'mxCell');
    const ids = cells.map((c) => c.attrs.id);
    assert.equal(new Set(ids).size, ids.length, `${f}: cell ids are unique`);
    for (const c of cells.filter((x) => x.attrs.vertex === '1' || x.attrs.edge === '1')) {
      assert.ok(
        c.children.some((g) => g.name === 'mxGeometry'),
        `${f}: cell ${c.attrs.id} has geometry`,
      );
      for (const end of ['source', 'target'] as const) {
        const ref = c.attrs[end];
        if (ref) assert.ok(ids.includes(ref), `${f}: edge ${c.attrs.id} ${end} ${ref} exists`);
      }
    }
  }
});

test('the SVGs are exactly what the .drawio sources export to (no drift)', () => {
  for (const d of exportAll(DIR)) {
    assert.equal(
      readFileSync(d.svg, 'utf8'),
      d.content,
      `${d.svg} is stale: run \`node --import tsx scripts/diagrams.ts\` after editing its .drawio`,
    );
  }
});

test('each SVG shows exactly the labels of its .drawio source', () => {
  for (const f of drawios) {
    const fromSource = labelLines(parseDrawio(readFileSync(join(DIR, f), 'utf8'))).sort();
    const svg = parseXml(readFileSync(join(DIR, f.replace(/\.drawio$/, '.svg')), 'utf8'));
    const shown = walk(svg)
      .filter((e) => e.name === 'tspan')
      .map((e) => allText(e).trim())
      .filter(Boolean)
      .sort();
    assert.deepEqual(shown, fromSource, f);
    assert.ok(fromSource.length > 10, `${f}: has real content`);
  }
});

test('the diagrams carry the facts the labs teach', () => {
  const text = (n: string) =>
    labelLines(parseDrawio(readFileSync(join(DIR, `${n}.drawio`), 'utf8'))).join('\n');
  const modes = text('kube-proxy-modes');
  assert.match(modes, /ipvs mode \(deprecated since 1\.35\)/);
  assert.match(modes, /nftables mode \(GA since 1\.33\)/);
  const ipvs = text('ipvs-datapath');
  for (const s of [
    'kube-ipvs0',
    'KUBE-CLUSTER-IP',
    'Masq',
    'KUBE-POSTROUTING',
    'TCP  10.96.120.15:80 rr',
  ])
    assert.ok(ipvs.includes(s), `ipvs-datapath shows ${s}`);
  const walkText = text('iptables-chain-walk');
  assert.match(
    walkText,
    /KUBE-SERVICES[\s\S]*KUBE-SVC-[\s\S]*KUBE-SEP-A[\s\S]*DNAT --to-destination/,
  );
  const natdr = text('nat-vs-dr');
  assert.match(natdr, /-m$/m);
  assert.match(natdr, /-g$/m);
  assert.match(natdr, /arp_ignore=1/);
});

test('every SVG is shown by a doc (README.md or a lab)', (t) => {
  const all = docs();
  if (!all.some((d) => d.path.startsWith('labs/'))) {
    t.skip('no labs/*/README.md yet: nothing to show the diagrams in');
    return;
  }
  const referenced = new Set(all.flatMap((d) => diagramRefs(d.path, d.text)));
  for (const f of svgs)
    assert.ok(
      referenced.has(`diagrams/${f}`),
      `diagrams/${f} is not used by README.md or labs/*/README.md`,
    );
});

test('no doc points at a diagram that does not exist', () => {
  const withIndex = [
    ...docs(),
    { path: 'diagrams/README.md', text: readFileSync(join(DIR, 'README.md'), 'utf8') },
  ];
  let refs = 0;
  for (const d of withIndex) {
    for (const ref of diagramRefs(d.path, d.text)) {
      refs++;
      assert.ok(existsSync(join(ROOT, ref)), `${d.path} points at ${ref}, which does not exist`);
    }
  }
  assert.ok(refs >= svgs.length, 'the diagrams index links every SVG');
});

test('the exporter reads the compressed diagrams.net format the same as the plain one', () => {
  const plain = readFileSync(join(DIR, 'nat-vs-dr.drawio'), 'utf8');
  const model = /<mxGraphModel[\s\S]*<\/mxGraphModel>/.exec(plain)![0];
  const packed = deflateRawSync(Buffer.from(encodeURIComponent(model), 'latin1')).toString(
    'base64',
  );
  const compressed = `<mxfile host="app.diagrams.net"><diagram id="x" name="nat-vs-dr">${packed}</diagram></mxfile>`;
  assert.equal(toSvg(parseDrawio(compressed)), toSvg(parseDrawio(plain)));
});

test('the XML checker rejects what a browser would refuse', () => {
  const bad = [
    '<svg><g></svg></g>',
    '<svg><text>a & b</text></svg>',
    '<svg width="1" width="2"/>',
    '<svg width=1/>',
    '<svg><text>&nbsp;</text></svg>',
    '<svg/><svg/>',
    '<svg><g>',
  ];
  for (const b of bad) assert.throws(() => parseXml(b), XmlError, b);
  const ok = parseXml(
    '<?xml version="1.0"?>\n<!-- c --><svg a="1 &amp; 2"><text>x &lt; y</text><![CDATA[<raw>]]></svg>',
  );
  assert.equal(ok.attrs.a, '1 & 2');
  assert.equal(ok.text, '<raw>');
  assert.equal(allText(ok.children[0]!), 'x < y');
});

test('every SVG renders in headless Chromium (no XML error page, a real picture)', (t) => {
  if (!findChromium()) {
    t.skip(NO_CHROMIUM);
    return;
  }
  const out = join(ROOT, 'test-results', 'diagrams');
  mkdirSync(out, { recursive: true });
  for (const f of svgs) {
    const file = join(DIR, f);
    const dom = dumpDom(file);
    assert.doesNotMatch(
      dom,
      /parsererror|This page contains the following errors/,
      `${f}: Chromium's XML parser refused it`,
    );
    assert.match(dom, /<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, `${f}: an SVG document`);
    const root = parseXml(readFileSync(file, 'utf8'));
    const size = screenshot(
      file,
      join(out, f.replace(/\.svg$/, '.png')),
      Number(root.attrs.width),
      Number(root.attrs.height),
    );
    assert.ok(size > 20_000, `${f}: the screenshot (${size} bytes) shows a drawing`);
  }
});
