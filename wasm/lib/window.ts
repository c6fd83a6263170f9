/**
 * The input, line by line through one window of the module's memory (LineReader,
 * src/inspect/source.ts): the JavaScript side fills it from the bytes it holds or from the
 * file (`fill`), so a 6 MB input costs the window, not 6 MB. Read twice by the writers: a
 * check, then the writing (`rewind()` between).
 */
import { b, hasBetween, hasByte, hasUnprintable, QUOTE } from './bytes';

/** Read up to `len` bytes of the input at offset `pos` into memory at `at`: how many (0 at the end). */
@external('env', 'fill')
declare function fill(at: usize, len: i32, pos: f64): i32;

/** The window: a line may be as long (a longer one is not plain; see nextLine()). */
export const WIN_SIZE: usize = 1 << 16;

/** The line of the input a writer's step() found changed since its layout() read it (step() returned -1). */
export function changedLine(): i32 {
  return lineNo;
}

/** Room for the window. */
export function windowBegin(): void {
  WIN = heap.alloc(WIN_SIZE + 8);
}

export let WIN: usize = 0;
/** Next byte to read in the window, end of what it holds, input offset of that end. */
export let wr: usize = 0;
export let wf: usize = 0;
export let srcAt: f64 = 0;
export let eof = false;
export let lastDone = false;
/** The line: [la, le), number lineNo from 1. */
export let la: usize = 0;
export let le: usize = 0;
export let lineNo = 0;

export function rewind(): void {
  wr = WIN;
  wf = WIN;
  srcAt = 0;
  eof = false;
  lastDone = false;
  lineNo = 0;
}

/** Where the first newline in [p, e) is, e when none. */
export function newline(p: usize, e: usize): usize {
  for (; p + 8 <= e; p += 8) if (hasByte(load<u64>(p), 10)) break;
  while (p < e && b(p) != 10) p++;
  return p;
}

/** Bytes of the window's unfinished line already scanned for its newline (noNewline() keeps them). */
let scanned: usize = 0;

/**
 * No newline in what the window holds: the last line at the end of the input (1), the end
 * (0), a line longer than the window (-1), or 2 once the window holds more (the unfinished
 * line moved to its start, `scanned` of its bytes already looked at).
 */
function noNewline(): i32 {
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
  scanned = rest;
  const n = fill(wf, <i32>(WIN_SIZE - rest), srcAt);
  if (n <= 0) eof = true;
  else {
    wf += <usize>n;
    srcAt += <f64>n;
  }
  return 2;
}

/**
 * The next line into [la, le): 1; 0 at the end; -1 for a line longer than the window. Like
 * `text.split('\n')`, an input ending in a newline has a last, empty line.
 */
export function nextLine(): i32 {
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
    const more = noNewline();
    if (more != 2) return more;
    from = WIN + scanned;
  }
}


// What the line nextCheckedLine() read holds: `#`, `$` or `%`, quotes.
export let hashes = 0;
export let prompts = 0;
export let quotes = 0;

/**
 * nextLine() for the layout: the line's bytes checked on the way (lineBytes of layout.ts):
 * 1, 0, -1 as nextLine(); -2 for a byte a plain save never holds (a control character, a
 * byte outside ASCII, a backslash). Eight bytes at a time where none of them matters.
 */
export function nextCheckedLine(): i32 {
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
    const more = noNewline();
    if (more != 2) return more;
    from = WIN + scanned;
  }
}
