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

/**
 * The pieces of `JSON.stringify(value, null, indent)`, about CHUNK characters each. A
 * generator, so that a writer can stop between pieces until its stream drains.
 */
export function* jsonChunks(value: unknown, indent: number = 0): Generator<string> {
  let buf = '';
  const nl = (depth: number) => (indent ? `\n${' '.repeat(indent * depth)}` : '');
  const whole = (v: unknown, depth: number): string => {
    const s = JSON.stringify(v, null, indent || undefined);
    // re-indent a nested block to where it sits
    return indent && depth && s.includes('\n') ? s.replace(/\n/g, nl(depth)) : s;
  };
  // Small values are written whole; only containers too large for that are walked, so the
  // generator frames are one per large container, not one per value.
  function* walk(v: unknown, depth: number): Generator<string> {
    if (v === null || typeof v !== 'object' || small(v, SMALL)) {
      buf += whole(v, depth);
    } else if (typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      yield* walk((v as { toJSON: () => unknown }).toJSON(), depth);
    } else if (Array.isArray(v)) {
      if (v.length === 0) {
        buf += '[]';
        return;
      }
      buf += '[';
      for (let i = 0; i < v.length; i++) {
        if (i) buf += ',';
        buf += nl(depth + 1);
        const x: unknown = v[i];
        // JSON.stringify writes null for what JSON cannot hold, inside arrays
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') buf += 'null';
        else yield* walk(x, depth + 1);
        if (buf.length >= CHUNK) {
          yield buf;
          buf = '';
        }
      }
      buf += `${nl(depth)}]`;
    } else {
      let first = true;
      buf += '{';
      for (const k of Object.keys(v)) {
        const x: unknown = (v as Record<string, unknown>)[k];
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
        if (!first) buf += ',';
        first = false;
        buf += `${nl(depth + 1)}${JSON.stringify(k)}:${indent ? ' ' : ''}`;
        yield* walk(x, depth + 1);
        if (buf.length >= CHUNK) {
          yield buf;
          buf = '';
        }
      }
      buf += first ? '}' : `${nl(depth)}}`;
    }
  }
  yield* walk(value, 0);
  if (buf) yield buf;
}

/**
 * The pieces of `JSON.stringify(value)` (compact), handed to `emit` in order as they are
 * made: a container too large to stringify whole is walked, its small values stringified
 * one by one. Nothing is joined, so a writer that copies each piece into its buffer makes
 * no string of the whole, nor of a 64 KiB part of it.
 */
export function jsonPieces(value: unknown, emit: (piece: string) => void): void {
  if (value === null || typeof value !== 'object' || small(value, SMALL)) {
    const s = JSON.stringify(value);
    // (undefined, a function or a symbol at the top: JSON.stringify gives no text)
    if (s !== undefined) emit(s);
    return;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    jsonPieces((value as { toJSON: () => unknown }).toJSON(), emit);
    return;
  }
  if (Array.isArray(value)) {
    emit('[');
    for (let i = 0; i < value.length; i++) {
      if (i) emit(',');
      const x: unknown = value[i];
      // JSON.stringify writes null for what JSON cannot hold, inside arrays
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') emit('null');
      else jsonPieces(x, emit);
    }
    emit(']');
    return;
  }
  let first = true;
  emit('{');
  for (const k of Object.keys(value)) {
    const x: unknown = (value as Record<string, unknown>)[k];
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    emit(`${first ? '' : ','}${JSON.stringify(k)}:`);
    first = false;
    jsonPieces(x, emit);
  }
  emit('}');
}

/** Write `value` as JSON through `write`, piece by piece (see jsonChunks). */
export function writeJson(
  value: unknown,
  write: (chunk: string) => void,
  indent: number = 0,
): void {
  for (const c of jsonChunks(value, indent)) write(c);
}

/**
 * Where JSON goes: a function that takes a piece and returns nothing, or a promise when
 * the reader is behind (a pipe into `jq` or `less`): the writer waits for it before the
 * next piece, so the text never piles up in memory. A piece of bytes is the writer's again
 * once the call returns nothing, or once its promise resolves: a sink that keeps the bytes
 * longer copies them. (The writer fills the same buffer again: no new buffer per piece.)
 */
export type JsonSink = (chunk: string | Uint8Array) => void | Promise<void>;

/** writeJson for a sink that can ask to wait. */
export async function writeJsonTo(
  value: unknown,
  sink: JsonSink,
  indent: number = 0,
): Promise<void> {
  for (const c of jsonChunks(value, indent)) {
    const wait = sink(c);
    if (wait) await wait;
  }
}
