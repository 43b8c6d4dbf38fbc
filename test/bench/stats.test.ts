import { describe, expect, it } from 'vitest';
import { percentile, summarize } from '../../src/bench/stats.js';

describe('latency statistics', () => {
  // Fixed timings, deliberately unsorted; expected values computed by hand with the
  // linear-interpolation rule rank = p/100 * (n - 1) (numpy's default).
  const times = [9, 1, 7, 3, 5, 2, 8, 4, 10, 6]; // sorted: 1..10

  it('percentiles match hand-computed values', () => {
    expect(percentile(times, 50)).toBeCloseTo(5.5, 12); // rank 4.5 -> (5 + 6) / 2
    expect(percentile(times, 95)).toBeCloseTo(9.55, 12); // rank 8.55 -> 9 + 0.55
    expect(percentile(times, 99)).toBeCloseTo(9.91, 12); // rank 8.91
    expect(percentile(times, 0)).toBe(1);
    expect(percentile(times, 100)).toBe(10);
    expect(percentile([4], 95)).toBe(4);
    expect(percentile([1, 2, 3, 4], 25)).toBeCloseTo(1.75, 12);
  });

  it('summary has mean, sample std, min, max', () => {
    const s = summarize(times);
    expect(s.count).toBe(10);
    expect(s.meanMs).toBeCloseTo(5.5, 12);
    // sum of squared deviations of 1..10 = 82.5; / 9
    expect(s.stdMs).toBeCloseTo(Math.sqrt(82.5 / 9), 12);
    expect(s.minMs).toBe(1);
    expect(s.maxMs).toBe(10);
    expect(s.p50Ms).toBeCloseTo(5.5, 12);
    expect(s.p95Ms).toBeCloseTo(9.55, 12);
  });

  it('rejects empty input and bad p', () => {
    expect(() => summarize([])).toThrow(/no timings/);
    expect(() => percentile([1], 101)).toThrow(/\[0, 100\]/);
  });
});
