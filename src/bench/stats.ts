/** Summary statistics of repeated timings, in milliseconds. */
export interface LatencyStats {
  /** Number of timed runs. */
  count: number;
  meanMs: number;
  stdMs: number;
  minMs: number;
  maxMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

/**
 * Percentile by linear interpolation between closest ranks (numpy's default, "type 7"):
 * rank = p/100 * (n - 1). Input need not be sorted.
 *
 * @example
 * percentile([1, 2, 3, 4], 50); // 2.5
 */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) throw new Error('percentile: no values');
  if (!(p >= 0 && p <= 100)) throw new Error(`percentile: p must be in [0, 100], got ${p}`);
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

/**
 * Mean, sample standard deviation, min/max and p50/p95/p99 of timings in ms.
 *
 * @example
 * const s = summarize([1.2, 1.1, 1.4]); // s.p50Ms === 1.2
 */
export function summarize(timesMs: ArrayLike<number>): LatencyStats {
  const n = timesMs.length;
  if (n === 0) throw new Error('summarize: no timings');
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = timesMs[i]!;
    sum += t;
    if (t < min) min = t;
    if (t > max) max = t;
  }
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (timesMs[i]! - mean) ** 2;
  return {
    count: n,
    meanMs: mean,
    stdMs: n > 1 ? Math.sqrt(sq / (n - 1)) : 0,
    minMs: min,
    maxMs: max,
    p50Ms: percentile(timesMs, 50),
    p95Ms: percentile(timesMs, 95),
    p99Ms: percentile(timesMs, 99),
  };
}
