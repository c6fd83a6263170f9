/**
 * kube-proxy's Prometheus metrics (`http://127.0.0.1:10249/metrics` on a node): histograms
 * read from the text exposition format, differences between two scrapes, and quantiles
 * estimated from buckets the way PromQL's histogram_quantile does (linear within a bucket).
 */

export interface Histogram {
  /** Cumulative counts by upper bound (`le`), ascending, +Inf last. */
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

export const SYNC_METRIC = 'kubeproxy_sync_proxy_rules_duration_seconds';
export const NETWORK_PROGRAMMING_METRIC = 'kubeproxy_network_programming_duration_seconds';

function parseValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

/** The histogram `name` in a scrape (labels other than `le` are summed over), or null. */
export function parseHistogram(text: string, name: string): Histogram | null {
  const byLe = new Map<number, number>();
  let sum = 0;
  let count = 0;
  let seen = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || !line.startsWith(name)) continue;
    const m = /^([A-Za-z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const [, metric, , labels = '', value = ''] = m;
    const v = parseValue(value);
    if (!Number.isFinite(v)) continue;
    if (metric === `${name}_bucket`) {
      const le = /(?:^|,)\s*le="([^"]+)"/.exec(labels);
      if (!le) continue;
      const bound = parseValue(le[1]!);
      byLe.set(bound, (byLe.get(bound) ?? 0) + v);
      seen = true;
    } else if (metric === `${name}_sum`) {
      sum += v;
      seen = true;
    } else if (metric === `${name}_count`) {
      count += v;
      seen = true;
    }
  }
  if (!seen) return null;
  const buckets = [...byLe.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([le, c]) => ({ le, count: c }));
  return { buckets, sum, count };
}

/** after − before (what happened between two scrapes of the same process). */
export function diffHistogram(after: Histogram, before: Histogram | null): Histogram {
  if (!before) return after;
  const prev = new Map(before.buckets.map((b) => [b.le, b.count]));
  // A restarted kube-proxy resets its counters: then `after` alone is the interval.
  if (after.count < before.count) return after;
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (prev.get(b.le) ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/** Quantile q (0..1) from cumulative buckets; null when there are no observations. */
export function histogramQuantile(h: Histogram, q: number): number | null {
  const total = h.buckets.length ? h.buckets[h.buckets.length - 1]!.count : h.count;
  if (!(total > 0)) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of h.buckets) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return prevLe; // in the +Inf bucket: the highest finite bound
      const inBucket = b.count - prevCount;
      if (inBucket <= 0) return b.le;
      return prevLe + (b.le - prevLe) * ((rank - prevCount) / inBucket);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}
