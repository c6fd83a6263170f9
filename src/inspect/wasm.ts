/**
 * The compiled writers (wasm/*.ts, AssemblyScript, built to wasm/*.wasm by `npm run build`)
 * and the one loop that runs them. A writer takes a plain output of one tool (a plain
 * iptables-save: wasm/save.ts; a plain ipvsadm -Ln: wasm/ipvs.ts) and writes the same JSON,
 * byte for byte, as the JavaScript writer of that tool, for the inputs it takes; it leaves
 * any other input to that writer (nothing written).
 * The module reads the input through a window of its memory (`fill`: from the bytes held,
 * or from the file, twice: a check, then the writing); it writes the output into a buffer
 * of its own, handed to the sink after each step (the sink is done with it when its call
 * returns, or its promise resolves: JsonSink's contract), so a pipe's reader sets the pace
 * and 20 MB of JSON cost that one buffer.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JsonSink } from './jsonwriter.js';
import type { ByteSource } from './source.js';

// The little of WebAssembly used here (lib.dom declares it; this project's lib is ES only).
interface WasmModule {
  readonly kind: 'module';
}
const WebAssembly = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (bytes: Uint8Array) => WasmModule;
      Instance: new (module: WasmModule, imports: object) => { readonly exports: unknown };
    };
  }
).WebAssembly;

/** What every writer module exports (wasm/lib/out.ts, wasm/lib/window.ts and its own). */
interface WriterExports {
  memory: { readonly buffer: ArrayBuffer };
  begin(): void;
  outAt(): number;
  outLen(): number;
  /** 1 when the module takes the input (read through `fill`), for `view`. */
  layout(view: number): number;
  /** 1: more to write (after this output is handed on); 0: done; -1: the input changed. */
  step(): number;
  /** The line step() found changed. */
  changedLine(): number;
}

/**
 * wasm/<name>.wasm of the checkout or package this module is in: two directories up from
 * src/inspect/ and dist/inspect/, three from a build elsewhere in it (the bench's).
 */
function moduleFile(name: string): string | null {
  for (let up = 2; up <= 4; up++) {
    const f = fileURLToPath(new URL(`${'../'.repeat(up)}wasm/${name}.wasm`, import.meta.url));
    if (existsSync(f)) return f;
  }
  return null;
}

/** The newest change to a module's sources (wasm/<name>.ts and wasm/lib/), 0 in a package without them. */
function sourcesChanged(wasm: string): number {
  const dir = dirname(wasm);
  const source = wasm.replace(/\.wasm$/, '.ts');
  let newest = existsSync(source) ? statSync(source).mtimeMs : 0;
  const lib = join(dir, 'lib');
  if (existsSync(lib))
    for (const f of readdirSync(lib))
      if (f.endsWith('.ts')) newest = Math.max(newest, statSync(join(lib, f)).mtimeMs);
  return newest;
}

const modules = new Map<string, WasmModule | null>();

/**
 * The compiled writer `name`, or null when it is not built or was built from older sources
 * (the JavaScript writer is used then; the tests require the compiled one, so a checkout
 * that needs `npm run build` says so).
 */
export function compiledWriter(name: 'save' | 'ipvs'): WasmModule | null {
  if (!modules.has(name)) {
    const file = moduleFile(name);
    modules.set(
      name,
      file === null || sourcesChanged(file) > statSync(file).mtimeMs
        ? null
        : new WebAssembly.Module(readFileSync(file)),
    );
  }
  return modules.get(name)!;
}

/**
 * Write `view` (the module's code for it) of the input through compiled writer `name`:
 * false, with nothing written, when it does not take the input (or is not built).
 * `changed(line)`: the error for an input that no longer reads as it did in the first pass.
 */
export async function writeCompiled(
  name: 'save' | 'ipvs',
  src: ByteSource,
  view: number,
  write: JsonSink,
  changed: (line: number) => Error,
): Promise<boolean> {
  const mod = compiledWriter(name);
  if (mod === null) return false;
  let x: WriterExports | null = null;
  // a Buffer over the module's memory, made again when the memory grew (its old one is gone)
  let memView = Buffer.alloc(0);
  const mem = () => {
    const ab = x!.memory.buffer;
    if (memView.buffer !== ab) memView = Buffer.from(ab);
    return memView;
  };
  let pending: Array<Promise<void>> = [];
  const held = src.bytes;
  const instance = new WebAssembly.Instance(mod, {
    env: {
      fill: held
        ? (at: number, len: number, pos: number) =>
            held.copy(mem(), at, pos, Math.min(held.length, pos + len))
        : (at: number, len: number, pos: number) => src.read(mem(), at, len, pos),
      fmtNum: (n: number, at: number) => mem().write(JSON.stringify(n), at, 'latin1'),
      toNum: (a: number, len: number) => Number(mem().toString('latin1', a, a + len)),
      spill: (len: number) => {
        // an item larger than the room left: a copy goes out now, the buffer is filled again
        const at = x!.outAt();
        const w = write(Buffer.from(mem().subarray(at, at + len)));
        if (w) pending.push(w);
      },
      abort: () => {
        throw new Error(`the compiled ${name} writer stopped (abort)`);
      },
    },
  });
  x = instance.exports as unknown as WriterExports;
  x.begin();
  if (x.layout(view) !== 1) return false;
  for (;;) {
    const more = x.step();
    if (more < 0) throw changed(x.changedLine());
    if (pending.length) {
      await Promise.all(pending);
      pending = [];
    }
    const len = x.outLen();
    if (len > 0) {
      const out = x.outAt();
      const w = write(mem().subarray(out, out + len));
      if (w) await w;
    }
    if (!more) return true;
  }
}
