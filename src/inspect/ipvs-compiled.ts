/**
 * The compiled writer of a plain `ipvsadm -Ln` (wasm/ipvs.ts; see wasm.ts): the same JSON
 * as writePlainIpvsList, for the inputs it takes (printable ASCII; TCP, UDP and SCTP
 * services on numeric addresses; real servers with the Forward column); false, with nothing
 * written, for any other input or when the module is not built.
 */
import { ParseError } from './errors.js';
import type { JsonSink } from './jsonwriter.js';
import type { ByteSource } from './source.js';
import { compiledWriter, writeCompiled } from './wasm.js';

/** The compiled module, or null when it is not built (the JavaScript writer is used then). */
export const compiledIpvsWriter = () => compiledWriter('ipvs');

const changed = (line: number) =>
  new ParseError(
    'ipvsadm',
    `the input changed while it was read (line ${line}): parse a copy that nothing writes to`,
  );

/** Write `view` of a plain -Ln through the compiled writer: false (nothing written) when it does not take the input. */
export function writeIpvsCompiled(
  src: ByteSource,
  view: 'full' | 'summary',
  write: JsonSink,
): Promise<boolean> {
  return writeCompiled('ipvs', src, view === 'full' ? 0 : 1, write, changed);
}
