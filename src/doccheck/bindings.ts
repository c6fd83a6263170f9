/**
 * One renaming per lab run: each doc value of a bound class (an IP, a MAC, a pod hash, a
 * chain hash, an interface index, a NodePort) maps to exactly one actual value, and no two
 * doc values map to the same actual value. The web ClusterIP in `kubectl get svc` must be
 * the VIP in `ipvsadm -ln`, a member of ipset KUBE-CLUSTER-IP and an address on kube-ipvs0.
 *
 * Bindings are persistent (copy on bind) so the matcher can backtrack cheaply.
 */
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

export class Bindings {
  private constructor(
    private readonly fwd: ReadonlyMap<string, string>,
    private readonly rev: ReadonlyMap<string, string>,
    private readonly order: readonly Renaming[],
  ) {}

  static empty(): Bindings {
    return new Bindings(new Map(), new Map(), []);
  }

  static from(list: readonly Renaming[]): Bindings {
    let b = Bindings.empty();
    for (const r of list) {
      const next = b.bind(r.cls, r.doc, r.actual);
      if (next instanceof Bindings) b = next;
    }
    return b;
  }

  get size(): number {
    return this.order.length;
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
    const fwd = new Map(this.fwd);
    const rev = new Map(this.rev);
    fwd.set(k, a);
    rev.set(rk, d);
    return new Bindings(fwd, rev, [...this.order, { cls, doc, actual }]);
  }

  /** Every binding in the order it was made. */
  list(): Renaming[] {
    return [...this.order];
  }

  /** Only the bindings where the actual value differs from the doc's. */
  renamed(): Renaming[] {
    return this.order.filter((r) => norm(r.cls, r.doc) !== norm(r.cls, r.actual));
  }

  /** Bindings made after `base` (base must be an ancestor of this). */
  since(base: Bindings): Renaming[] {
    return this.order.slice(base.order.length);
  }
}

export function isConflict(x: Bindings | BindConflict): x is BindConflict {
  return !(x instanceof Bindings);
}
