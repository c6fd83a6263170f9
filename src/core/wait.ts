/**
 * Polling with a stated limit: every wait says what it waits for and for how long
 * ("waiting ≤ 120 s for kube-proxy on 3 nodes to report ipvs"), and fails with that text.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from './errors.js';

export interface WaitOptions {
  /** What is awaited, e.g. "kube-proxy on 3 nodes to report ipvs". */
  what: string;
  timeoutMs: number;
  /** First delay between tries; doubles up to maxIntervalMs. */
  intervalMs?: number;
  maxIntervalMs?: number;
  signal?: AbortSignal;
  /** What to look at if it never happens. */
  hint?: string;
  onWait?: (message: string) => void;
}

export function describeWait(o: Pick<WaitOptions, 'what' | 'timeoutMs'>): string {
  return `waiting ≤ ${Math.round(o.timeoutMs / 1000)} s for ${o.what}`;
}

/**
 * Thrown by a probe that knows what it awaits will not happen (no point waiting out the
 * limit): waitFor rethrows it at once.
 */
export class WaitGiveUp extends Error {
  override name = 'WaitGiveUp';
}

/**
 * Call `probe` until it returns a value that is not undefined. Returns that value. A probe
 * that throws is retried (a WaitGiveUp ends the wait at once); the last error is reported
 * if time runs out.
 */
export async function waitFor<T>(probe: () => Promise<T | undefined>, o: WaitOptions): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  let delay = o.intervalMs ?? 500;
  let lastError: unknown;
  o.onWait?.(describeWait(o));
  for (;;) {
    if (o.signal?.aborted) throw o.signal.reason ?? new UserError('interrupted');
    try {
      const v = await probe();
      if (v !== undefined) return v;
      lastError = undefined;
    } catch (e) {
      if (e instanceof WaitGiveUp) throw e;
      lastError = e;
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    try {
      await sleep(Math.min(delay, left), undefined, o.signal ? { signal: o.signal } : undefined);
    } catch {
      throw o.signal?.reason ?? new UserError('interrupted');
    }
    delay = Math.min(delay * 2, o.maxIntervalMs ?? 5000);
  }
  const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new UserError(
    `gave up after ${Math.round(o.timeoutMs / 1000)} s waiting for ${o.what}${why}`,
    o.hint,
    1,
    {
      cause: lastError,
    },
  );
}
