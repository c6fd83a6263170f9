/**
 * The output: JSON written into one buffer of the module's memory, handed to the JavaScript
 * side after each step (`outAt()`, `outLen()`); what does not fit in the room left goes out
 * at once (`spill`). Strings escaped as JSON.stringify escapes them; numbers as it writes them
 * (by the JavaScript side for those that are not integers, kept by their bits).
 */
import { b, BANG, BANG_CH, hash, hasByte, hasUnprintable, NONE, QUOTE, sameBytes } from './bytes';

/** JSON.stringify(x) written at `at` (ASCII): its length. */
@external('env', 'fmtNum')
declare function fmtNum(x: f64, at: usize): i32;
/** Number() of the ASCII text [a, a + len). */
@external('env', 'toNum')
declare function toNum(a: usize, len: i32): f64;
/** The output so far, [outAt(), op), copied and handed on at once (an item larger than the room left). */
@external('env', 'spill')
declare function spill(len: i32): void;

export const OUT_SIZE: usize = 1 << 20;
/** A step returns once this much output is waiting (low()): set by outBegin(). */
let yieldAt: usize = 1 << 16;

export let OUT: usize = 0;
export let op: usize = 0;

/**
 * Room for the output; a step hands it on once `pieces` bytes wait (larger pieces: fewer
 * writes; smaller: less memory touched).
 */
export function outBegin(pieces: usize): void {
  yieldAt = pieces;
  OUT = heap.alloc(OUT_SIZE + 8);
  op = OUT;
}

/** The output handed on: its buffer is filled again from its start. */
export function outReset(): void {
  op = OUT;
}

export function outAt(): usize {
  return OUT;
}

export function outLen(): i32 {
  return <i32>(op - OUT);
}

/** Whether a piece's worth of bytes wait: time to hand them on. */
@inline export function low(): bool {
  return op - OUT > yieldAt;
}

@inline export function put(c: u8): void {
  store<u8>(op, c);
  op++;
}

/** Room for `k` more bytes: what is waiting goes out first when they would not fit. */
export function need(k: usize): void {
  // (1 KiB more: the short keys and numbers written after it)
  if (op + k + 1024 > OUT + OUT_SIZE) {
    spill(<i32>(op - OUT));
    op = OUT;
  }
}

/**
 * ASCII text (room made by the caller): its bytes, eight at a time, from a copy made the
 * first time (a constant's address is its key in a small table: the JSON keys of a rule
 * are written 40,000 times).
 */
export function lit(s: string): void {
  const sp = changetype<usize>(s);
  if (litKeys == 0) {
    litKeys = heap.alloc(LIT_SLOTS << 3);
  }
  const slot = litKeys + ((((sp >> 2) * 0x9e3779b1) >> 22) & (LIT_SLOTS - 1)) * 8;
  let k = load<usize>(slot + 4);
  if (load<usize>(slot) != sp) {
    const n = min(s.length, 255); // (the keys and words written are short)
    k = heap.alloc(<usize>n + 16);
    store<u8>(k, <u8>n);
    for (let i = 0; i < n; i++) store<u8>(k + 1 + <usize>i, <u8>s.charCodeAt(i));
    store<usize>(slot, sp);
    store<usize>(slot + 4, k);
  }
  const n = <usize>load<u8>(k);
  const o = op;
  for (let i: usize = 0; i < n; i += 8) store<u64>(o + i, load<u64>(k + 1 + i));
  op = o + n;
}
const LIT_SLOTS: usize = 1024;
let litKeys: usize = 0;

export const HEX = '0123456789abcdef';

/** The bytes [a, e) inside a JSON string, as JSON.stringify escapes them; `dropQuotes`: leave out `"`. */
export function escaped(a: usize, e: usize, dropQuotes: bool): void {
  let o = op;
  let p = a;
  while (p < e) {
    if (p + 8 <= e) {
      const x = load<u64>(p);
      if (!hasByte(x, QUOTE) && !hasByte(x, 92) && !hasUnprintable(x)) {
        store<u64>(o, x);
        o += 8;
        p += 8;
        continue;
      }
    }
    const c = b(p++);
    if (c == QUOTE) {
      if (dropQuotes) continue;
      store<u8>(o++, 92);
      store<u8>(o++, QUOTE);
    } else if (c == 92) {
      store<u8>(o++, 92);
      store<u8>(o++, 92);
    } else if (c < 32) {
      // (only in a file changed since layout() read it: layout takes printable bytes only)
      store<u8>(o++, 92);
      store<u8>(o++, 117);
      store<u8>(o++, 48);
      store<u8>(o++, 48);
      store<u8>(o++, <u8>HEX.charCodeAt(c >> 4));
      store<u8>(o++, <u8>HEX.charCodeAt(c & 15));
    } else store<u8>(o++, c);
  }
  op = o;
}

/** A non-negative integer's digits. */
export function putInt(x: i64): void {
  if (x < 0x100000000) {
    let y = <u32>x;
    let n: usize = 1;
    for (let z = y; z >= 10; z /= 10) n++;
    let p = op + n;
    op = p;
    do {
      p--;
      store<u8>(p, <u8>(48 + y % 10));
      y /= 10;
    } while (y > 0);
    return;
  }
  let n: usize = 1;
  for (let y = x; y >= 10; y /= 10) n++;
  let p = op + n;
  op = p;
  let y = x;
  do {
    p--;
    store<u8>(p, <u8>(48 + <i32>(y % 10)));
    y /= 10;
  } while (y > 0);
}

// Numbers JSON.stringify writes, kept by their bits (kube-proxy's probabilities and shares
// repeat: a few values over thousands of rules): the text and its length, 32 bytes a slot.
const NUM_SLOTS: usize = 512;
let numBits: usize = 0;
let numText: usize = 0;

/** A number as JSON.stringify writes it (null for NaN). */
export function putNum(x: f64): void {
  if (isNaN(x)) {
    lit('null');
    return;
  }
  if (x >= 0 && x <= 9007199254740991 && x == Math.floor(x) && !(x == 0 && 1 / x < 0)) {
    putInt(<i64>x);
    return;
  }
  if (numBits == 0) {
    numBits = heap.alloc(NUM_SLOTS << 3);
    numText = heap.alloc(NUM_SLOTS << 5);
  }
  const bits = reinterpret<u64>(x);
  const k = <usize>((bits ^ (bits >> 29) ^ (bits >> 47)) & (NUM_SLOTS - 1));
  const t = numText + (k << 5);
  if (load<u64>(numBits + (k << 3)) == bits && b(t) != 0) {
    const n = <usize>b(t);
    memory.copy(op, t + 1, n);
    op += n;
    return;
  }
  const n = <usize>fmtNum(x, op);
  if (n < 32) {
    store<u64>(numBits + (k << 3), bits);
    store<u8>(t, <u8>n);
    memory.copy(t + 1, op, n);
  }
  op += n;
}

// Texts Number() reads (`--probability P`), kept by their bytes: the value, and the text.
let probVal: usize = 0;
let probText: usize = 0;

/** Number() of the ASCII text [a, e) (a number's shape, checked by the caller). */
export function numberOf(a: usize, e: usize): f64 {
  const n = e - a;
  if (n >= 32) return toNum(a, <i32>n);
  if (probVal == 0) {
    probVal = heap.alloc(NUM_SLOTS << 3);
    probText = heap.alloc(NUM_SLOTS << 5);
  }
  const k = <usize>(hash(a, e) & <u32>(NUM_SLOTS - 1));
  const t = probText + (k << 5);
  if (<usize>b(t) == n && sameBytes(t + 1, t + 1 + n, a, e)) return load<f64>(probVal + (k << 3));
  const v = toNum(a, <i32>n);
  store<u8>(t, <u8>n);
  memory.copy(t + 1, a, n);
  store<f64>(probVal + (k << 3), v);
  return v;
}

/** The length of the range [a, e), 0 when a is NONE or BANG. */
export function rlen(a: isize, e: usize): usize {
  return a < 0 ? 0 : e - <usize>a;
}

/** A JSON string of the text [a, e), `!` in front when `bang`; null when a is NONE. */
export function putText(a: isize, e: usize, bang: bool): void {
  if (a == NONE) {
    lit('null');
    return;
  }
  need(rlen(a, e) * 6 + 8);
  put(QUOTE);
  if (bang) put(BANG_CH);
  if (a != BANG) escaped(<usize>a, e, false);
  put(QUOTE);
}

export function putRange(a: isize, e: usize): void {
  putText(a, e, false);
}
