/**
 * The compiled writer of a plain iptables-save (wasm/save.ts; see ../wasm.ts): the same
 * JSON as writePlainSave's JavaScript, for the inputs it takes (printable ASCII, quotes
 * around whole words, lines up to 60,000 bytes); false, with nothing written, for any other
 * input or when the module is not built.
 */
import type { JsonSink } from '../jsonwriter.js';
import type { ByteSource } from '../source.js';
import type { ParseView } from '../views.js';
import { compiledWriter, writeCompiled } from '../wasm.js';
import { changed } from './walk.js';

const VIEW_CODES: Record<ParseView, number> = { full: 0, rules: 1, 'kube-proxy': 2, summary: 3 };

/** The compiled module, or null when it is not built (the JavaScript writer is used then). */
export const compiledSaveWriter = () => compiledWriter('save');

/** Write `view` of a plain save through the compiled writer: false (nothing written) when it does not take the input. */
export function writeSaveCompiled(
  src: ByteSource,
  view: ParseView,
  write: JsonSink,
): Promise<boolean> {
  return writeCompiled('save', src, VIEW_CODES[view], write, changed);
}
