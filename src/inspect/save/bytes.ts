/** Bytes of a plain iptables-save, read in place: the characters that matter and small scans. */

export const SP = 32;
export const QUOTE = 34;
export const DASH = 45;

export const bytesOf = (s: string) => Buffer.from(s, 'latin1');

/** Whether b[a, a + w.length) is w. */
export function at(b: Uint8Array, a: number, w: Uint8Array): boolean {
  if (a + w.length > b.length) return false;
  for (let i = 0; i < w.length; i++) if (b[a + i] !== w[i]) return false;
  return true;
}

/** The end of the word `:NAME` starting at `a` + 1 (a declaration) or at `a` (a rule's chain). */
export function wordEnd(b: Uint8Array, a: number, end: number): number {
  let p = a;
  while (p < end && b[p] !== SP) p++;
  return p;
}

/** Whether b[a, end) holds a byte outside ASCII. */
export function hasHigh(b: Uint8Array, a: number, end: number): boolean {
  for (let i = a; i < end; i++) if (b[i]! >= 128) return true;
  return false;
}
