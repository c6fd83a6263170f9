/**
 * The second pass over a plain iptables-save whose layout the first pass read
 * (plainSaveLayout): rule after rule, with every chain opened in declaration order on the
 * way, the empty ones too, as the whole parse lists them. The writer (iptables-json.ts)
 * prints from it; inspect's excerpt reads kube-proxy's view from it.
 */
import { ParseError } from '../errors.js';
import { LineReader, type ByteSource } from '../source.js';
import { DASH, wordEnd } from './bytes.js';
import type { SaveTable } from './layout.js';

/** What a reader of the walk hears besides the rules. */
export interface SaveWalkEvents {
  /** Table `t` (the `ti`-th) starts. */
  table?(t: SaveTable, ti: number): void;
  /** Chain `ci` of `t` opens (the one before it, if any, is done). */
  chain?(t: SaveTable, ci: number): void;
  /** Table `t` ends, every chain of it opened. */
  endTable?(t: SaveTable): void;
}

/** A file that no longer reads as it did in the first pass (written to meanwhile). */
export const changed = (line: number) =>
  new ParseError(
    'iptables',
    `the input changed while it was read (line ${line}): parse a copy that nothing writes to`,
  );

export class SaveWalk {
  /** The rule `nextRule()` stopped at: line `b[a, end)` (number `no`), its words from `sp`. */
  b: Buffer = Buffer.alloc(0);
  a = 0;
  end = 0;
  sp = 0;
  no = 0;
  /** Its table, and its chain's index there. */
  table: SaveTable | null = null;
  ci = -1;
  private ti = -1;
  private readonly lines: LineReader;

  constructor(
    src: ByteSource,
    private readonly tables: SaveTable[],
    private readonly on: SaveWalkEvents,
    window?: number,
  ) {
    this.lines = new LineReader(src, window);
  }

  /** Move to the next rule; false at the end of the input (every table ended). */
  nextRule(): boolean {
    const lines = this.lines;
    while (lines.next()) {
      const b = lines.buf;
      const a = lines.a;
      const end = lines.end;
      if (end === a) continue;
      const c = b[a];
      if (c === DASH) {
        const t = this.table;
        if (t === null) throw changed(lines.no);
        const sp = wordEnd(b, a + 3, end);
        // the first pass vouched that the chain is this one or a later one
        let ci = this.ci < 0 ? 0 : this.ci;
        while (ci < t.arena.count && !t.arena.is(ci, b, a + 3, sp)) ci++;
        if (ci === t.arena.count) throw changed(lines.no);
        this.openTo(ci);
        this.b = b;
        this.a = a;
        this.end = end;
        this.sp = sp;
        this.no = lines.no;
        return true;
      }
      if (c === 42 /* *table */) {
        this.endTable();
        if (++this.ti === this.tables.length) throw changed(lines.no);
        this.table = this.tables[this.ti]!;
        this.ci = -1;
        this.on.table?.(this.table, this.ti);
      } else if (c === 67 /* COMMIT */) this.endTable();
    }
    this.endTable();
    return false;
  }

  /** Open the chains after the open one, up to `ci`. */
  private openTo(ci: number): void {
    const t = this.table!;
    while (this.ci < ci) {
      this.ci++;
      if (this.ci < t.arena.count) this.on.chain?.(t, this.ci);
    }
  }

  private endTable(): void {
    const t = this.table;
    if (t === null) return;
    this.openTo(t.arena.count - 1);
    this.on.endTable?.(t);
    this.table = null;
  }
}
