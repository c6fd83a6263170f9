/**
 * Bytes in the module's memory, read in place: the characters that matter, comparisons and
 * scans (eight bytes at a time where they can be), numbers as JavaScript reads them; the
 * columns and byte-string maps the writers keep what they need in; the arena of kept bytes.
 */

export const SP: u8 = 32;
export const QUOTE: u8 = 34;
export const DASH: u8 = 45;
export const BANG_CH: u8 = 33;
/** A range's start when it has none (null), or when it is `!` alone (a negation without a value). */
export const NONE: isize = -1;
export const BANG: isize = -2;

@inline export function b(p: usize): u8 {
  return load<u8>(p);
}

export const ONES: u64 = 0x0101010101010101;
export const HIGHS: u64 = 0x8080808080808080;
/** Whether a byte of x is c. */
@inline export function hasByte(x: u64, c: u64): bool {
  const y = x ^ (c * ONES);
  return ((y - ONES) & ~y & HIGHS) != 0;
}
/** Whether a byte of x is below 0x20 or above 0x7e. */
@inline export function hasUnprintable(x: u64): bool {
  return (((x - 0x20 * ONES) & ~x) | (x + ONES) | x) & HIGHS ? true : false;
}

/** Whether a byte of x is above m and below n (m, n at most 128). */
@inline export function hasBetween(x: u64, m: u64, n: u64): bool {
  const low = x & (ONES * 127);
  return ((ONES * (127 + n) - low) & ~x & (low + ONES * (127 - m)) & HIGHS) != 0;
}

/** Whether the bytes [a, e) are the ASCII string s. */
export function is(a: usize, e: usize, s: string): bool {
  const n = s.length;
  if (<i32>(e - a) != n) return false;
  const p = changetype<usize>(s);
  for (let i = 0; i < n; i++) if (<u16>b(a + <usize>i) != load<u16>(p + (<usize>i << 1))) return false;
  return true;
}

/** Whether [a, e) starts with the ASCII string s. */
export function startsWith(a: usize, e: usize, s: string): bool {
  const n = s.length;
  if (<i32>(e - a) < n) return false;
  const p = changetype<usize>(s);
  for (let i = 0; i < n; i++) if (<u16>b(a + <usize>i) != load<u16>(p + (<usize>i << 1))) return false;
  return true;
}

export function sameBytes(a: usize, e: usize, c: usize, d: usize): bool {
  const n = e - a;
  if (n != d - c) return false;
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) if (load<u64>(a + i) != load<u64>(c + i)) return false;
  for (; i < n; i++) if (b(a + i) != b(c + i)) return false;
  return true;
}

/** Where the word from `a` ends (a space or `e`). */
export function wordEnd(a: usize, e: usize): usize {
  let p = a;
  while (p < e && b(p) != SP) p++;
  return p;
}

export function digitsEnd(p: usize, e: usize): usize {
  while (p < e && b(p) >= 48 && b(p) <= 57) p++;
  return p;
}

export function isDigits(a: usize, e: usize): bool {
  if (e == a) return false;
  for (let p = a; p < e; p++) if (b(p) < 48 || b(p) > 57) return false;
  return true;
}

/** A name JavaScript orders first as an object key: 0 or digits without a leading 0. */
export function indexLike(a: usize, e: usize): bool {
  if (e == a || (b(a) == 48 && e - a > 1)) return false;
  return isDigits(a, e);
}

/** Digits [a, e) (at most 15) as a number. */
export function digitsValue(a: usize, e: usize): f64 {
  let x: i64 = 0;
  for (let p = a; p < e; p++) x = x * 10 + <i64>(b(p) - 48);
  return <f64>x;
}

/** int() of src/inspect/text.ts: digits only, not empty, a safe integer; else null (NaN). */
export function intOf(a: usize, e: usize): f64 {
  if (!isDigits(a, e)) return NaN;
  let p = a;
  while (p < e - 1 && b(p) == 48) p++;
  if (e - p > 16) return NaN;
  let x: i64 = 0;
  for (let q = p; q < e; q++) x = x * 10 + <i64>(b(q) - 48);
  return x > 9007199254740991 ? NaN : <f64>x;
}

/** A hash of the bytes [a, e), four at a time. */
export function hash(a: usize, e: usize): u32 {
  let h: u32 = <u32>(e - a) * 0x9e3779b1;
  let p = a;
  for (; p + 4 <= e; p += 4) h = rotl<u32>(h ^ load<u32>(p), 13) * 0x85ebca6b;
  for (; p < e; p++) h = rotl<u32>(h ^ <u32>b(p), 7) * 0x01000193;
  h ^= h >> 16;
  h *= 0x7feb352d;
  return h ^ (h >> 15);
}

/**
 * A column of cells, doubled when full (into fresh memory: the module never gives any back,
 * and its whole run is one parse).
 */
export class Col<T> {
  ptr: usize;
  cap: i32;
  length: i32 = 0;

  constructor(cap: i32) {
    this.cap = max(cap, 16);
    this.ptr = heap.alloc(<usize>this.cap << alignof<T>());
  }

  @inline push(v: T): void {
    if (this.length == this.cap) this.grow();
    store<T>(this.ptr + (<usize>this.length << alignof<T>()), v);
    this.length++;
  }

  grow(): void {
    const p = heap.alloc(<usize>this.cap << (alignof<T>() + 1));
    memory.copy(p, this.ptr, <usize>this.cap << alignof<T>());
    this.ptr = p;
    this.cap <<= 1;
  }

  /** Cell i (i < length). */
  @operator('[]') @inline get(i: i32): T {
    return load<T>(this.ptr + (<usize>i << alignof<T>()));
  }

  /** Cell i (i < length) set. */
  @operator('[]=') @inline set(i: i32, v: T): void {
    store<T>(this.ptr + (<usize>i << alignof<T>()), v);
  }
}

/**
 * Byte strings (ranges of memory that stay: the arena's) to an index, in insertion order:
 * open addressing, doubled when half full.
 */
export class RangeMap {
  ka: Col<usize>;
  ke: Col<usize>;
  hs: Col<u32>;
  val: Col<i32>;
  slots: usize;
  mask: u32;

  constructor(cap: i32) {
    this.ka = new Col<usize>(cap);
    this.ke = new Col<usize>(cap);
    this.hs = new Col<u32>(cap);
    this.val = new Col<i32>(cap);
    this.slots = heap.alloc(64 << 2);
    this.mask = 63;
  }

  get count(): i32 {
    return this.ka.length;
  }

  /** Index of [a, e), or -1. */
  find(a: usize, e: usize): i32 {
    return this.findHashed(a, e, hash(a, e));
  }

  findHashed(a: usize, e: usize, h: u32): i32 {
    const mask = this.mask;
    let k = h & mask;
    let v = load<i32>(this.slots + (<usize>k << 2));
    while (v != 0) {
      const i = v - 1;
      if (this.hs[i] == h && sameBytes(this.ka[i], this.ke[i], a, e)) return i;
      k = (k + 1) & mask;
      v = load<i32>(this.slots + (<usize>k << 2));
    }
    return -1;
  }

  /** Add [a, e) (not there, in memory that stays) with value v: its index. */
  add(a: usize, e: usize, v: i32): i32 {
    return this.addHashed(a, e, v, hash(a, e));
  }

  addHashed(a: usize, e: usize, v: i32, h: u32): i32 {
    const i = this.ka.length;
    this.ka.push(a);
    this.ke.push(e);
    this.hs.push(h);
    this.val.push(v);
    if (<u32>(i + 1) * 2 > this.mask) {
      const n = (this.mask + 1) << 2;
      this.slots = heap.alloc(<usize>n << 2);
      this.mask = n - 1;
      for (let k = 0; k <= i; k++) this.slot(k);
    } else this.slot(i);
    return i;
  }

  private slot(i: i32): void {
    const mask = this.mask;
    let k = this.hs[i] & mask;
    while (load<i32>(this.slots + (<usize>k << 2)) != 0) k = (k + 1) & mask;
    store<i32>(this.slots + (<usize>k << 2), i + 1);
  }

  /** The index of [a, e) (a window's bytes), added (a copy kept) when not there. */
  intern(a: usize, e: usize, v: i32): i32 {
    const h = hash(a, e);
    const i = this.findHashed(a, e, h);
    if (i >= 0) return i;
    const k = keep(a, e);
    return this.addHashed(k, k + (e - a), v, h);
  }
}

// The arena: bytes of the input kept beyond its window (names, comments, addresses).
let arenaAt: usize = 0;
let arenaEnd: usize = 0;

/** A copy of [a, e) that stays: where it starts. */
export function keep(a: usize, e: usize): usize {
  const n = e - a;
  if (arenaAt + n > arenaEnd) {
    const size = max<usize>(n, 1 << 16);
    arenaAt = heap.alloc(size + 8);
    arenaEnd = arenaAt + size;
  }
  const k = arenaAt;
  // eight bytes at a time (the last store may pass the end: into room not yet used)
  for (let i: usize = 0; i < n; i += 8) store<u64>(k + i, load<u64>(a + i));
  arenaAt += n;
  return k;
}
