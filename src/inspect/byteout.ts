/**
 * JSON written as bytes, into buffers that are filled again once the sink is done with them:
 * the streaming writers of iptables-save (byte by byte) and ipvsadm -Ln (text) print through
 * it, so 20 MB of JSON costs a buffer or two, not a new one per 64 KiB.
 */
import { jsonPieces, type JsonSink } from './jsonwriter.js';
import { QUOTE, bytesOf } from './save/bytes.js';

/** Size of the byte pieces handed to the sink. */
const PIECE = 1 << 16;

/** How JSON.stringify writes each byte below 0x20 (and `"`, `\`): its escape, as bytes. */
const ESCAPES: Array<Uint8Array | undefined> = [];
for (let c = 0; c < 32; c++)
  ESCAPES[c] = bytesOf(JSON.stringify(String.fromCharCode(c)).slice(1, -1));
ESCAPES[QUOTE] = bytesOf('\\"');
ESCAPES[92] = bytesOf('\\\\');

/**
 * JSON written as bytes into pieces of PIECE bytes, each handed to the sink when full. A
 * piece the sink is done with when its call returns is filled again; one it holds (a pipe
 * whose reader is behind) waits in `held` until `settle()`.
 */
export class ByteOut {
  buf: Buffer = Buffer.allocUnsafeSlow(PIECE);
  pos = 0;
  pending: Promise<void> | null = null;
  private readonly free: Buffer[] = [];
  private held: Buffer[] = [];

  constructor(private readonly sink: JsonSink) {}

  /** Room for `k` more bytes: the piece is handed on first when they would not fit. */
  room(k: number): void {
    // (a buffer made larger for one long piece holds that piece alone)
    if (this.pos + k <= this.buf.length && (this.buf.length === PIECE || this.pos === 0)) return;
    this.hand();
    if (k > PIECE) this.buf = Buffer.allocUnsafeSlow(k);
    else if (this.buf.length !== PIECE) this.buf = this.free.pop() ?? Buffer.allocUnsafeSlow(PIECE);
  }

  private hand(): void {
    if (this.pos === 0) return;
    const b = this.buf;
    const w = this.sink(b.subarray(0, this.pos));
    this.pos = 0;
    if (!w) return;
    this.pending = this.pending ? Promise.all([this.pending, w]).then(() => undefined) : w;
    this.held.push(b);
    this.buf = this.free.pop() ?? Buffer.allocUnsafeSlow(PIECE);
  }

  /** ASCII text (room made by the caller). */
  ascii(s: string): void {
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  /** Text, as UTF-8 (room made by the caller: 3 bytes a character). */
  string(s: string): void {
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** A number as JSON.stringify writes it. */
  number(x: number): void {
    if (Number.isSafeInteger(x) && x >= 0) this.int(x);
    else this.ascii(JSON.stringify(x));
  }

  /** A non-negative integer's digits. */
  int(x: number): void {
    if (x > 0x7fffffff) {
      this.ascii(String(x));
      return;
    }
    const o = this.buf;
    let n = 1;
    for (let y = x; y >= 10; y = (y / 10) | 0) n++;
    let p = this.pos + n;
    this.pos = p;
    let y = x | 0;
    do {
      o[--p] = 48 + (y % 10);
      y = (y / 10) | 0;
    } while (y > 0);
  }

  bytes(w: Uint8Array): void {
    const o = this.buf;
    let p = this.pos;
    for (let i = 0; i < w.length; i++) o[p++] = w[i]!;
    this.pos = p;
  }

  /** The bytes b[a, e) as the inside of a JSON string; `dropQuotes`: leave out `"` (a quoted word's). */
  escaped(b: Uint8Array, a: number, e: number, dropQuotes: boolean): void {
    const o = this.buf;
    let p = this.pos;
    for (let i = a; i < e; i++) {
      const c = b[i]!;
      if (c >= 32 && c !== QUOTE && c !== 92) o[p++] = c;
      else if (c === QUOTE && dropQuotes) continue;
      else {
        const x = ESCAPES[c]!;
        for (let k = 0; k < x.length; k++) o[p++] = x[k]!;
      }
    }
    this.pos = p;
  }

  /** JSON text (a piece of a document). */
  json(s: string): void {
    this.room(s.length * 3);
    this.string(s);
  }

  /** `value` as JSON.stringify writes it, piece by piece (see jsonPieces), at the sink's pace. */
  async value(value: unknown): Promise<void> {
    jsonPieces(value, (piece) => this.json(piece));
    await this.settle();
  }

  /** Hand on what is buffered, and wait for the sink. */
  async flush(): Promise<void> {
    this.hand();
    await this.settle();
  }

  async settle(): Promise<void> {
    while (this.pending) {
      const p = this.pending;
      this.pending = null;
      await p;
    }
    for (const b of this.held) if (b.length === PIECE) this.free.push(b);
    this.held = [];
  }
}
