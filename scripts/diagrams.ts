// Exports every diagrams/*.drawio (the sources, edited in diagrams.net) to diagrams/*.svg
// (what the labs and README show), through src/report/drawio.ts.
//
//   node --import tsx scripts/diagrams.ts           write the SVGs
//   node --import tsx scripts/diagrams.ts --check   exit 1 if an SVG is missing or stale
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDrawio, toSvg } from '../src/report/drawio.js';

export const DIAGRAMS_DIR = fileURLToPath(new URL('../diagrams/', import.meta.url));

/** [drawio path, svg path, the SVG it should contain] for every diagram. */
export function exportAll(dir = DIAGRAMS_DIR): { drawio: string; svg: string; content: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.drawio'))
    .sort()
    .map((f) => {
      const drawio = join(dir, f);
      const svg = drawio.replace(/\.drawio$/, '.svg');
      const content = toSvg(parseDrawio(readFileSync(drawio, 'utf8')), { source: `diagrams/${f}` });
      return { drawio, svg, content };
    });
}

const invoked = process.argv[1] ?? '';
if (/diagrams\.ts$/.test(invoked)) {
  const check = process.argv.includes('--check');
  const root = fileURLToPath(new URL('..', import.meta.url));
  let stale = 0;
  for (const d of exportAll()) {
    const rel = relative(root, d.svg);
    const current = existsSync(d.svg) ? readFileSync(d.svg, 'utf8') : undefined;
    if (current === d.content) {
      console.log(`✔ ${rel} is up to date`);
    } else if (check) {
      stale++;
      console.error(
        `✘ ${rel} ${current === undefined ? 'is missing' : 'differs from its .drawio'}`,
      );
    } else {
      writeFileSync(d.svg, d.content);
      console.log(`✔ wrote ${rel}`);
    }
  }
  if (stale) {
    console.error('  → run `node --import tsx scripts/diagrams.ts` and commit the SVGs');
    process.exit(1);
  }
}
