/**
 * JSON written piece by piece: the same text `JSON.stringify(value)` (or with `indent`)
 * gives, but never held whole in memory, so printing 40,000 parsed rules costs a buffer, not
 * a second copy of the data as one 20–38 MB string.
 */

/** A container with at most this many values inside is stringified whole (a rule, a service). */
const SMALL = 512;
const CHUNK = 1 << 16;

/** Whether `v` holds at most `budget` values (counted without allocating, until it runs out). */
function small(v: object, budget: number): boolean {
  return left(v, budget) >= 0;
}

function left(x: object, budget: number): number {
  if (Array.isArray(x)) {
    budget -= x.length;
    for (let i = 0; i < x.length && budget >= 0; i++) {
      const y: unknown = x[i];
      if (y !== null && typeof y === 'object') budget = left(y, budget);
    }
    return budget;
  }
  for (const k in x) {
    if (--budget < 0) return budget;
    const y: unknown = (x as Record<string, unknown>)[k];
    if (y !== null && typeof y === 'object') budget = left(y, budget);
  }
  return budget;
}

export function writeJson(
  value: unknown,
  write: (chunk: string) => void,
  indent: number = 0,
): void {
  let buf = '';
  const out = (s: string) => {
    buf += s;
    if (buf.length >= CHUNK) {
      write(buf);
      buf = '';
    }
  };
  const nl = (depth: number) => (indent ? `\n${' '.repeat(indent * depth)}` : '');
  const whole = (v: unknown, depth: number) => {
    const s = JSON.stringify(v, null, indent || undefined);
    // re-indent a nested block to where it sits
    out(indent && depth && s.includes('\n') ? s.replace(/\n/g, nl(depth)) : s);
  };
  const walk = (v: unknown, depth: number): void => {
    if (v === null || typeof v !== 'object' || small(v, SMALL)) return whole(v, depth);
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function')
      return walk((v as { toJSON: () => unknown }).toJSON(), depth);
    if (Array.isArray(v)) {
      if (v.length === 0) return out('[]');
      out('[');
      for (let i = 0; i < v.length; i++) {
        if (i) out(',');
        out(nl(depth + 1));
        const x: unknown = v[i];
        // JSON.stringify writes null for what JSON cannot hold, inside arrays
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') out('null');
        else walk(x, depth + 1);
      }
      out(`${nl(depth)}]`);
      return;
    }
    let first = true;
    out('{');
    for (const k of Object.keys(v)) {
      const x: unknown = (v as Record<string, unknown>)[k];
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
      out(first ? '' : ',');
      first = false;
      out(`${nl(depth + 1)}${JSON.stringify(k)}:${indent ? ' ' : ''}`);
      walk(x, depth + 1);
    }
    out(first ? '}' : `${nl(depth)}}`);
  };
  walk(value, 0);
  if (buf) write(buf);
}
