/**
 * A small strict XML parser: enough to read a draw.io file (scripts/diagrams.ts) and, in the
 * tests, to say whether an SVG, a draw.io file or a JUnit report is well-formed. It rejects what a browser's XML
 * parser rejects in these files: unbalanced or crossed tags, duplicate or unquoted
 * attributes, a bare `&` or `<` in text, unknown named entities, text outside the root.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Character data directly inside this element (entities decoded), concatenated. */
  text: string;
}

export class XmlError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const NAME = /^[A-Za-z_:][\w.:-]*/;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(s: string, line: () => number): string {
  return s.replace(/&([^;\s]*);?/g, (m, ent: string) => {
    if (!m.endsWith(';')) throw new XmlError(`bare "&" (write &amp;)`, line());
    if (ent.startsWith('#x')) return String.fromCodePoint(parseInt(ent.slice(2), 16));
    if (ent.startsWith('#')) return String.fromCodePoint(parseInt(ent.slice(1), 10));
    const v = ENTITIES[ent];
    if (v === undefined) throw new XmlError(`unknown entity &${ent};`, line());
    return v;
  });
}

export function parseXml(src: string): XmlElement {
  let i = 0;
  const lineAt = () => src.slice(0, i).split('\n').length;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;

  const expect = (s: string, what: string) => {
    const j = src.indexOf(s, i);
    if (j < 0) throw new XmlError(`unterminated ${what}`, lineAt());
    const body = src.slice(i, j);
    i = j + s.length;
    return body;
  };

  while (i < src.length) {
    if (src.startsWith('<?', i)) {
      i += 2;
      expect('?>', 'processing instruction');
    } else if (src.startsWith('<!--', i)) {
      i += 4;
      const c = expect('-->', 'comment');
      if (c.includes('--')) throw new XmlError('"--" inside a comment', lineAt());
    } else if (src.startsWith('<![CDATA[', i)) {
      i += 9;
      const t = expect(']]>', 'CDATA section');
      const top = stack[stack.length - 1];
      if (!top) throw new XmlError('CDATA outside the root element', lineAt());
      top.text += t;
    } else if (src.startsWith('<!DOCTYPE', i)) {
      if (root || stack.length) throw new XmlError('DOCTYPE after the root element', lineAt());
      i += 9;
      expect('>', 'DOCTYPE');
    } else if (src.startsWith('</', i)) {
      i += 2;
      const m = NAME.exec(src.slice(i));
      if (!m) throw new XmlError('bad closing tag', lineAt());
      i += m[0].length;
      while (/\s/.test(src[i] ?? '')) i++;
      if (src[i] !== '>') throw new XmlError(`bad closing tag </${m[0]}`, lineAt());
      i++;
      const open = stack.pop();
      if (!open) throw new XmlError(`closing </${m[0]}> with nothing open`, lineAt());
      if (open.name !== m[0]) throw new XmlError(`</${m[0]}> closes <${open.name}>`, lineAt());
    } else if (src[i] === '<') {
      i++;
      const m = NAME.exec(src.slice(i));
      if (!m) throw new XmlError('bad tag name', lineAt());
      i += m[0].length;
      const el: XmlElement = { name: m[0], attrs: {}, children: [], text: '' };
      for (;;) {
        const ws = /^\s*/.exec(src.slice(i))![0].length;
        i += ws;
        if (src.startsWith('/>', i)) {
          i += 2;
          break;
        }
        if (src[i] === '>') {
          i++;
          stack.push(el);
          break;
        }
        if (!ws)
          throw new XmlError(`expected whitespace before an attribute in <${el.name}>`, lineAt());
        const a = NAME.exec(src.slice(i));
        if (!a) throw new XmlError(`bad attribute in <${el.name}>`, lineAt());
        i += a[0].length;
        const eq = /^\s*=\s*/.exec(src.slice(i));
        if (!eq) throw new XmlError(`attribute ${a[0]} has no value`, lineAt());
        i += eq[0].length;
        const q = src[i];
        if (q !== '"' && q !== "'") throw new XmlError(`attribute ${a[0]} is not quoted`, lineAt());
        i++;
        const raw = expect(q, `attribute ${a[0]}`);
        if (raw.includes('<')) throw new XmlError(`"<" in attribute ${a[0]}`, lineAt());
        if (a[0] in el.attrs)
          throw new XmlError(`duplicate attribute ${a[0]} in <${el.name}>`, lineAt());
        el.attrs[a[0]] = decode(raw, lineAt);
      }
      const parent = stack[stack.length - 1 - (stack[stack.length - 1] === el ? 1 : 0)];
      if (parent) parent.children.push(el);
      else if (root) throw new XmlError(`second root element <${el.name}>`, lineAt());
      else root = el;
    } else {
      const j = src.indexOf('<', i);
      const t = src.slice(i, j < 0 ? src.length : j);
      const top = stack[stack.length - 1];
      if (!top) {
        if (t.trim()) throw new XmlError('text outside the root element', lineAt());
      } else top.text += decode(t, lineAt);
      i = j < 0 ? src.length : j;
    }
  }
  if (stack.length)
    throw new XmlError(`<${stack[stack.length - 1]!.name}> is never closed`, lineAt());
  if (!root) throw new XmlError('no root element', lineAt());
  return root;
}

/** Every element in document order (the root first). */
export function walk(el: XmlElement): XmlElement[] {
  return [el, ...el.children.flatMap(walk)];
}

/** All the text inside an element, its descendants included. */
export function allText(el: XmlElement): string {
  return el.text + el.children.map(allText).join('');
}
