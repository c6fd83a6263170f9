/**
 * One renaming per lab run: each doc value of a bound class (an IP, a MAC, a pod hash, a
 * chain hash, an interface index, a NodePort) maps to exactly one actual value, and no two
 * doc values map to the same actual value. The web ClusterIP in `kubectl get svc` must be
 * the VIP in `ipvsadm -ln`, a member of ipset KUBE-CLUSTER-IP and an address on kube-ipvs0.
 *
 * Bindings are persistent (a new version on bind, sharing the old one) so the matcher can
 * backtrack cheaply; binding costs the same with 10 or 10,000 values already bound.
 */
import { PMap } from './pmap.js';
import type { BoundClass } from './tokens.js';

export interface Renaming {
  cls: BoundClass;
  doc: string;
  actual: string;
}

/** Why a bind was refused, in words a doc author understands. */
export interface BindConflict {
  cls: BoundClass;
  doc: string;
  actual: string;
  /** "10.96.0.10 already stands for 10.96.5.5" or "10.96.5.5 already stands for 10.96.0.1". */
  message: string;
}

function norm(cls: BoundClass, v: string): string {
  return cls === 'mac' || cls === 'ip' ? v.toLowerCase() : v;
}

/** The renamings in the order they were made, newest first, shared between versions. */
interface Made {
  r: Renaming;
  prev: Made | null;
}

export class Bindings {
  private constructor(
    private readonly fwd: PMap,
    private readonly rev: PMap,
    private readonly last: Made | null,
    readonly size: number,
  ) {}

  static empty(): Bindings {
    return new Bindings(PMap.empty(), PMap.empty(), null, 0);
  }

  static from(list: readonly Renaming[]): Bindings {
    let b = Bindings.empty();
    for (const r of list) {
      const next = b.bind(r.cls, r.doc, r.actual);
      if (next instanceof Bindings) b = next;
    }
    return b;
  }

  lookup(cls: BoundClass, doc: string): string | undefined {
    return this.fwd.get(`${cls}\u0000${norm(cls, doc)}`);
  }

  reverse(cls: BoundClass, actual: string): string | undefined {
    return this.rev.get(`${cls}\u0000${norm(cls, actual)}`);
  }

  /** Returns the (possibly same) bindings with doc→actual recorded, or the conflict. */
  bind(cls: BoundClass, doc: string, actual: string): Bindings | BindConflict {
    const d = norm(cls, doc);
    const a = norm(cls, actual);
    const k = `${cls}\u0000${d}`;
    const rk = `${cls}\u0000${a}`;
    const have = this.fwd.get(k);
    if (have !== undefined) {
      if (have === a) return this;
      return {
        cls,
        doc,
        actual,
        message: `${doc} is already bound to ${have} in this run (found ${actual} here)`,
      };
    }
    const owner = this.rev.get(rk);
    if (owner !== undefined) {
      return {
        cls,
        doc,
        actual,
        message: `two doc values on one output value: ${owner} and ${doc} would both be ${actual}`,
      };
    }
    return new Bindings(
      this.fwd.set(k, a),
      this.rev.set(rk, d),
      { r: { cls, doc, actual }, prev: this.last },
      this.size + 1,
    );
  }

  /** Every binding in the order it was made. */
  list(): Renaming[] {
    return this.since(Bindings.empty());
  }

  /** Only the bindings where the actual value differs from the doc's. */
  renamed(): Renaming[] {
    return this.list().filter((r) => norm(r.cls, r.doc) !== norm(r.cls, r.actual));
  }

  /** Bindings made after `base` (base must be an ancestor of this). */
  since(base: Bindings): Renaming[] {
    const out: Renaming[] = [];
    let m = this.last;
    for (let n = this.size - base.size; n > 0 && m; n--, m = m.prev) out.push(m.r);
    return out.reverse();
  }
}

export function isConflict(x: Bindings | BindConflict): x is BindConflict {
  return !(x instanceof Bindings);
}
