/**
 * A persistent string map (a hash array mapped trie): `set` returns a new map and leaves
 * the old one as it was, sharing all but one path of ≤ 7 small nodes. The matcher keeps
 * one version per alternative it may come back to, so a run that renames 8,000 values
 * costs 8,000 small copies, not 8,000 copies of everything renamed so far.
 */
const BITS = 5;
const WIDTH = 1 << BITS;
const MASK = WIDTH - 1;
const MAX_SHIFT = 30;

type Leaf = { k: string; v: string }[];
type Node = Array<Node | Leaf | undefined>;

/** FNV-1a, 32 bits. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class PMap {
  private constructor(private readonly root: Node) {}

  static empty(): PMap {
    return new PMap(new Array<Node | Leaf | undefined>(WIDTH));
  }

  get(k: string): string | undefined {
    const h = hash(k);
    let node: Node = this.root;
    for (let shift = 0; ; shift += BITS) {
      const slot = node[(h >>> shift) & MASK];
      if (slot === undefined) return undefined;
      if (shift >= MAX_SHIFT) return (slot as Leaf).find((e) => e.k === k)?.v;
      node = slot as Node;
    }
  }

  set(k: string, v: string): PMap {
    const h = hash(k);
    const put = (node: Node, shift: number): Node => {
      const copy = node.slice();
      const i = (h >>> shift) & MASK;
      if (shift >= MAX_SHIFT) {
        const leaf = ((node[i] as Leaf | undefined) ?? []).filter((e) => e.k !== k);
        copy[i] = [...leaf, { k, v }];
      } else {
        copy[i] = put((node[i] as Node | undefined) ?? new Array(WIDTH), shift + BITS);
      }
      return copy;
    };
    return new PMap(put(this.root, 0));
  }
}
