/**
 * `proxylab parse iptables` of a plain iptables-save, compiled (AssemblyScript → WebAssembly):
 * the same JSON, byte for byte, as the JavaScript writer (src/inspect/iptables-json.ts), for
 * the inputs it takes; any other input is left to that writer (`layout()` returns 0 before
 * anything is written).
 * Why compiled: a 5,000-Service save is 6 MB and 40,000 rules; in JavaScript most of a CLI
 * run went to compiling the hot functions and collecting the strings kube-proxy's view needs.
 * Here the input is read through one window (two passes, as the JavaScript writer reads a
 * file), a word is a range of the window's bytes, and the few that kube-proxy's view keeps
 * are copied once into an arena.
 *
 * What it takes: printable ASCII and newlines only; lines as plainSaveLayout takes them;
 * quotes only around whole words; lines of at most MAX_LINE bytes; counters of at most 15
 * digits. The JavaScript side (src/inspect/save/compiled.ts) calls `begin()`, `layout(view)`,
 * then `step()` until it returns 0, handing the bytes `[outAt(), outAt() + outLen())` on after
 * each call; the module reads the input through the `fill` import.
 *
 * Names mirror the JavaScript it must equal: RuleWords (save/words.ts), Layout
 * (save/layout.ts), SaveWalk (save/walk.ts), writeRule (iptables-json.ts), KubeProxyCollector
 * (iptables.ts). test/unit/inspect/iptables-json-fuzz.test.ts holds both to the whole parse.
 */

/** Read up to `len` bytes of the input at offset `pos` into memory at `at`: how many (0 at the end). */
@external('env', 'fill')
declare function fill(at: usize, len: i32, pos: f64): i32;
/** JSON.stringify(x) written at `at` (ASCII): its length. */
@external('env', 'fmtNum')
declare function fmtNum(x: f64, at: usize): i32;
/** Number() of the ASCII text [a, a + len). */
@external('env', 'toNum')
declare function toNum(a: usize, len: i32): f64;
/** The output so far, [outAt(), op), copied and handed on at once (an item larger than the room left). */
@external('env', 'spill')
declare function spill(len: i32): void;

const SP: u8 = 32;
const QUOTE: u8 = 34;
const DASH: u8 = 45;
const BANG_CH: u8 = 33;

const OUT_SIZE: usize = 1 << 20;
/** step() returns once this much output is waiting. */
const YIELD_AT: usize = 1 << 18;
const MAX_LINE: usize = 60000;
const WIN_SIZE: usize = 1 << 18;

let OUT: usize = 0;
let op: usize = 0;

// Views (ParseView): what step() writes.
const V_FULL = 0;
const V_RULES = 1;
const V_KUBE_PROXY = 2;
const V_SUMMARY = 3;
let view = 0;
let rulesOut = false;
let kp = false;

export function begin(): void {
  WIN = heap.alloc(WIN_SIZE + 8);
  OUT = heap.alloc(OUT_SIZE + 8);
  op = OUT;
}

export function outAt(): usize {
  return OUT;
}

export function outLen(): i32 {
  return <i32>(op - OUT);
}

/** The line of the input that step() found changed since layout() read it (step() returned -1). */
export function changedLine(): i32 {
  return lineNo;
}

// ---------------------------------------------------------------------------------------
// Bytes

@inline function b(p: usize): u8 {
  return load<u8>(p);
}

const ONES: u64 = 0x0101010101010101;
const HIGHS: u64 = 0x8080808080808080;
/** Whether a byte of x is c. */
@inline function hasByte(x: u64, c: u64): bool {
  const y = x ^ (c * ONES);
  return ((y - ONES) & ~y & HIGHS) != 0;
}
/** Whether a byte of x is below 0x20 or above 0x7e. */
@inline function hasUnprintable(x: u64): bool {
  return (((x - 0x20 * ONES) & ~x) | (x + ONES) | x) & HIGHS ? true : false;
}

/** Whether a byte of x is above m and below n (m, n at most 128). */
@inline function hasBetween(x: u64, m: u64, n: u64): bool {
  const low = x & (ONES * 127);
  return ((ONES * (127 + n) - low) & ~x & (low + ONES * (127 - m)) & HIGHS) != 0;
}

/** Whether the bytes [a, e) are the ASCII string s. */
function is(a: usize, e: usize, s: string): bool {
  const n = s.length;
  if (<i32>(e - a) != n) return false;
  const p = changetype<usize>(s);
  for (let i = 0; i < n; i++) if (<u16>b(a + <usize>i) != load<u16>(p + (<usize>i << 1))) return false;
  return true;
}

/** Whether [a, e) starts with the ASCII string s. */
function startsWith(a: usize, e: usize, s: string): bool {
  const n = s.length;
  if (<i32>(e - a) < n) return false;
  const p = changetype<usize>(s);
  for (let i = 0; i < n; i++) if (<u16>b(a + <usize>i) != load<u16>(p + (<usize>i << 1))) return false;
  return true;
}

function sameBytes(a: usize, e: usize, c: usize, d: usize): bool {
  const n = e - a;
  if (n != d - c) return false;
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) if (load<u64>(a + i) != load<u64>(c + i)) return false;
  for (; i < n; i++) if (b(a + i) != b(c + i)) return false;
  return true;
}

/** Where the word from `a` ends (a space or `e`). */
function wordEnd(a: usize, e: usize): usize {
  let p = a;
  while (p < e && b(p) != SP) p++;
  return p;
}

function digitsEnd(p: usize, e: usize): usize {
  while (p < e && b(p) >= 48 && b(p) <= 57) p++;
  return p;
}

function isDigits(a: usize, e: usize): bool {
  if (e == a) return false;
  for (let p = a; p < e; p++) if (b(p) < 48 || b(p) > 57) return false;
  return true;
}

/** A name JavaScript orders first as an object key: 0 or digits without a leading 0. */
function indexLike(a: usize, e: usize): bool {
  if (e == a || (b(a) == 48 && e - a > 1)) return false;
  return isDigits(a, e);
}

/** Digits [a, e) (at most 15) as a number. */
function digitsValue(a: usize, e: usize): f64 {
  let x: i64 = 0;
  for (let p = a; p < e; p++) x = x * 10 + <i64>(b(p) - 48);
  return <f64>x;
}

/** int() of src/inspect/text.ts: digits only, not empty, a safe integer; else null (NaN). */
function intOf(a: usize, e: usize): f64 {
  if (!isDigits(a, e)) return NaN;
  let p = a;
  while (p < e - 1 && b(p) == 48) p++;
  if (e - p > 16) return NaN;
  let x: i64 = 0;
  for (let q = p; q < e; q++) x = x * 10 + <i64>(b(q) - 48);
  return x > 9007199254740991 ? NaN : <f64>x;
}

/** A hash of the bytes [a, e), four at a time. */
function hash(a: usize, e: usize): u32 {
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
class Col<T> {
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
class RangeMap {
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
function keep(a: usize, e: usize): usize {
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

// ---------------------------------------------------------------------------------------
// The input, line by line through the window (LineReader, src/inspect/source.ts)

let WIN: usize = 0;
/** Next byte to read in the window, end of what it holds, input offset of that end. */
let wr: usize = 0;
let wf: usize = 0;
let srcAt: f64 = 0;
let eof = false;
let lastDone = false;
/** The line: [la, le), number lineNo from 1. */
let la: usize = 0;
let le: usize = 0;
let lineNo = 0;

function rewind(): void {
  wr = WIN;
  wf = WIN;
  srcAt = 0;
  eof = false;
  lastDone = false;
  lineNo = 0;
}

/** Where the first newline in [p, e) is, e when none. */
function newline(p: usize, e: usize): usize {
  for (; p + 8 <= e; p += 8) if (hasByte(load<u64>(p), 10)) break;
  while (p < e && b(p) != 10) p++;
  return p;
}

/**
 * The next line into [la, le): 1; 0 at the end; -1 for a line longer than the window. Like
 * `text.split('\n')`, an input ending in a newline has a last, empty line.
 */
function nextLine(): i32 {
  let from = wr;
  while (true) {
    const nl = newline(from, wf);
    if (nl < wf) {
      la = wr;
      le = nl;
      wr = nl + 1;
      lineNo++;
      return 1;
    }
    if (eof) {
      if (lastDone) return 0;
      la = wr;
      le = wf;
      wr = wf;
      lastDone = true;
      lineNo++;
      return 1;
    }
    const rest = wf - wr;
    if (rest >= WIN_SIZE) return -1;
    memory.copy(WIN, wr, rest);
    wr = WIN;
    wf = WIN + rest;
    from = wf;
    const n = fill(wf, <i32>(WIN_SIZE - rest), srcAt);
    if (n <= 0) eof = true;
    else {
      wf += <usize>n;
      srcAt += <f64>n;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Output

@inline function put(c: u8): void {
  store<u8>(op, c);
  op++;
}

/** Room for `k` more bytes: what is waiting goes out first when they would not fit. */
function need(k: usize): void {
  // (1 KiB more: the short keys and numbers written after it)
  if (op + k + 1024 > OUT + OUT_SIZE) {
    spill(<i32>(op - OUT));
    op = OUT;
  }
}

/** ASCII text (room made by the caller). */
function lit(s: string): void {
  const n = <usize>s.length;
  const p = changetype<usize>(s);
  const o = op;
  for (let i: usize = 0; i < n; i++) store<u8>(o + i, <u8>load<u16>(p + (i << 1)));
  op = o + n;
}

/** The bytes of the ASCII text s, for putKey: its length, then its bytes, 8 bytes of room after. */
function key(s: string): usize {
  const n = s.length;
  const k = heap.alloc(<usize>n + 16);
  store<u8>(k, <u8>n);
  for (let i = 0; i < n; i++) store<u8>(k + 1 + <usize>i, <u8>s.charCodeAt(i));
  return k;
}

/** A key's bytes (room made by the caller), eight at a time. */
@inline function putKey(k: usize): void {
  const n = <usize>load<u8>(k);
  const o = op;
  for (let i: usize = 0; i < n; i += 8) store<u64>(o + i, load<u64>(k + 1 + i));
  op = o + n;
}

const HEX = '0123456789abcdef';

/** The bytes [a, e) inside a JSON string, as JSON.stringify escapes them; `dropQuotes`: leave out `"`. */
function escaped(a: usize, e: usize, dropQuotes: bool): void {
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
function putInt(x: i64): void {
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
function putNum(x: f64): void {
  if (isNaN(x)) {
    putKey(K0);
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
function numberOf(a: usize, e: usize): f64 {
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
function rlen(a: isize, e: usize): usize {
  return a < 0 ? 0 : e - <usize>a;
}

/** A JSON string of the text [a, e), `!` in front when `bang`; null when a is NONE. */
function putText(a: isize, e: usize, bang: bool): void {
  if (a == NONE) {
    putKey(K0);
    return;
  }
  need(rlen(a, e) * 6 + 8);
  put(QUOTE);
  if (bang) put(BANG_CH);
  if (a != BANG) escaped(<usize>a, e, false);
  put(QUOTE);
}

function putRange(a: isize, e: usize): void {
  putText(a, e, false);
}

// ---------------------------------------------------------------------------------------
// The layout (Layout and plainSaveLayout, src/inspect/save/layout.ts)

// Tables: name (kept), first chain (in the chain columns), chain count, rules.
let tA = new Col<usize>(0);
let tE = new Col<usize>(0);
let tFirst = new Col<i32>(0);
let tCount = new Col<i32>(0);
let tRules = new Col<i32>(0);
// Chains of every table, in order: name id (see `names`), policy (kept; NONE: `-`), counters.
let cId = new Col<i32>(0);
let cPolA = new Col<isize>(0);
let cPolE = new Col<usize>(0);
let cPk = new Col<f64>(0);
let cBy = new Col<f64>(0);

/**
 * Every chain name met (declared, or a rule's KUBE- target) → its id; what kube-proxy's view
 * knows of a name is kept by id (below), so a name is hashed once per line at most.
 */
let names = new RangeMap(0);
/** The table (+ 1) a name was last declared in: a second declaration there is not plain. */
let nDecl = new Col<i32>(0);

/** The id of the name [a, e) (a window's bytes): made, with a cell in each per-name column, when new. */
function nameId(a: usize, e: usize): i32 {
  const id = names.intern(a, e, 0);
  if (id == nDecl.length) {
    nDecl.push(0);
    newName();
  }
  return id;
}

@inline function nameA(id: i32): usize {
  return names.ka[id];
}
@inline function nameE(id: i32): usize {
  return names.ke[id];
}

const SAVE_COMMENTS = ['# Generated by', '# Completed on', '# Warning: '];

// What the line nextLayoutLine() read holds: `#`, `$` or `%`, quotes.
let hashes = 0;
let prompts = 0;
let quotes = 0;

/**
 * nextLine() for the layout: the line's bytes checked on the way (lineBytes of layout.ts):
 * 1, 0, -1 as nextLine(); -2 for a byte a plain save never holds (a control character, a
 * byte outside ASCII, a backslash). Eight bytes at a time where none of them matters.
 */
function nextLayoutLine(): i32 {
  hashes = 0;
  prompts = 0;
  quotes = 0;
  let from = wr;
  while (true) {
    let p = from;
    const end = wf;
    while (p < end) {
      if (p + 8 <= end) {
        const x = load<u64>(p);
        // (a newline is below 0x20: unprintable)
        if (!hasUnprintable(x) && !hasBetween(x, 33, 38) && !hasByte(x, 92)) {
          p += 8;
          continue;
        }
      }
      const c = b(p);
      if (c == 10) {
        la = wr;
        le = p;
        wr = p + 1;
        lineNo++;
        return 1;
      }
      if (c < 32 || c > 126 || c == 92) return -2;
      if (c == 35) hashes++;
      else if (c == 36 || c == 37) prompts++;
      else if (c == QUOTE) quotes++;
      p++;
    }
    if (eof) {
      if (lastDone) return 0;
      la = wr;
      le = wf;
      wr = wf;
      lastDone = true;
      lineNo++;
      return 1;
    }
    const rest = wf - wr;
    if (rest >= WIN_SIZE) return -1;
    memory.copy(WIN, wr, rest);
    wr = WIN;
    wf = WIN + rest;
    from = wf;
    const n = fill(wf, <i32>(WIN_SIZE - rest), srcAt);
    if (n <= 0) eof = true;
    else {
      wf += <usize>n;
      srcAt += <f64>n;
    }
  }
}

/** The columns, empty. */
function reserve(): void {
  const n = 1024;
  tA = new Col<usize>(n);
  tE = new Col<usize>(n);
  tFirst = new Col<i32>(n);
  tCount = new Col<i32>(n);
  tRules = new Col<i32>(n);
  cId = new Col<i32>(n);
  cPolA = new Col<isize>(n);
  cPolE = new Col<usize>(n);
  cPk = new Col<f64>(n);
  cBy = new Col<f64>(n);
  names = new RangeMap(n);
  nDecl = new Col<i32>(n);
  nSvcListed = new Col<bool>(n);
  nEpListed = new Col<bool>(n);
  nDnatA = new Col<usize>(n);
  nDnatE = new Col<usize>(n);
  nTaken = new Col<i32>(n);
}

/**
 * 1 when the input is a plain iptables-save this module writes, 0 when not (or when it is
 * one it leaves to the JavaScript writer); `v` is the view to write (V_*).
 */
export function layout(v: i32): i32 {
  view = v;
  rulesOut = v == V_FULL || v == V_RULES;
  kp = v != V_RULES;
  reserve();
  rewind();
  let table = -1;
  /** Chain (in the table) the last rule went to; -1 before the table's first rule. */
  let ruleChain = -1;
  let rules = 0;
  while (true) {
    const got = nextLayoutLine();
    if (got == 0) break;
    if (got < 0) return 0;
    const a = la;
    const e = le;
    if (e == a) continue;
    if (e - a > MAX_LINE || b(e - 1) == SP) return 0;
    const c0 = b(a);
    if (c0 == DASH) {
      // -A CHAIN …: a declared chain, this one or a later one; no `#`; quotes around words
      if (table < 0 || e - a < 4 || b(a + 1) != 65 || b(a + 2) != SP) return 0;
      const c3 = b(a + 3);
      if (c3 == 36 || c3 == SP || c3 == QUOTE || c3 == DASH || hashes > 0) return 0;
      if (quotes > 0 && !wholeWordQuotes(a, e)) return 0;
      const sp = wordEnd(a + 3, e);
      const first = tFirst[table];
      const count = tCount[table];
      let ci = ruleChain;
      if (ci < 0 || !sameBytes(nameA(cId[first + ci]), nameE(cId[first + ci]), a + 3, sp)) {
        ci++;
        while (ci < count && !sameBytes(nameA(cId[first + ci]), nameE(cId[first + ci]), a + 3, sp))
          ci++;
        if (ci >= count) return 0;
      }
      ruleChain = ci;
      rules++;
    } else if (c0 == 58) {
      // :CHAIN POLICY [packets:bytes], before the table's first rule
      if (table < 0 || ruleChain >= 0 || hashes + prompts + quotes > 0) return 0;
      const nameEnd = wordEnd(a + 1, e);
      if (nameEnd == a + 1 || nameEnd >= e) return 0;
      const polEnd = wordEnd(nameEnd + 1, e);
      if (polEnd == nameEnd + 1 || polEnd + 1 >= e || b(polEnd + 1) != 91) return 0;
      const colon = digitsEnd(polEnd + 2, e);
      if (colon == polEnd + 2 || colon >= e || b(colon) != 58) return 0;
      const q = digitsEnd(colon + 1, e);
      if (q == colon + 1 || q >= e || b(q) != 93 || q + 1 != e) return 0;
      if (colon - (polEnd + 2) > 15 || q - (colon + 1) > 15) return 0;
      if (indexLike(a + 1, nameEnd)) return 0;
      const id = nameId(a + 1, nameEnd);
      if (nDecl[id] == table + 1) return 0;
      nDecl[id] = table + 1;
      cId.push(id);
      const dashPolicy = polEnd == nameEnd + 2 && b(nameEnd + 1) == DASH;
      if (dashPolicy) {
        cPolA.push(NONE);
        cPolE.push(0);
      } else {
        const k = keep(nameEnd + 1, polEnd);
        cPolA.push(<isize>k);
        cPolE.push(k + (polEnd - nameEnd - 1));
      }
      cPk.push(digitsValue(polEnd + 2, colon));
      cBy.push(digitsValue(colon + 1, q));
      tCount[table] = tCount[table] + 1;
    } else if (c0 == 42) {
      // *table: a word, not index-like, not seen before
      if (e == a + 1 || indexLike(a + 1, e)) return 0;
      for (let q = a + 1; q < e; q++) {
        const x = b(q);
        const word = (x >= 48 && x <= 57) || (x >= 65 && x <= 90) || (x >= 97 && x <= 122) || x == 95;
        if (!word) return 0;
      }
      for (let t = 0; t < tA.length; t++) if (sameBytes(tA[t], tE[t], a + 1, e)) return 0;
      const k = keep(a + 1, e);
      tA.push(k);
      tE.push(k + (e - a - 1));
      tFirst.push(cId.length);
      tCount.push(0);
      tRules.push(0);
      table = tA.length - 1;
      ruleChain = -1;
    } else if (is(a, e, 'COMMIT')) table = -1;
    else {
      if (c0 != 35) return 0;
      let known = false;
      for (let k = 0; k < SAVE_COMMENTS.length; k++)
        if (startsWith(a, e, SAVE_COMMENTS[k])) known = true;
      if (!known) return 0;
    }
  }
  if (tA.length == 0) return 0;
  // as many cells as the walk can need: no rule makes more than one of any
  reserveView(rules + 16);
  return 1;
}

/** Every `"` of the rule line [a, e) opens a word or closes one (taken: the usual `--comment "…"`). */
function wholeWordQuotes(a: usize, e: usize): bool {
  let open = false;
  for (let p = a; p < e; p++) {
    if (b(p) != QUOTE) continue;
    if (!open) {
      if (b(p - 1) != SP) return false;
      open = true;
    } else {
      if (p + 1 < e && b(p + 1) != SP) return false;
      open = false;
    }
  }
  return !open;
}

// A rule's words (RuleWords, src/inspect/save/words.ts)

const F_TARGET = 0;
const F_PROTOCOL = 1;
const F_SOURCE = 2;
const F_DESTINATION = 3;
const F_IN = 4;
const F_OUT = 5;
const F_COMMENT = 6;
const F_DNAT = 7;
const F_PROBABILITY = 8;
const F_DPORT = 9;
const FIELDS = 10;
const NONE: isize = -1;
const BANG: isize = -2;
const QUOTED = 1;
const NEGATED = 2;

const fA = new StaticArray<isize>(FIELDS);
const fE = new StaticArray<usize>(FIELDS);
const fF = new StaticArray<i32>(FIELDS);
let isGoto = false;
/** `-m` values: start, end, quoted; `--match-set` name and flags ranges (quoted), negated. */
let mA = new Col<usize>(64);
let mE = new Col<usize>(64);
let mQ = new Col<i32>(64);
let nm = 0;
let sNA = new Col<usize>(64);
let sNE = new Col<usize>(64);
let sNQ = new Col<i32>(64);
let sFA = new Col<usize>(64);
let sFE = new Col<usize>(64);
let sFQ = new Col<i32>(64);
let sNeg = new Col<bool>(64);
let ns = 0;

let wp: usize = 0;
let wend: usize = 0;
let ws: usize = 0;
let we: usize = 0;
let wq = 0;

function advance(): bool {
  let p = wp;
  while (p < wend && b(p) == SP) p++;
  if (p >= wend) {
    wp = p;
    return false;
  }
  ws = p;
  wq = 0;
  while (p < wend) {
    const c = b(p);
    if (c == SP) break;
    if (c == QUOTE) {
      wq = QUOTED;
      p++;
      while (p < wend && b(p) != QUOTE) p++; // (closed: layout saw to it, unless the file changed)
    }
    p++;
  }
  if (p > wend) p = wend;
  wp = we = p;
  return true;
}

function valueFollows(): bool {
  let p = wp;
  while (p < wend && b(p) == SP) p++;
  wp = p;
  if (p >= wend) return false;
  let c = b(p);
  if (c == QUOTE && p + 1 < wend) c = b(p + 1);
  if (c == DASH) return false;
  return !(c == BANG_CH && (p + 1 >= wend || b(p + 1) == SP));
}

function value(k: i32, neg: bool): void {
  if (advance()) {
    unchecked((fA[k] = <isize>ws));
    unchecked((fE[k] = we));
    unchecked((fF[k] = wq | (neg ? NEGATED : 0)));
  } else unchecked((fA[k] = neg ? BANG : NONE));
}

const O_COMMENT = 1;
const O_MATCH_SET = 2;
const O_PROBABILITY = 3;
const O_DPORT = 4;
const O_TO_DESTINATION = 5;

function option(a: usize, len: usize): i32 {
  if (len == 2) {
    const c = <i32>b(a + 1);
    return c == 115 || c == 100 || c == 112 || c == 105 || c == 111 || c == 109 || c == 106 || c == 103
      ? c
      : 0;
  }
  const e = a + len;
  switch (<i32>len) {
    case 6:
      return is(a, e, '--goto') ? 103 : is(a, e, '--jump') ? 106 : 0;
    case 7:
      return is(a, e, '--match') ? 109 : is(a, e, '--dport') ? O_DPORT : 0;
    case 8:
      return is(a, e, '--source') ? 115 : 0;
    case 9:
      return is(a, e, '--comment') ? O_COMMENT : 0;
    case 10:
      return is(a, e, '--protocol') ? 112 : 0;
    case 11:
      return is(a, e, '--match-set') ? O_MATCH_SET : 0;
    case 13:
      return is(a, e, '--destination') ? 100 : is(a, e, '--probability') ? O_PROBABILITY : 0;
    case 14:
      return is(a, e, '--in-interface') ? 105 : 0;
    case 15:
      return is(a, e, '--out-interface') ? 111 : 0;
    case 16:
      return is(a, e, '--to-destination') ? O_TO_DESTINATION : 0;
    case 18:
      return is(a, e, '--destination-port') ? O_DPORT : 0;
  }
  return 0;
}

/** Read the rule whose words are [from, end) (after `-A CHAIN`). */
function readWords(from: usize, end: usize): void {
  wp = from;
  wend = end;
  for (let i = 0; i < FIELDS; i++) unchecked((fA[i] = NONE));
  isGoto = false;
  nm = 0;
  ns = 0;
  let neg = false;
  while (advance()) {
    const a = ws;
    const len = we - a;
    if (wq != 0 || b(a) != DASH) {
      neg = len == 1 && b(a) == BANG_CH;
      continue;
    }
    switch (option(a, len)) {
      case 115:
        value(F_SOURCE, neg);
        break;
      case 100:
        value(F_DESTINATION, neg);
        break;
      case 112:
        value(F_PROTOCOL, neg);
        break;
      case 105:
        value(F_IN, neg);
        break;
      case 111:
        value(F_OUT, neg);
        break;
      case 109:
        if (advance()) {
          setAt(mA, nm, ws);
          setAt(mE, nm, we);
          setAtI(mQ, nm, wq);
          nm++;
        }
        break;
      case 106:
        value(F_TARGET, false);
        break;
      case 103:
        value(F_TARGET, false);
        isGoto = true;
        break;
      case O_COMMENT:
        value(F_COMMENT, false);
        break;
      case O_MATCH_SET: {
        const has1 = advance();
        const s1 = ws;
        const e1 = we;
        const q1 = wq;
        if (has1 && advance()) {
          setAt(sNA, ns, s1);
          setAt(sNE, ns, e1);
          setAtI(sNQ, ns, q1);
          setAt(sFA, ns, ws);
          setAt(sFE, ns, we);
          setAtI(sFQ, ns, wq);
          if (ns == sNeg.length) sNeg.push(neg);
          else sNeg[ns] = neg;
          ns++;
        }
        break;
      }
      case O_PROBABILITY:
        value(F_PROBABILITY, false);
        break;
      case O_DPORT:
        value(F_DPORT, neg);
        break;
      case O_TO_DESTINATION:
        value(F_DNAT, false);
        break;
      default:
        while (valueFollows()) advance();
    }
    neg = false;
  }
}

/** Cell i of a column of the rule's words, i at most its length. */
function setAt(xs: Col<usize>, i: i32, v: usize): void {
  if (i == xs.length) xs.push(v);
  else xs[i] = v;
}

function setAtI(xs: Col<i32>, i: i32, v: i32): void {
  if (i == xs.length) xs.push(v);
  else xs[i] = v;
}

// A word's text as a range: quotes are only around whole words (layout took nothing else).
@inline function textA(a: usize, q: i32): usize {
  return q & QUOTED ? a + 1 : a;
}
@inline function textE(e: usize, q: i32): usize {
  return q & QUOTED ? e - 1 : e;
}

/** Field k's text: its range in tA_/tE_ (NONE when null); `!`-prefixed when tBang. */
let xa: isize = NONE;
let xe: usize = 0;
let xbang = false;
function fieldText(k: i32): void {
  const a = unchecked(fA[k]);
  xbang = false;
  if (a == NONE) {
    xa = NONE;
    return;
  }
  if (a == BANG) {
    xa = BANG;
    xe = 0;
    xbang = true;
    return;
  }
  const q = unchecked(fF[k]);
  xa = <isize>textA(<usize>a, q);
  xe = textE(unchecked(fE[k]), q);
  xbang = (q & NEGATED) != 0;
}

/** `--probability P` as saveRule reads it: its number, NaN when P is not one. */
function probability(): f64 {
  fieldText(F_PROBABILITY);
  if (xa < 0) return NaN;
  const a = <usize>xa;
  const e = xe;
  // /^(?:\d+(?:\.\d+)?|\.\d+)$/
  let p = digitsEnd(a, e);
  if (p == e) return p > a ? numberOf(a, e) : NaN;
  if (b(p) != 46) return NaN;
  const q = digitsEnd(p + 1, e);
  if (q != e || q == p + 1) return NaN;
  return numberOf(a, e);
}

// A rule's JSON (writeRule, src/inspect/iptables-json.ts)

function writeWord(a: usize, e: usize, flags: i32): void {
  put(QUOTE);
  if (flags & NEGATED) put(BANG_CH);
  escaped(a, e, (flags & QUOTED) != 0);
  put(QUOTE);
}

function writeField(k: i32): void {
  const a = unchecked(fA[k]);
  if (a == NONE) putKey(K0);
  else if (a == BANG) putKey(K1);
  else writeWord(<usize>a, unchecked(fE[k]), unchecked(fF[k]));
}

function writeRule(a: usize, end: usize, line: i32): void {
  need(12 * (end - a) + 512);
  putKey(K2);
  writeField(F_TARGET);
  lit(isGoto ? ',"goto":true' : ',"goto":false');
  putKey(K3);
  writeField(F_PROTOCOL);
  putKey(K4);
  writeField(F_SOURCE);
  putKey(K5);
  writeField(F_DESTINATION);
  putKey(K6);
  writeField(F_IN);
  putKey(K7);
  writeField(F_OUT);
  putKey(K8);
  for (let i = 0; i < nm; i++) {
    if (i) put(44);
    writeWord(mA[i], mE[i], mQ[i]);
  }
  putKey(K9);
  writeField(F_COMMENT);
  putKey(K10);
  for (let i = 0; i < ns; i++) {
    if (i) put(44);
    putKey(K11);
    escaped(sNA[i], sNE[i], sNQ[i] != 0);
    putKey(K12);
    escaped(sFA[i], sFE[i], sFQ[i] != 0);
    lit(sNeg[i] ? '","negated":true}' : '","negated":false}');
  }
  putKey(K13);
  writeField(F_DNAT);
  putKey(K14);
  if (unchecked(fA[F_PROBABILITY]) == NONE) putKey(K0);
  else putNum(probability());
  putKey(K15);
  writeField(F_DPORT);
  putKey(K16);
  escaped(a, end, false);
  putKey(K17);
  putInt(<i64>line);
  put(125);
}

function writeChainHead(ci: i32, g: i32): void {
  const id = cId[g];
  need(6 * (nameE(id) - nameA(id)) + 6 * rlen(cPolA[g], cPolE[g]) + 160);
  if (ci > 0) put(44);
  put(QUOTE);
  escaped(nameA(id), nameE(id), false);
  putKey(K18);
  const pa = cPolA[g];
  if (pa == NONE) putKey(K0);
  else {
    put(QUOTE);
    escaped(<usize>pa, cPolE[g], false);
    put(QUOTE);
  }
  putKey(K19);
  putNum(cPk[g]);
  putKey(K20);
  putNum(cBy[g]);
  putKey(K21);
}

// ---------------------------------------------------------------------------------------
// kube-proxy's view (KubeProxyCollector, src/inspect/iptables.ts)

// Services, one column per field; a string is a kept range (NONE: null).
let svName = new Col<isize>(0);
let svNameE = new Col<usize>(0);
let svPortName = new Col<isize>(0);
let svPortNameE = new Col<usize>(0);
let svIP = new Col<isize>(0);
let svIPE = new Col<usize>(0);
let svPort = new Col<f64>(0);
let svProto = new Col<isize>(0);
let svProtoE = new Col<usize>(0);
let svProtoBang = new Col<bool>(0);
/** The service's chain: a name id, -1 none. */
let svChain = new Col<i32>(0);
let svNoEp = new Col<bool>(0);
// Lists of a service (node ports, external IPs, endpoints): first and last item, -1 none.
let svNpHead = new Col<i32>(0);
let svNpTail = new Col<i32>(0);
let svXHead = new Col<i32>(0);
let svXTail = new Col<i32>(0);
let svEpHead = new Col<i32>(0);
let svEpTail = new Col<i32>(0);
// List items: a number (node port) or a kept range (external IP), and the next item.
let npVal = new Col<f64>(0);
let npNext = new Col<i32>(0);
let xA = new Col<usize>(0);
let xE = new Col<usize>(0);
let xNext = new Col<i32>(0);
// Endpoints: chain (name id), address (kept range), port, probability, share.
let epChain = new Col<i32>(0);
let epAddr = new Col<isize>(0);
let epAddrE = new Col<usize>(0);
let epPort = new Col<f64>(0);
let epProb = new Col<f64>(0);
let epShare = new Col<f64>(0);
let epNext = new Col<i32>(0);

/** Service hash (or `noep:name:port` key) → service. */
let byHash = new RangeMap(0);
/** serviceChains and endpointChains: name ids in the order met. */
let serviceChains = new Col<i32>(0);
let endpointChains = new Col<i32>(0);
let matchSets = new RangeMap(0);
// By name id: listed in serviceChains / endpointChains; a KUBE-SEP chain's first DNAT
// destination (kept; 0: none); the service chain (step 3's counter + 1) that took it last.
let nSvcListed = new Col<bool>(0);
let nEpListed = new Col<bool>(0);
let nDnatA = new Col<usize>(0);
let nDnatE = new Col<usize>(0);
let nTaken = new Col<i32>(0);
// Step 3's input: each KUBE-SVC/SVL chain (name id) and its first rule in the rule columns:
// the KUBE-SEP chain it jumps to (name id, -1: another target), its comment (kept when
// step 3 may read it), probability and whether it uses `-m recent`.
let svcId = new Col<i32>(0);
let svcFirst = new Col<i32>(0);
let rSep = new Col<i32>(0);
let rComment = new Col<isize>(0);
let rCommentE = new Col<usize>(0);
let rProb = new Col<f64>(0);
let rRecent = new Col<bool>(0);

/** A cell in each per-name column for a new name. */
function newName(): void {
  nSvcListed.push(false);
  nEpListed.push(false);
  nDnatA.push(0);
  nDnatE.push(0);
  nTaken.push(0);
}

function reserveView(n: i32): void {
  svName = new Col<isize>(n);
  svNameE = new Col<usize>(n);
  svPortName = new Col<isize>(n);
  svPortNameE = new Col<usize>(n);
  svIP = new Col<isize>(n);
  svIPE = new Col<usize>(n);
  svPort = new Col<f64>(n);
  svProto = new Col<isize>(n);
  svProtoE = new Col<usize>(n);
  svProtoBang = new Col<bool>(n);
  svChain = new Col<i32>(n);
  svNoEp = new Col<bool>(n);
  svNpHead = new Col<i32>(n);
  svNpTail = new Col<i32>(n);
  svXHead = new Col<i32>(n);
  svXTail = new Col<i32>(n);
  svEpHead = new Col<i32>(n);
  svEpTail = new Col<i32>(n);
  npVal = new Col<f64>(n);
  npNext = new Col<i32>(n);
  xA = new Col<usize>(n);
  xE = new Col<usize>(n);
  xNext = new Col<i32>(n);
  epChain = new Col<i32>(n);
  epAddr = new Col<isize>(n);
  epAddrE = new Col<usize>(n);
  epPort = new Col<f64>(n);
  epProb = new Col<f64>(n);
  epShare = new Col<f64>(n);
  epNext = new Col<i32>(n);
  byHash = new RangeMap(n);
  serviceChains = new Col<i32>(n);
  endpointChains = new Col<i32>(n);
  matchSets = new RangeMap(16);
  svcId = new Col<i32>(n);
  svcFirst = new Col<i32>(n);
  rSep = new Col<i32>(n);
  rComment = new Col<isize>(n);
  rCommentE = new Col<usize>(n);
  rProb = new Col<f64>(n);
  rRecent = new Col<bool>(n);
}

/** The chain open in the walk: its name id, and what kind of chain it is. */
let chainId = 0;
let isSep = false;
let isEntry = false;
let isNodePorts = false;
let isServices = false;
let inSvc = false;
/** That KUBE-SVC/SVL chain's service is known already, with its name and port name (keepsComment). */
let svcNamed = false;

/** /^KUBE-(?:SVC|SVL|EXT|FW|XLB)-([A-Z0-9]+)$/ (svcOrSvl: /^KUBE-(?:SVC|SVL)-[A-Z0-9]+$/) */
function svcChainKind(a: usize, e: usize, svcOrSvl: bool): bool {
  if (!startsWith(a, e, 'KUBE-')) return false;
  let p = a + 5;
  if (startsWith(p, e, 'SVC-') || startsWith(p, e, 'SVL-')) p += 4;
  else if (svcOrSvl) return false;
  else if (startsWith(p, e, 'EXT-') || startsWith(p, e, 'XLB-')) p += 4;
  else if (startsWith(p, e, 'FW-')) p += 3;
  else return false;
  if (p == e) return false;
  for (; p < e; p++) {
    const c = b(p);
    if (!((c >= 65 && c <= 90) || (c >= 48 && c <= 57))) return false;
  }
  return true;
}

function newPort(): i32 {
  svName.push(NONE);
  svNameE.push(0);
  svPortName.push(NONE);
  svPortNameE.push(0);
  svIP.push(NONE);
  svIPE.push(0);
  svPort.push(NaN);
  svProto.push(NONE);
  svProtoE.push(0);
  svProtoBang.push(false);
  svChain.push(-1);
  svNoEp.push(false);
  svNpHead.push(-1);
  svNpTail.push(-1);
  svXHead.push(-1);
  svXTail.push(-1);
  svEpHead.push(-1);
  svEpTail.push(-1);
  return svName.length - 1;
}

/** The service of the hash [a, e) (a window's bytes or kept ones), made when new. */
function forHash(a: usize, e: usize): i32 {
  const h = hash(a, e);
  const i = byHash.findHashed(a, e, h);
  if (i >= 0) return byHash.val[i];
  const s = newPort();
  const k = keep(a, e);
  byHash.addHashed(k, k + (e - a), s, h);
  return s;
}

function listService(id: i32): void {
  if (!nSvcListed[id]) {
    nSvcListed[id] = true;
    serviceChains.push(id);
  }
}

function listEndpoint(id: i32): void {
  if (!nEpListed[id]) {
    nEpListed[id] = true;
    endpointChains.push(id);
  }
}

/** chain(name) */
function kpChain(id: i32): void {
  const a = nameA(id);
  const e = nameE(id);
  chainId = id;
  if (svcChainKind(a, e, false)) listService(id);
  isSep = startsWith(a, e, 'KUBE-SEP-');
  if (isSep) listEndpoint(id);
  isServices = is(a, e, 'KUBE-SERVICES');
  isNodePorts = is(a, e, 'KUBE-NODEPORTS');
  isEntry = isServices || isNodePorts || is(a, e, 'KUBE-EXTERNAL-SERVICES');
  inSvc = svcChainKind(a, e, true);
  if (inSvc) {
    svcId.push(id);
    svcFirst.push(rSep.length);
    const h = byHash.find(a + 9, e);
    const s = h >= 0 ? byHash.val[h] : -1;
    svcNamed = s >= 0 && svName[s] != NONE && svPortName[s] != NONE;
  }
}

/** Kept copies of a window range [a, e) (NONE, BANG: as they are) into kA/kE. */
let kA: isize = NONE;
let kE: usize = 0;
function keepRange(a: isize, e: usize): void {
  if (a < 0) {
    kA = a;
    kE = 0;
    return;
  }
  const k = keep(<usize>a, e);
  kA = <isize>k;
  kE = k + (e - <usize>a);
}
// commentService's result: name and port name ranges (csPort NONE: null).
let csA: usize = 0;
let csE: usize = 0;
let csPort: isize = NONE;
let csPortE: usize = 0;

@inline function lowerAlnum(c: u8): bool {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
}
@inline function nameChar(c: u8): bool {
  return lowerAlnum(c) || c == DASH || c == 46;
}

/**
 * commentService: `ns/name[:port]` at the start of the comment, followed by a blank or its
 * end (/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?)(?::([\w-]*))?(?=\s|$)/).
 */
function commentService(a: isize, e: usize): bool {
  if (a < 0) return false;
  const s = <usize>a;
  let p = s;
  while (p < e && nameChar(b(p))) p++;
  if (p == s || p >= e || b(p) != 47 || !lowerAlnum(b(s)) || !lowerAlnum(b(p - 1))) return false;
  const n = p + 1;
  let q = n;
  while (q < e && nameChar(b(q))) q++;
  if (q == n || !lowerAlnum(b(n)) || !lowerAlnum(b(q - 1))) return false;
  csA = s;
  csE = q;
  csPort = NONE;
  if (q == e || b(q) == SP) return true;
  if (b(q) != 58) return false;
  let r = q + 1;
  while (r < e) {
    const c = b(r);
    if (!((c >= 65 && c <= 90) || lowerAlnum(c) || c == 95 || c == DASH)) break;
    r++;
  }
  if (r < e && b(r) != SP) return false;
  if (r > q + 1) {
    csPort = <isize>(q + 1);
    csPortE = r;
  }
  return true;
}

@inline function wordChar(c: u8): bool {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 95;
}

/** Whether [a, e) holds `w` as whole words (\bw\b). */
function hasWord(a: isize, e: usize, w: string): bool {
  if (a < 0) return false;
  const n = <usize>w.length;
  for (let p = <usize>a; p + n <= e; p++) {
    if (!startsWith(p, e, w)) continue;
    if (p > <usize>a && wordChar(b(p - 1))) continue;
    if (p + n < e && wordChar(b(p + n))) continue;
    return true;
  }
  return false;
}

function contains(a: isize, e: usize, w: string): bool {
  if (a < 0) return false;
  const n = <usize>w.length;
  for (let p = <usize>a; p + n <= e; p++) if (startsWith(p, e, w)) return true;
  return false;
}

// stripMask's result
let ipA: isize = NONE;
let ipE: usize = 0;
/** stripMask of the rule's destination: null when absent or negated, `/32` or `/128` left out. */
function destinationIP(): void {
  fieldText(F_DESTINATION);
  if (xa < 0 || xbang || (xe > <usize>xa && b(<usize>xa) == BANG_CH)) {
    ipA = NONE;
    return;
  }
  const a = <usize>xa;
  ipA = xa;
  ipE = xe;
  if (xe - a >= 3 && is(xe - 3, xe, '/32')) ipE = xe - 3;
  else if (xe - a >= 4 && is(xe - 4, xe, '/128')) ipE = xe - 4;
}

function dportValue(): f64 {
  fieldText(F_DPORT);
  if (xa < 0 || xbang) return NaN;
  return intOf(<usize>xa, xe);
}

// endpointAddr's result
let adA: isize = NONE;
let adE: usize = 0;
let adPort: f64 = NaN;

/** `ip:port` / `[v6]:port` / `ip` of a DNAT destination or an `-> ip:port` comment. */
function endpointAddr(a: usize, e: usize): void {
  let i: isize = -1;
  for (let p = e; p > a; p--)
    if (b(p - 1) == 58) {
      i = <isize>(p - 1 - a);
      break;
    }
  if (b(a) == 91) {
    let close: isize = -1;
    for (let p = a; p < e; p++)
      if (b(p) == 93) {
        close = <isize>(p - a);
        break;
      }
    const len = <isize>(e - a);
    // s.slice(1, close): a close of -1 is len - 1
    const to = close < 0 ? len - 1 : close;
    adA = <isize>(a + 1);
    adE = to > 1 ? a + <usize>to : a + 1;
    const from = close + 2 < len ? close + 2 : len;
    adPort = intOf(a + <usize>from, e);
    return;
  }
  if (i > 0) {
    adA = <isize>a;
    adE = a + <usize>i;
    adPort = intOf(a + <usize>i + 1, e);
  } else {
    adA = <isize>a;
    adE = e;
    adPort = NaN;
  }
}

/** The `-> ip:port` of a comment (/->\s*(\S+)$/): false when it has none. */
function commentAddr(a: isize, e: usize): bool {
  if (a < 0) return false;
  for (let p = <usize>a; p + 2 <= e; p++) {
    if (b(p) != DASH || b(p + 1) != 62) continue;
    let q = p + 2;
    while (q < e && b(q) == SP) q++;
    if (q == e) continue;
    let r = q;
    while (r < e && b(r) != SP) r++;
    if (r != e) continue;
    endpointAddr(q, e);
    return true;
  }
  return false;
}

/** Math.round as JavaScript rounds (halves up). */

function kpRule(): void {
  // a KUBE-SEP chain's first DNAT
  fieldText(F_DNAT);
  if (isSep && xa >= 0 && xe > <usize>xa && nDnatA[chainId] == 0) {
    keepRange(xa, xe);
    nDnatA[chainId] = <usize>kA;
    nDnatE[chainId] = kE;
  }
  for (let i = 0; i < ns; i++) {
    const q = sNQ[i];
    matchSets.intern(textA(sNA[i], q), textE(sNE[i], q), 0);
  }
  fieldText(F_TARGET);
  const ta = xa;
  const te = xe;
  /** The target's name id when it is a KUBE-SEP or service chain, and its service hash. */
  let tid = -1;
  let sep = -1;
  let hashA: isize = NONE;
  if (ta >= 0 && startsWith(<usize>ta, te, 'KUBE-')) {
    const t = <usize>ta;
    if (startsWith(t, te, 'KUBE-SEP-')) {
      tid = sep = nameId(t, te);
      listEndpoint(tid);
    } else if (svcChainKind(t, te, false)) {
      tid = nameId(t, te);
      listService(tid);
      let p = t + 5;
      while (b(p) != DASH) p++;
      hashA = <isize>(p + 1);
    }
  }
  if (isEntry) entryRule(ta, te, tid, hashA);
  if (inSvc) {
    rSep.push(sep);
    // Step 3 reads a comment for a service's name and port name while they are unknown,
    // and for an endpoint's address when its KUBE-SEP chain has no DNAT (keepsComment).
    fieldText(F_COMMENT);
    if (!svcNamed || (sep >= 0 && nDnatA[sep] == 0)) keepRange(xa, xe);
    else kA = NONE;
    rComment.push(kA);
    rCommentE.push(kE);
    rProb.push(unchecked(fA[F_PROBABILITY]) == NONE ? NaN : probability());
    let recent = false;
    for (let i = 0; i < nm && !recent; i++) {
      const q = mQ[i];
      recent = is(textA(mA[i], q), textE(mE[i], q), 'recent');
    }
    rRecent.push(recent);
  }
}

function setProtocol(s: i32): void {
  fieldText(F_PROTOCOL);
  keepRange(xa, xe);
  svProto[s] = kA;
  svProtoE[s] = kE;
  svProtoBang[s] = xbang;
}

/** Step 2: a rule of KUBE-SERVICES, KUBE-NODEPORTS or KUBE-EXTERNAL-SERVICES (entryRule). */
function entryRule(ta: isize, te: usize, tid: i32, hashA: isize): void {
  fieldText(F_COMMENT);
  const ca = xa;
  const ce = xe;
  const cs = commentService(ca, ce);
  if (hashA != NONE) {
    const s = forHash(<usize>hashA, te);
    if (cs) {
      if (svName[s] == NONE) {
        keepRange(<isize>csA, csE);
        svName[s] = kA;
        svNameE[s] = kE;
      }
      if (svPortName[s] == NONE) {
        keepRange(csPort, csPortE);
        svPortName[s] = kA;
        svPortNameE[s] = kE;
      }
    }
    destinationIP();
    const t = <usize>ta;
    const isClusterRule = startsWith(t, te, 'KUBE-SVC-') || startsWith(t, te, 'KUBE-SVL-');
    if (isNodePorts) {
      const np = dportValue();
      if (!isNaN(np)) {
        let known = false;
        for (let k = svNpHead[s]; k >= 0 && !known; k = npNext[k]) known = npVal[k] == np;
        if (!known) {
          const k = npVal.length;
          npVal.push(np);
          npNext.push(-1);
          if (svNpTail[s] < 0) svNpHead[s] = k;
          else npNext[svNpTail[s]] = k;
          svNpTail[s] = k;
        }
      }
    } else if (
      !isClusterRule ||
      (contains(ca, ce, ' IP') &&
        (hasWord(ca, ce, 'external IP') || hasWord(ca, ce, 'loadbalancer IP')))
    ) {
      if (ipA >= 0 && ipE > <usize>ipA) {
        let known = false;
        for (let k = svXHead[s]; k >= 0 && !known; k = xNext[k])
          known = sameBytes(xA[k], xE[k], <usize>ipA, ipE);
        if (!known) {
          const k = xA.length;
          keepRange(ipA, ipE);
          xA.push(<usize>kA);
          xE.push(kE);
          xNext.push(-1);
          if (svXTail[s] < 0) svXHead[s] = k;
          else xNext[svXTail[s]] = k;
          svXTail[s] = k;
        }
      }
    } else if (svIP[s] == NONE || (contains(ca, ce, 'cluster IP') && hasWord(ca, ce, 'cluster IP'))) {
      if (svChain[s] < 0) svChain[s] = tid;
      keepRange(ipA, ipE);
      svIP[s] = kA;
      svIPE[s] = kE;
      svPort[s] = dportValue();
      setProtocol(s);
    }
  } else if (
    ta >= 0 &&
    (is(<usize>ta, te, 'REJECT') || is(<usize>ta, te, 'DROP')) &&
    cs &&
    contains(ca, ce, 'has no endpoints')
  ) {
    // the key `noep:NAME:PORT`
    const pl: usize = csPort == NONE ? 0 : csPortE - <usize>csPort;
    const kl: usize = 5 + (csE - csA) + 1 + pl;
    const k = heap.alloc(kl);
    store<u8>(k, 110);
    store<u8>(k + 1, 111);
    store<u8>(k + 2, 101);
    store<u8>(k + 3, 112);
    store<u8>(k + 4, 58);
    memory.copy(k + 5, csA, csE - csA);
    store<u8>(k + 5 + (csE - csA), 58);
    if (pl) memory.copy(k + 6 + (csE - csA), <usize>csPort, pl);
    let s: i32;
    const i = byHash.find(k, k + kl);
    if (i >= 0) s = byHash.val[i];
    else {
      s = newPort();
      svName[s] = <isize>(k + 5);
      svNameE[s] = k + 5 + (csE - csA);
      if (pl) {
        svPortName[s] = <isize>(k + 6 + (csE - csA));
        svPortNameE[s] = k + kl;
      }
      byHash.add(k, k + kl, s);
    }
    svNoEp[s] = true;
    if (isServices) {
      if (svIP[s] == NONE) {
        destinationIP();
        keepRange(ipA, ipE);
        svIP[s] = kA;
        svIPE[s] = kE;
      }
      if (isNaN(svPort[s])) svPort[s] = dportValue();
      if (svProto[s] == NONE) setProtocol(s);
    }
  }
}

/** Math.round as JavaScript rounds (halves up). */
function jsRound(x: f64): f64 {
  const r = Math.ceil(x);
  return r - x > 0.5 ? r - 1 : r;
}

/** Step 3: service chains → endpoints (view()). */
function endpoints(): void {
  const n = svcId.length;
  for (let c = 0; c < n; c++) {
    const id = svcId[c];
    const s = forHash(nameA(id) + 9, nameE(id));
    if (svChain[s] < 0) svChain[s] = id;
    if (svChain[s] != id) continue;
    let remaining: f64 = 1;
    const end = c + 1 < n ? svcFirst[c + 1] : rSep.length;
    for (let i = svcFirst[c]; i < end; i++) {
      const ca = rComment[i];
      const ce = rCommentE[i];
      if (svName[s] == NONE || svPortName[s] == NONE) {
        if (commentService(ca, ce)) {
          if (svName[s] == NONE) {
            svName[s] = <isize>csA;
            svNameE[s] = csE;
          }
          if (!contains(ca, ce, '->') && svPortName[s] == NONE) {
            svPortName[s] = csPort;
            svPortNameE[s] = csPortE;
          }
        }
      }
      const sep = rSep[i];
      if (sep < 0 || rRecent[i]) continue;
      if (nTaken[sep] == c + 1) continue;
      nTaken[sep] = c + 1;
      adA = NONE;
      adPort = NaN;
      if (nDnatA[sep] != 0) endpointAddr(nDnatA[sep], nDnatE[sep]);
      else commentAddr(ca, ce);
      const p = rProb[i];
      const share = remaining * (isNaN(p) ? 1 : p);
      remaining -= share;
      const ep = epChain.length;
      epChain.push(sep);
      epAddr.push(adA);
      epAddrE.push(adE);
      epPort.push(adPort);
      epProb.push(p);
      epShare.push(jsRound(share * 1e6) / 1e6);
      epNext.push(-1);
      if (svEpTail[s] < 0) svEpHead[s] = ep;
      else epNext[svEpTail[s]] = ep;
      svEpTail[s] = ep;
    }
  }
}

/** Whether [a, e) sorts before [c, d) (code unit order: these are ASCII). */
function before(a: usize, e: usize, c: usize, d: usize): bool {
  const n = min(e - a, d - c);
  for (let i: usize = 0; i < n; i++) {
    const x = b(a + i);
    const y = b(c + i);
    if (x != y) return x < y;
  }
  return e - a < d - c;
}

/** matchSets' indices, sorted (a merge sort: there may be many). */
let sortedSets: Array<i32> = [];
function sortSets(): void {
  const n = matchSets.count;
  let xs = new Array<i32>(n);
  for (let i = 0; i < n; i++) xs[i] = i;
  let ys = new Array<i32>(n);
  const ka = matchSets.ka;
  const ke = matchSets.ke;
  for (let w = 1; w < n; w *= 2) {
    for (let lo = 0; lo < n; lo += 2 * w) {
      const mid = min(lo + w, n);
      const hi = min(lo + 2 * w, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        const x = xs[i];
        const y = xs[j];
        if (before(ka[y], ke[y], ka[x], ke[x])) {
          ys[k++] = y;
          j++;
        } else {
          ys[k++] = x;
          i++;
        }
      }
      while (i < mid) ys[k++] = xs[i++];
      while (j < hi) ys[k++] = xs[j++];
    }
    const t = xs;
    xs = ys;
    ys = t;
  }
  sortedSets = xs;
}

// ---------------------------------------------------------------------------------------
// The second pass (SaveWalk, src/inspect/save/walk.ts) and the output, in steps

let phase = 0;
let ti = -1;
/** Chain open in the table (-1 none), and the one to open up to. */
let ci = -1;
let wantCi = -1;
let tableOpen = false;
let pendRuleA: usize = 0;
let pendRuleEnd: usize = 0;
let pendRuleSp: usize = 0;
let pendRuleNo = 0;
let hasPendRule = false;
let pendEndTable = false;
let pendNewTable = false;
let inChain = 0;
let ruleCount = 0;
// view output: part, index, and a service's part and endpoint
let vp = 0;
let vi = 0;
let svPart = 0;
let epAt = -1;

@inline function low(): bool {
  return op - OUT > YIELD_AT;
}

function openChain(c: i32): void {
  const g = tFirst[ti] + c;
  if (rulesOut) {
    need(4);
    if (c > 0) putKey(K22);
    writeChainHead(c, g);
  }
  if (kp) kpChain(cId[g]);
  inChain = 0;
}

/**
 * Write what comes next, until about YIELD_AT bytes wait in the output or all is written:
 * 1 then (call again after handing the output on), 0 when done, -1 when the input is not
 * what layout() read (a file written to meanwhile: changedLine() says where).
 */
export function step(): i32 {
  op = OUT;
  if (phase == 0) {
    if (rulesOut) putKey(K23);
    phase = 1;
    rewind();
  }
  if (phase == 1) {
    while (true) {
      while (ci < wantCi) {
        if (low()) return 1;
        ci++;
        openChain(ci);
      }
      if (hasPendRule) {
        if (low()) return 1;
        readWords(pendRuleSp, pendRuleEnd);
        if (rulesOut) {
          if (inChain) {
            need(1);
            put(44);
          }
          writeRule(pendRuleA, pendRuleEnd, pendRuleNo);
        }
        inChain++;
        tRules[ti] = tRules[ti] + 1;
        ruleCount++;
        if (kp) kpRule();
        hasPendRule = false;
      }
      if (pendEndTable) {
        if (rulesOut) {
          need(8);
          lit(tCount[ti] > 0 ? ']}}}' : '}}');
        }
        pendEndTable = false;
        tableOpen = false;
      }
      if (pendNewTable) {
        if (ti + 1 >= tA.length) return -1;
        ti++;
        if (rulesOut) {
          need(6 * (tE[ti] - tA[ti]) + 32);
          if (ti) put(44);
          put(QUOTE);
          escaped(tA[ti], tE[ti], false);
          putKey(K24);
        }
        ci = -1;
        wantCi = -1;
        tableOpen = true;
        pendNewTable = false;
      }
      const got = nextLine();
      if (got < 0) return -1;
      if (got == 0) {
        if (tableOpen && !pendEndTable) {
          wantCi = tCount[ti] - 1;
          pendEndTable = true;
          continue;
        }
        break;
      }
      const a = la;
      const e = le;
      if (e == a) continue;
      const c = b(a);
      if (c == DASH) {
        if (!tableOpen || e - a < 4) return -1;
        const sp = wordEnd(a + 3, e);
        const first = tFirst[ti];
        const count = tCount[ti];
        let k = ci < 0 ? 0 : ci;
        while (k < count && !sameBytes(nameA(cId[first + k]), nameE(cId[first + k]), a + 3, sp)) k++;
        if (k == count) return -1;
        wantCi = k;
        pendRuleA = a;
        pendRuleEnd = e;
        pendRuleSp = sp;
        pendRuleNo = lineNo;
        hasPendRule = true;
      } else if (c == 42) {
        if (tableOpen) {
          wantCi = tCount[ti] - 1;
          pendEndTable = true;
        }
        pendNewTable = true;
      } else if (c == 67 && tableOpen) {
        wantCi = tCount[ti] - 1;
        pendEndTable = true;
      }
    }
    if (rulesOut) {
      need(96);
      putKey(K25);
      putInt(<i64>ruleCount);
      putKey(K26);
      lit(kp ? ',"kubeProxy":' : '}');
    }
    if (kp) {
      endpoints();
      sortSets();
    }
    phase = 2;
  }
  if (phase == 2 && kp) {
    if (view == V_SUMMARY) {
      if (writeSummary()) return 1;
    } else if (writeView()) return 1;
  }
  phase = 3;
  return 0;
}

/** The view's JSON from where it stopped: true when it stopped again (the output is full). */
function writeView(): bool {
  if (vp == 0) {
    need(16);
    if (view == V_KUBE_PROXY) putKey(K27);
    putKey(K28);
    vp = 1;
    vi = 0;
  }
  if (vp == 1) {
    for (; vi < svName.length; vi++) {
      if (writeService(vi)) return true;
    }
    need(24);
    putKey(K29);
    vp = 2;
    vi = 0;
  }
  if (vp == 2) {
    if (writeList(serviceChains)) return true;
    need(24);
    putKey(K30);
    vp = 3;
    vi = 0;
  }
  if (vp == 3) {
    if (writeList(endpointChains)) return true;
    need(24);
    putKey(K31);
    vp = 4;
    vi = 0;
  }
  if (vp == 4) {
    if (writeSets()) return true;
    need(40);
    putKey(K22);
    if (view == V_KUBE_PROXY) putKey(K32);
    else putKey(K33);
    vp = 5;
  }
  return false;
}

function writeList(ids: Col<i32>): bool {
  for (; vi < ids.length; vi++) {
    if (low()) return true;
    if (vi) {
      need(1);
      put(44);
    }
    const id = ids[vi];
    putRange(<isize>nameA(id), nameE(id));
  }
  return false;
}

function writeSets(): bool {
  for (; vi < sortedSets.length; vi++) {
    if (low()) return true;
    if (vi) {
      need(1);
      put(44);
    }
    const k = sortedSets[vi];
    putRange(<isize>matchSets.ka[k], matchSets.ke[k]);
  }
  return false;
}

/** Service s's JSON from where it stopped (svPart, epAt): true when it stopped again. */
function writeService(s: i32): bool {
  if (svPart == 0) {
    if (low()) return true;
    need(256);
    if (s) put(44);
    putKey(K34);
    putRange(svName[s], svNameE[s]);
    putKey(K35);
    putRange(svPortName[s], svPortNameE[s]);
    putKey(K36);
    putRange(svIP[s], svIPE[s]);
    putKey(K37);
    need(32);
    putNum(svPort[s]);
    putKey(K3);
    putText(svProto[s], svProtoE[s], svProtoBang[s]);
    putKey(K38);
    const chain = svChain[s];
    if (chain < 0) putKey(K0);
    else putRange(<isize>nameA(chain), nameE(chain));
    need(32);
    putKey(K39);
    for (let k = svNpHead[s]; k >= 0; k = npNext[k]) {
      need(24);
      if (k != svNpHead[s]) put(44);
      putNum(npVal[k]);
    }
    need(32);
    putKey(K40);
    for (let k = svXHead[s]; k >= 0; k = xNext[k]) {
      need(2);
      if (k != svXHead[s]) put(44);
      putRange(<isize>xA[k], xE[k]);
    }
    need(32);
    putKey(K41);
    svPart = 1;
    epAt = svEpHead[s];
  }
  if (svPart == 1) {
    for (; epAt >= 0; epAt = epNext[epAt]) {
      if (low()) return true;
      const k = epAt;
      const chain = epChain[k];
      need(6 * (nameE(chain) - nameA(chain)) + 6 * rlen(epAddr[k], epAddrE[k]) + 160);
      if (k != svEpHead[s]) put(44);
      putKey(K42);
      putRange(<isize>nameA(chain), nameE(chain));
      putKey(K43);
      putRange(epAddr[k], epAddrE[k]);
      putKey(K37);
      putNum(epPort[k]);
      putKey(K14);
      putNum(epProb[k]);
      putKey(K44);
      putNum(epShare[k]);
      put(125);
    }
    need(40);
    lit(svNoEp[s] ? '],"noEndpoints":true}' : '],"noEndpoints":false}');
    svPart = 0;
  }
  return false;
}

/** `--view summary` (small: written at once, but for the match sets). */
function writeSummary(): bool {
  if (vp == 0) {
    need(64 + 64 * <usize>tA.length);
    putKey(K23);
    for (let t = 0; t < tA.length; t++) {
      need(6 * (tE[t] - tA[t]) + 64);
      if (t) put(44);
      putRange(<isize>tA[t], tE[t]);
      putKey(K45);
      putInt(<i64>tCount[t]);
      putKey(K46);
      putInt(<i64>tRules[t]);
      put(125);
    }
    let eps: i64 = 0;
    for (let s = 0; s < svName.length; s++) for (let k = svEpHead[s]; k >= 0; k = epNext[k]) eps++;
    need(200);
    putKey(K25);
    putInt(<i64>ruleCount);
    putKey(K47);
    putInt(<i64>svName.length);
    putKey(K48);
    putInt(eps);
    putKey(K49);
    putInt(<i64>serviceChains.length);
    putKey(K50);
    putInt(<i64>endpointChains.length);
    putKey(K10);
    vp = 4;
    vi = 0;
  }
  if (vp == 4) {
    if (writeSets()) return true;
    need(40);
    putKey(K51);
    vp = 5;
  }
  return false;
}

/** Columns and maps for an input of `lines` lines (see Col). */

// The keys and other constant text written: their bytes, made once (see putKey).
const K0 = key('null');
const K1 = key('"!"');
const K2 = key('{"target":');
const K3 = key(',"protocol":');
const K4 = key(',"source":');
const K5 = key(',"destination":');
const K6 = key(',"inInterface":');
const K7 = key(',"outInterface":');
const K8 = key(',"matches":[');
const K9 = key('],"comment":');
const K10 = key(',"matchSets":[');
const K11 = key('{"name":"');
const K12 = key('","flags":"');
const K13 = key('],"dnatTo":');
const K14 = key(',"probability":');
const K15 = key(',"dport":');
const K16 = key(',"counters":null,"raw":"');
const K17 = key('","line":');
const K18 = key('":{"policy":');
const K19 = key(',"counters":{"packets":');
const K20 = key(',"bytes":');
const K21 = key('},"references":null,"rules":[');
const K22 = key(']}');
const K23 = key('{"formats":["save"],"tables":{');
const K24 = key('":{"chains":{');
const K25 = key('},"ruleCount":');
const K26 = key(',"skipped":[],"notes":[]');
const K27 = key('{"kubeProxy":');
const K28 = key('{"services":[');
const K29 = key('],"serviceChains":[');
const K30 = key('],"endpointChains":[');
const K31 = key('],"matchSets":[');
const K32 = key(',"skipped":[],"notes":[]}');
const K33 = key('}');
const K34 = key('{"name":');
const K35 = key(',"portName":');
const K36 = key(',"clusterIP":');
const K37 = key(',"port":');
const K38 = key(',"chain":');
const K39 = key(',"nodePorts":[');
const K40 = key('],"externalIPs":[');
const K41 = key('],"endpoints":[');
const K42 = key('{"chain":');
const K43 = key(',"address":');
const K44 = key(',"share":');
const K45 = key(':{"chains":');
const K46 = key(',"rules":');
const K47 = key(',"kubeProxy":{"services":');
const K48 = key(',"endpoints":');
const K49 = key(',"serviceChains":');
const K50 = key(',"endpointChains":');
const K51 = key(']},"skipped":[],"notes":[]}');
