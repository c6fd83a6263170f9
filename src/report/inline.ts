/**
 * A doc heading's inline markdown as HTML for the report: `code` spans become <code>,
 * *emphasis* and **strong** stay, links keep their text only (the page links nowhere),
 * everything else is escaped text. Parsed by the same CommonMark parser as the lab docs.
 */
import { fromMarkdown } from 'mdast-util-from-markdown';
import type { Nodes } from 'mdast';

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

function render(n: Nodes): string {
  switch (n.type) {
    case 'text':
      return escapeHtml(n.value);
    case 'inlineCode':
      return `<code>${escapeHtml(n.value)}</code>`;
    case 'emphasis':
      return `<em>${n.children.map(render).join('')}</em>`;
    case 'strong':
      return `<strong>${n.children.map(render).join('')}</strong>`;
    case 'break':
      return ' ';
    case 'html':
      return escapeHtml(n.value);
    default:
      return 'children' in n ? (n.children as Nodes[]).map(render).join('') : '';
  }
}

/** One line of inline markdown (a heading's text) as safe HTML. */
export function inlineHtml(md: string): string {
  // a heading's own "1. " or "- " is text, not a list marker
  const line = md
    .replace(/\s*\n\s*/g, ' ')
    .trim()
    .replace(/^(\d+)([.)])/, '$1\\$2')
    .replace(/^([-+*#>=])/, '\\$1');
  const root = fromMarkdown(line);
  const first = root.children[0];
  if (!first || first.type !== 'paragraph' || root.children.length > 1) return escapeHtml(md);
  return render(first);
}

/** The same line as plain text (for <title>, links' titles). */
export function inlineText(md: string): string {
  return inlineHtml(md)
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}
