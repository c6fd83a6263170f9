/**
 * The mutation fuzzer's parts, shared by the fuzz tests: a seeded PRNG (a failure replays
 * from its seed) and `mutate`, which cuts, drops, repeats, swaps and joins lines of a real
 * output and flips characters in them to ones parsers treat specially.
 */

export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY = [
  '\u0000',
  ':',
  ' ',
  '[',
  ']',
  '"',
  '\\',
  '-',
  '>',
  '/',
  '*',
  '#',
  '{',
  '\t',
  '9',
  'x',
  '…',
  '\r',
];

export function mutate(text: string, rnd: () => number): string {
  const lines = text.split('\n');
  const pick = () => Math.floor(rnd() * lines.length);
  const ops = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < ops && lines.length; k++) {
    const i = pick();
    const line = lines[i] ?? '';
    switch (Math.floor(rnd() * 7)) {
      case 0: // cut a line short
        lines[i] = line.slice(0, Math.floor(rnd() * line.length));
        break;
      case 1: // drop a line
        lines.splice(i, 1);
        break;
      case 2: // duplicate a line
        lines.splice(i, 0, line);
        break;
      case 3: {
        // flip bytes
        const chars = [...line];
        for (let n = 0; n < 1 + rnd() * 3; n++) {
          const at = Math.floor(rnd() * (chars.length + 1));
          chars.splice(at, 1, NASTY[Math.floor(rnd() * NASTY.length)]!);
        }
        lines[i] = chars.join('');
        break;
      }
      case 4: // swap two lines
        {
          const j = pick();
          [lines[i], lines[j]] = [lines[j] ?? '', line];
        }
        break;
      case 5: // a very long line (regex backtracking guard)
        // (capped at ~20 kB so repeated rounds cannot grow it without bound)
        lines[i] = line.repeat(50 + Math.floor(rnd() * 150)).slice(0, 20_000);
        break;
      default: // join two lines
        lines.splice(i, 2, line + (lines[i + 1] ?? ''));
    }
  }
  return lines.join('\n');
}
