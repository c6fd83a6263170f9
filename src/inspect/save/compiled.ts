/**
 * The compiled writer of a plain iptables-save (wasm/save.ts, built to wasm/save.wasm by
 * `npm run build`): the same JSON as writePlainSave's JavaScript, for the inputs it takes
 * (printable ASCII, quotes around whole words, lines up to 60,000 bytes); false, with
 * nothing written, for any other input or when the module is not built.
 * The module reads the input through a window of its memory (`fill`: from the bytes held,
 * or from the file, twice: a check, then the writing); it writes the output into a buffer
 * of its own, handed to the sink after each step (the sink is done with it when its
 * call returns, or its promise resolves: JsonSink's contract), so a pipe's reader sets the
 * pace and 20 MB of JSON cost that one buffer.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { JsonSink } from '../jsonwriter.js';
import type { ByteSource } from '../source.js';
import type { ParseView } from '../views.js';
import { changed } from './walk.js';

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

const VIEW_CODES: Record<ParseView, number> = { full: 0, rules: 1, 'kube-proxy': 2, summary: 3 };

/**
 * wasm/save.wasm of the checkout or package this module is in: three directories up from
 * src/inspect/save/ and dist/inspect/save/, four from a build elsewhere in it (the bench's).
 */
function moduleFile(): string | null {
  for (let up = 3; up <= 5; up++) {
    const f = fileURLToPath(new URL(`${'../'.repeat(up)}wasm/save.wasm`, import.meta.url));
    if (existsSync(f)) return f;
  }
  return null;
}

interface SaveExports {
  memory: { readonly buffer: ArrayBuffer };
  begin(): void;
  outAt(): number;
  outLen(): number;
  layout(view: number): number;
  step(): number;
  changedLine(): number;
}

let compiled: WasmModule | null | undefined;

/** The compiled module, or null when it is not built (the JavaScript writer is used then). */
export function compiledSaveWriter(): WasmModule | null {
  if (compiled === undefined) {
    const file = moduleFile();
    const source = file?.replace(/\.wasm$/, '.ts');
    // not built, or built from an older wasm/save.ts: the JavaScript writer is used (the
    // tests require the compiled one, so a checkout that needs `npm run build` says so)
    compiled =
      file === null || (existsSync(source!) && statSync(source!).mtimeMs > statSync(file).mtimeMs)
        ? null
        : new WebAssembly.Module(readFileSync(file));
  }
  return compiled;
}

/** Write `view` of a plain save through the compiled writer: false (nothing written) when it does not take the input. */
export async function writeSaveCompiled(
  src: ByteSource,
  view: ParseView,
  write: JsonSink,
): Promise<boolean> {
  const mod = compiledSaveWriter();
  if (mod === null) return false;
  let x: SaveExports | null = null;
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
        throw new Error('the compiled iptables-save writer stopped (abort)');
      },
    },
  });
  x = instance.exports as unknown as SaveExports;
  x.begin();
  if (x.layout(VIEW_CODES[view]) !== 1) return false;
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
