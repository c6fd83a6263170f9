/**
 * Renders a draw.io (diagrams.net) file to SVG, so that the diagrams in diagrams/ have one
 * source people edit in diagrams.net and an exported SVG that can never drift from it
 * (`node --import tsx scripts/diagrams.ts` writes them; `--check` fails when one is stale).
 *
 * It understands the subset of mxGraph the proxylab diagrams use: rectangles (rounded or
 * not, filled, dashed), text-only cells, containers whose children are placed relative to
 * them, and straight edges (with waypoints, exit/entry points, arrows, dashes, labels).
 * Labels are plain text (html=0) with explicit line breaks; nothing is wrapped.
 * Both the plain and the compressed (deflate + base64) diagram formats are read.
 */
import { inflateRawSync } from 'node:zlib';
import { parseXml, walk, type XmlElement } from './xml.js';

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Vertex extends Rect {
  id: string;
  label: string;
  style: Record<string, string>;
}

export interface Edge {
  id: string;
  label: string;
  style: Record<string, string>;
  source?: string;
  target?: string;
  points: { x: number; y: number }[];
  sourcePoint?: { x: number; y: number };
  targetPoint?: { x: number; y: number };
  /** Where the label sits along the edge, as in mxGraph: -1 source, 0 middle, 1 target. */
  labelAt: number;
}

export interface Diagram {
  name: string;
  width: number;
  height: number;
  vertices: Vertex[];
  edges: Edge[];
}

export function parseStyle(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (s ?? '').split(';')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq < 0) out[part] = '1';
    else out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

function num(v: string | undefined, d = 0): number {
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : d;
}

/** The <mxGraphModel> of the first page, from the plain or the compressed format. */
function graphModel(root: XmlElement): XmlElement {
  if (root.name === 'mxGraphModel') return root;
  const diagram = walk(root).find((e) => e.name === 'diagram');
  if (!diagram) throw new Error('not a draw.io file: no <diagram> and no <mxGraphModel>');
  const inner = diagram.children.find((c) => c.name === 'mxGraphModel');
  if (inner) return inner;
  const packed = diagram.text.trim();
  if (!packed) throw new Error('empty <diagram>');
  const xml = decodeURIComponent(inflateRawSync(Buffer.from(packed, 'base64')).toString('latin1'));
  return parseXml(xml);
}

export function parseDrawio(src: string): Diagram {
  const root = parseXml(src);
  const model = graphModel(root);
  const diagramEl = walk(root).find((e) => e.name === 'diagram');
  const cells = walk(model).filter((e) => e.name === 'mxCell');
  const byId = new Map(cells.map((c) => [c.attrs.id ?? '', c]));
  const abs = new Map<string, Rect>();

  const geometryOf = (c: XmlElement) => c.children.find((g) => g.name === 'mxGeometry');
  const absRect = (id: string): Rect | undefined => {
    const known = abs.get(id);
    if (known) return known;
    const c = byId.get(id);
    if (!c || c.attrs.vertex !== '1') return undefined;
    const g = geometryOf(c);
    const r: Rect = {
      x: num(g?.attrs.x),
      y: num(g?.attrs.y),
      w: num(g?.attrs.width),
      h: num(g?.attrs.height),
    };
    const p = c.attrs.parent ? absRect(c.attrs.parent) : undefined;
    if (p) {
      r.x += p.x;
      r.y += p.y;
    }
    abs.set(id, r);
    return r;
  };

  const vertices: Vertex[] = [];
  const edges: Edge[] = [];
  for (const c of cells) {
    const id = c.attrs.id ?? '';
    if (c.attrs.vertex === '1') {
      const r = absRect(id)!;
      vertices.push({ id, label: c.attrs.value ?? '', style: parseStyle(c.attrs.style), ...r });
    } else if (c.attrs.edge === '1') {
      const g = geometryOf(c);
      const pts = (g?.children ?? []).flatMap((x) =>
        x.name === 'Array' ? x.children.filter((p) => p.name === 'mxPoint') : [],
      );
      const named = (as: string) => {
        const p = g?.children.find((x) => x.name === 'mxPoint' && x.attrs.as === as);
        return p ? { x: num(p.attrs.x), y: num(p.attrs.y) } : undefined;
      };
      const e: Edge = {
        id,
        label: c.attrs.value ?? '',
        style: parseStyle(c.attrs.style),
        points: pts.map((p) => ({ x: num(p.attrs.x), y: num(p.attrs.y) })),
        labelAt: Math.max(-1, Math.min(1, num(g?.attrs.x, 0))),
      };
      if (c.attrs.source) e.source = c.attrs.source;
      if (c.attrs.target) e.target = c.attrs.target;
      const sp = named('sourcePoint');
      const tp = named('targetPoint');
      if (sp) e.sourcePoint = sp;
      if (tp) e.targetPoint = tp;
      edges.push(e);
    }
  }
  const pageW = num(model.attrs.pageWidth, 0);
  const pageH = num(model.attrs.pageHeight, 0);
  const maxX = Math.max(pageW, ...vertices.map((v) => v.x + v.w + 10));
  const maxY = Math.max(pageH, ...vertices.map((v) => v.y + v.h + 10));
  return {
    name: diagramEl?.attrs.name ?? 'diagram',
    width: Math.ceil(maxX),
    height: Math.ceil(maxY),
    vertices,
    edges,
  };
}

/** The text lines of every label in a diagram (what a reader sees), in document order. */
export function labelLines(d: Diagram): string[] {
  return [...d.vertices, ...d.edges]
    .flatMap((c) => c.label.split('\n'))
    .map((l) => l.trim())
    .filter(Boolean);
}

const esc = (s: string) =>
  s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
const r1 = (n: number) => Math.round(n * 10) / 10;

const MONO = "'DejaVu Sans Mono', Menlo, Consolas, monospace";
const SANS = "Helvetica, Arial, 'DejaVu Sans', sans-serif";

function fontFamily(style: Record<string, string>): string {
  const f = (style.fontFamily ?? 'Helvetica').toLowerCase();
  return f.includes('mono') || f.includes('courier') ? MONO : SANS;
}

/** Where the line from the centre of r towards p leaves r. */
function clip(r: Rect, p: { x: number; y: number }): { x: number; y: number } {
  const cx = r.x + r.w / 2;
  const cy = r.y + r.h / 2;
  const dx = p.x - cx;
  const dy = p.y - cy;
  if (dx === 0 && dy === 0) return { x: cx, y: cy };
  const sx = dx === 0 ? Infinity : r.w / 2 / Math.abs(dx);
  const sy = dy === 0 ? Infinity : r.h / 2 / Math.abs(dy);
  const s = Math.min(sx, sy);
  return { x: cx + dx * s, y: cy + dy * s };
}

function constrained(
  r: Rect,
  fx: string | undefined,
  fy: string | undefined,
): { x: number; y: number } | undefined {
  if (fx === undefined || fy === undefined) return undefined;
  return { x: r.x + Number(fx) * r.w, y: r.y + Number(fy) * r.h };
}

function textBlock(
  lines: string[],
  box: Rect,
  style: Record<string, string>,
  defaults: { align: string; valign: string },
): string {
  const size = num(style.fontSize, 12);
  const lh = size * 1.25;
  const align = style.align ?? defaults.align;
  const valign = style.verticalAlign ?? defaults.valign;
  const spacing = num(style.spacing, 2);
  const left = box.x + num(style.spacingLeft, 0) + spacing + 2;
  const right = box.x + box.w - num(style.spacingRight, 0) - spacing - 2;
  const x = align === 'left' ? left : align === 'right' ? right : box.x + box.w / 2;
  const anchor = align === 'left' ? 'start' : align === 'right' ? 'end' : 'middle';
  const total = lines.length * lh;
  const top =
    valign === 'top'
      ? box.y + num(style.spacingTop, 0) + spacing + 2
      : valign === 'bottom'
        ? box.y + box.h - total - spacing - 2
        : box.y + (box.h - total) / 2;
  const bold = (num(style.fontStyle, 0) & 1) === 1;
  const italic = (num(style.fontStyle, 0) & 2) === 2;
  const attrs = [
    `x="${r1(x)}"`,
    `y="${r1(top + size * 0.95)}"`,
    `font-family="${fontFamily(style)}"`,
    `font-size="${size}"`,
    `text-anchor="${anchor}"`,
    `fill="${style.fontColor ?? '#000000'}"`,
    bold ? 'font-weight="bold"' : '',
    italic ? 'font-style="italic"' : '',
    'xml:space="preserve"',
  ].filter(Boolean);
  // absolute y per line: an empty line must still take its place
  const spans = lines.map(
    (l, i) => `<tspan x="${r1(x)}" y="${r1(top + size * 0.95 + i * lh)}">${esc(l)}</tspan>`,
  );
  return `<text ${attrs.join(' ')}>${spans.join('')}</text>`;
}

/** The SVG picture of a diagram. Deterministic: the same .drawio gives the same bytes. */
export function toSvg(d: Diagram, opts: { source?: string } = {}): string {
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${d.width}" height="${d.height}" viewBox="0 0 ${d.width} ${d.height}" role="img" aria-labelledby="title">`,
  );
  if (opts.source)
    out.push(
      `<!-- generated from ${esc(opts.source)} by scripts/diagrams.ts: edit the .drawio, then run it -->`,
    );
  out.push(`<title id="title">${esc(d.name)}</title>`);
  out.push(
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">' +
      '<path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker>' +
      '<marker id="arrow-dark" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">' +
      '<path d="M0,0 L10,5 L0,10 z" fill="#333333"/></marker></defs>',
  );
  out.push(`<rect x="0" y="0" width="${d.width}" height="${d.height}" fill="#ffffff"/>`);
  const byId = new Map(d.vertices.map((v) => [v.id, v]));

  for (const v of d.vertices) {
    const s = v.style;
    const isText = 'text' in s || s.shape === 'text';
    if (!isText) {
      const fill = s.fillColor && s.fillColor !== 'none' ? s.fillColor : 'none';
      const stroke =
        s.strokeColor && s.strokeColor !== 'none'
          ? s.strokeColor
          : s.strokeColor === 'none'
            ? 'none'
            : '#000000';
      const rx = s.rounded === '1' ? Math.min(10, Math.min(v.w, v.h) * 0.15) : 0;
      const dash = s.dashed === '1' ? ' stroke-dasharray="6 4"' : '';
      const sw = num(s.strokeWidth, 1);
      out.push(
        `<rect x="${r1(v.x)}" y="${r1(v.y)}" width="${r1(v.w)}" height="${r1(v.h)}"${rx ? ` rx="${r1(rx)}"` : ''} fill="${fill}" stroke="${stroke}" stroke-width="${sw}"${dash}/>`,
      );
    }
    if (v.label) {
      out.push(textBlock(v.label.split('\n'), v, s, { align: 'center', valign: 'middle' }));
    }
  }

  for (const e of d.edges) {
    const s = e.style;
    const src = e.source ? byId.get(e.source) : undefined;
    const tgt = e.target ? byId.get(e.target) : undefined;
    const inner = e.points;
    const firstToward =
      inner[0] ?? (tgt ? { x: tgt.x + tgt.w / 2, y: tgt.y + tgt.h / 2 } : e.targetPoint);
    const lastFrom =
      inner[inner.length - 1] ??
      (src ? { x: src.x + src.w / 2, y: src.y + src.h / 2 } : e.sourcePoint);
    const start = src
      ? (constrained(src, s.exitX, s.exitY) ?? clip(src, firstToward ?? { x: src.x, y: src.y }))
      : e.sourcePoint;
    const end = tgt
      ? (constrained(tgt, s.entryX, s.entryY) ?? clip(tgt, lastFrom ?? { x: tgt.x, y: tgt.y }))
      : e.targetPoint;
    if (!start || !end) continue;
    const pts = [start, ...inner, end];
    const color = s.strokeColor ?? '#333333';
    const dash = s.dashed === '1' ? ' stroke-dasharray="6 4"' : '';
    const endArrow = s.endArrow !== 'none';
    const startArrow = s.startArrow !== undefined && s.startArrow !== 'none';
    const marker = color === '#333333' ? 'arrow-dark' : 'arrow';
    out.push(
      `<polyline points="${pts.map((p) => `${r1(p.x)},${r1(p.y)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="${num(s.strokeWidth, 1.5)}"${dash}` +
        `${endArrow ? ` marker-end="url(#${marker})"` : ''}${startArrow ? ` marker-start="url(#${marker})"` : ''}/>`,
    );
    if (e.label) {
      // label at the middle of the polyline, on a white background, as diagrams.net draws it
      const lens = pts.slice(1).map((p, i) => Math.hypot(p.x - pts[i]!.x, p.y - pts[i]!.y));
      let half = (lens.reduce((a, b) => a + b, 0) * (1 + e.labelAt)) / 2;
      let mid = start;
      for (let i = 0; i < lens.length; i++) {
        const l = lens[i]!;
        if (half <= l) {
          const a = pts[i]!;
          const b = pts[i + 1]!;
          mid = {
            x: a.x + ((b.x - a.x) * half) / (l || 1),
            y: a.y + ((b.y - a.y) * half) / (l || 1),
          };
          break;
        }
        half -= l;
      }
      const lines = e.label.split('\n');
      const size = num(s.fontSize, 11);
      const w =
        Math.max(...lines.map((l) => l.length)) * size * (fontFamily(s) === MONO ? 0.62 : 0.56) + 8;
      const h = lines.length * size * 1.25 + 4;
      const box = { x: mid.x - w / 2, y: mid.y - h / 2, w, h };
      out.push(
        `<rect x="${r1(box.x)}" y="${r1(box.y)}" width="${r1(w)}" height="${r1(h)}" fill="#ffffff" fill-opacity="0.9"/>`,
      );
      out.push(
        textBlock(lines, box, { ...s, spacing: '0' }, { align: 'center', valign: 'middle' }),
      );
    }
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
