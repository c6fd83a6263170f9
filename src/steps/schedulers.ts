/**
 * IPVS schedulers kube-proxy accepts. Since Kubernetes 1.27 kube-proxy no longer checks the
 * name itself: a typo makes it exit and crash-loop, so proxylab checks it before any change.
 */
import { UsageError } from '../core/errors.js';

export const SCHEDULERS = {
  rr: 'round-robin',
  wrr: 'weighted round-robin (Kubernetes gives every endpoint weight 1)',
  lc: 'least connection',
  wlc: 'weighted least connection',
  lblc: 'locality-based least connection',
  lblcr: 'locality-based least connection with replication',
  sh: 'source hashing (one client → one pod)',
  dh: 'destination hashing',
  sed: 'shortest expected delay',
  nq: 'never queue',
  mh: 'maglev hashing (kernel ≥ 4.18)',
} as const;

export type Scheduler = keyof typeof SCHEDULERS;

export const SCHEDULER_NAMES = Object.keys(SCHEDULERS) as Scheduler[];

export function isScheduler(s: string): s is Scheduler {
  return Object.prototype.hasOwnProperty.call(SCHEDULERS, s);
}

function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...Array<number>(b.length).fill(0),
  ]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
  return d[a.length]![b.length]!;
}

/** Throws a UsageError (exit 2) naming the valid schedulers, with the nearest one first. */
export function validateScheduler(s: string): Scheduler {
  const name = s.trim().toLowerCase();
  if (isScheduler(name)) return name;
  const near = SCHEDULER_NAMES.filter((n) => distance(n, name) <= 1 || n.startsWith(name));
  throw new UsageError(
    `"${s}" is not an IPVS scheduler kube-proxy can use (kube-proxy would crash-loop on it)`,
    `${near.length ? `did you mean ${near.join(' or ')}? ` : ''}choose one of: ${SCHEDULER_NAMES.join(' ')}`,
  );
}
