/**
 * Input read line by line through one window of bytes, so that a 6 MB file costs a
 * 256 KiB buffer rather than a 6 MB one (and, on a machine where fresh memory is slow to
 * touch, the time of touching it). A file is read twice this way when a first pass checks
 * it before a second one writes (iptables-json.ts); a pipe or a pasted text is held whole.
 */
import { readSync } from 'node:fs';

/** Bytes to read: a file by its descriptor (read where asked), or bytes held whole. */
export interface ByteSource {
  /** Read up to `len` bytes at input offset `pos` into `buf` at `off`: how many (0 at the end). */
  read(buf: Buffer, off: number, len: number, pos: number): number;
  /** The whole input in one buffer (for the parsers that read it whole). */
  whole(): Buffer;
  /** The input, when it is held whole already: read in place, not through a window. */
  readonly bytes?: Buffer;
}

export function bufferSource(b: Buffer): ByteSource {
  return {
    bytes: b,
    read: (buf, off, len, pos) => b.copy(buf, off, pos, Math.min(b.length, pos + len)),
    whole: () => b,
  };
}

/**
 * A regular file open on `fd`, read as the `size` bytes it had when it was opened (a file
 * that grows meanwhile reads the same in every pass).
 */
export function fileSource(fd: number, size: number): ByteSource {
  return {
    read: (buf, off, len, pos) => {
      const n = Math.min(len, size - pos);
      return n > 0 ? readSync(fd, buf, off, n, pos) : 0;
    },
    whole: () => {
      const b = Buffer.allocUnsafe(size);
      let got = 0;
      for (let n = 1; got < size && n > 0; got += n) n = readSync(fd, b, got, size - got, got);
      return got === size ? b : b.subarray(0, got);
    },
  };
}

const WINDOW = 1 << 18;

/**
 * The lines of a source, one at a time: after `next()` the line is `buf[a, end)` (without its
 * newline), `no` its number from 1. The line is valid until the next call. Like
 * `text.split('\n')`, an input ending in a newline has a last, empty line.
 */
export class LineReader {
  buf: Buffer;
  a = 0;
  end = 0;
  no = 0;
  /** Where the next line starts in `buf`, and how much of `buf` holds input. */
  private pos = 0;
  private filled = 0;
  /** Input offset of `buf[filled]`. */
  private at = 0;
  private eof = false;
  private done = false;
  private readonly src: ByteSource | null;

  /** `window`: the first size of the window (tests use a few bytes, to read across its ends). */
  constructor(src: ByteSource, window = WINDOW) {
    const held = src.bytes;
    if (held !== undefined) {
      // bytes held whole: read in place
      this.src = null;
      this.buf = held;
      this.filled = held.length;
      this.eof = true;
    } else {
      this.src = src;
      this.buf = Buffer.allocUnsafe(Math.max(1, window));
    }
  }

  next(): boolean {
    if (this.done) return false;
    for (;;) {
      const nl = this.buf.indexOf(10, this.pos);
      if (nl >= 0 && nl < this.filled) {
        this.a = this.pos;
        this.end = nl;
        this.pos = nl + 1;
        this.no++;
        return true;
      }
      if (this.eof) {
        // the last line, after the last newline (empty when the input ends in one)
        this.a = this.pos;
        this.end = this.filled;
        this.pos = this.filled;
        this.done = true;
        this.no++;
        return true;
      }
      this.refill();
    }
  }

  /** Move the unread part to the front (growing the window for a long line) and read more. */
  private refill(): void {
    const rest = this.filled - this.pos;
    if (rest === this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, this.pos, this.filled);
      this.buf = bigger;
    } else this.buf.copy(this.buf, 0, this.pos, this.filled);
    this.pos = 0;
    this.filled = rest;
    const n = this.src!.read(this.buf, rest, this.buf.length - rest, this.at);
    if (n === 0) this.eof = true;
    this.at += n;
    this.filled += n;
  }
}
