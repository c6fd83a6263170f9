/**
 * The parts of a lab doc proxylab reads, found by a CommonMark parser (mdast-util-from-markdown,
 * i.e. micromark): headings and fenced code blocks, in document order, with their doc lines.
 *
 * CommonMark decides what a fence is, so a block inside a numbered list item (indented to the
 * item's content), inside a blockquote, fenced with tildes, or fenced with a longer fence that
 * holds a shorter one is read the way a markdown viewer shows it.
 */
import { fromMarkdown } from 'mdast-util-from-markdown';
import type { Code, Heading, Nodes, Root } from 'mdast';

export interface DocHeading {
  kind: 'heading';
  depth: number;
  /** The heading's markdown source (inline code keeps its backticks), as written. */
  source: string;
  /** 1-based doc line. */
  line: number;
}

export interface DocFence {
  kind: 'fence';
  /** The info string after the opening fence, trimmed. */
  info: string;
  /** The opening fence as written (``` or ~~~~ …). */
  fence: string;
  /** 1-based doc line of the opening fence. */
  line: number;
  /** Content lines with the container's markers and the fence's indentation removed. */
  lines: string[];
  /** 1-based doc line of lines[0] (the line after the opening fence). */
  firstLine: number;
  /** False when the block runs to the end of its container without a closing fence. */
  closed: boolean;
}

export type DocBlock = DocHeading | DocFence;

const OPENING = /^(`{3,}|~{3,})(.*)$/;

/** Leading blockquote markers and indentation of a raw doc line. */
function containerPrefix(raw: string): string {
  return /^(?:[ \t]*>[ \t]?)*[ \t]*/.exec(raw)![0];
}

function headingSource(h: Heading, text: string): string {
  const first = h.children[0];
  const last = h.children[h.children.length - 1];
  const from = first?.position?.start.offset;
  const to = last?.position?.end.offset;
  if (from === undefined || to === undefined) return '';
  return text.slice(from, to).replace(/\s+/g, ' ').trim();
}

function fenceOf(node: Code, lines: readonly string[]): DocFence | undefined {
  const pos = node.position;
  if (!pos) return undefined;
  const raw = lines[pos.start.line - 1] ?? '';
  const open = OPENING.exec(raw.slice(pos.start.column - 1));
  if (!open) return undefined; // an indented code block: prose, as before
  const fence = open[1]!;
  const lastRaw = lines[pos.end.line - 1] ?? '';
  const lastTrim = lastRaw.slice(containerPrefix(lastRaw).length).trimEnd();
  const closed =
    pos.end.line > pos.start.line &&
    lastTrim.length >= fence.length &&
    [...lastTrim].every((c) => c === fence[0]);
  const count = pos.end.line - pos.start.line - (closed ? 1 : 0);
  const value = node.value === '' ? [] : node.value.split('\n');
  const content = Array.from({ length: count }, (_, i) => value[i] ?? '');
  return {
    kind: 'fence',
    info: open[2]!.trim(),
    fence,
    line: pos.start.line,
    lines: content,
    firstLine: pos.start.line + 1,
    closed,
  };
}

/** Headings and fenced code blocks of a markdown doc, in document order. */
export function readBlocks(text: string): DocBlock[] {
  const tree: Root = fromMarkdown(text);
  const lines = text.split('\n');
  const out: DocBlock[] = [];
  const walk = (n: Nodes): void => {
    if (n.type === 'heading' && n.position) {
      out.push({
        kind: 'heading',
        depth: n.depth,
        source: headingSource(n, text),
        line: n.position.start.line,
      });
      return;
    }
    if (n.type === 'code') {
      const f = fenceOf(n, lines);
      if (f) out.push(f);
      return;
    }
    if ('children' in n) for (const c of n.children) walk(c as Nodes);
  };
  walk(tree);
  return out;
}

/**
 * What a content line of the fence at `line` must start with to stay inside its container
 * (a list item's indentation, a blockquote's "> "), read from that doc line.
 */
export function linePrefix(text: string, line: number): string {
  const raw = text.split('\n')[line - 1] ?? '';
  return containerPrefix(raw);
}
