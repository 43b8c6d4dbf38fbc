import { describe, expect, it } from 'vitest';
import { quantizeAffine } from '../../src/quantize/affine.js';
import { kmeans1d, quantizeCodebook } from '../../src/quantize/codebook.js';
import { dequantize } from '../../src/quantize/dequantize.js';
import { getQuantizer, quantizerNames } from '../../src/quantize/quantizers.js';
import { seededRandom } from '../../src/data/dataset.js';

/** Gaussian-ish weights with a given fraction of exact zeros. */
function weights(n: number, zeroFraction: number, seed = 1): Float32Array {
  const r = seededRandom(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = r() < zeroFraction ? 0 : (r() + r() + r() - 1.5) * 0.2;
  return v;
}

describe('affine int8/uint8', () => {
  it('hand-computed per-tensor case', () => {
    const t = quantizeAffine(Float32Array.of(-1, 0, 0.5, 1), [4], { dtype: 'int8' });
    expect(t.scales[0]).toBe(Math.fround(2 / 255));
    // fround(2/255) is a hair above 2/255, so -128 + 1/scale = -0.50000x rounds to -1.
    expect(t.zeroPoints[0]).toBe(-1);
    expect(Array.from(t.q)).toEqual([-128, -1, 63, 126]);
    const d = dequantize(t);
    expect(d[1]).toBe(0);
    expect(Object.is(d[1], 0)).toBe(true);
  });

  for (const dtype of ['int8', 'uint8'] as const) {
    for (const axis of [null, 1] as const) {
      it(`${dtype} ${axis === null ? 'per tensor' : 'per channel'}: error <= scale/2 and zeros stay exactly zero`, () => {
        const shape = [64, 12];
        const v = weights(64 * 12, 0.5);
        v[5] = -0; // negative zero is a zero too
        const t = quantizeAffine(v, shape, { dtype, axis });
        const d = dequantize(t);
        expect(t.scales.length).toBe(axis === null ? 1 : 12);
        for (let i = 0; i < v.length; i++) {
          const c = axis === null ? 0 : i % 12;
          expect(Math.abs(d[i]! - v[i]!)).toBeLessThanOrEqual(t.scales[c]! / 2 + 1e-7);
          if (v[i] === 0) expect(Object.is(d[i], 0), `element ${i}`).toBe(true);
          const [lo, hi] = dtype === 'int8' ? [-128, 127] : [0, 255];
          expect(t.q[i]!).toBeGreaterThanOrEqual(lo);
          expect(t.q[i]!).toBeLessThanOrEqual(hi);
        }
        if (axis !== null) {
          // Independent check of one channel's scale: its range (widened to include 0) over 255 steps.
          const ch = Array.from({ length: 64 }, (_, r) => v[r * 12 + 3]!);
          const range = Math.max(0, ...ch) - Math.min(0, ...ch);
          expect(t.scales[3]).toBeCloseTo(range / 255, 7);
        }
      });
    }
  }

  it('an all-zero channel stays zero and has a valid scale', () => {
    const v = Float32Array.of(0, 1, 0, -2, 0, 3);
    const t = quantizeAffine(v, [3, 2], { dtype: 'uint8', axis: -1 });
    const d = dequantize(t);
    expect(Array.from(d.filter((_, i) => i % 2 === 0))).toEqual([0, 0, 0]);
    expect(t.scales[0]).toBeGreaterThan(0);
  });

  it('rejects non-finite values with a clear error', () => {
    expect(() => quantizeAffine(Float32Array.of(1, NaN), [2])).toThrow(/element 1 is NaN/);
  });
});

describe('codebook (k-means weight sharing)', () => {
  it('k-means centroids are a Lloyd fixed point: each is the mean of the values nearest to it', () => {
    const v = Array.from(weights(5000, 0, 3));
    const c = kmeans1d(v, 16);
    expect(c.length).toBeGreaterThan(8);
    expect(c.length).toBeLessThanOrEqual(16);
    const sums = new Float64Array(c.length);
    const counts = new Float64Array(c.length);
    for (const x of v) {
      let best = 0;
      for (let j = 1; j < c.length; j++) if (Math.abs(x - c[j]!) < Math.abs(x - c[best]!)) best = j;
      sums[best] += x;
      counts[best]++;
    }
    for (let j = 0; j < c.length; j++) {
      expect(counts[j]).toBeGreaterThan(0);
      expect(sums[j]! / counts[j]!).toBeCloseTo(c[j]!, 8);
    }
  });

  it('hand-computed: two well separated groups with k=2', () => {
    expect(Array.from(kmeans1d([1, 2, 3, 10, 11, 12], 2))).toEqual([2, 11]);
  });

  for (const bits of [2, 5, 8]) {
    it(`bits=${bits}: <= 2^b centroids, zeros excluded and exact, nearest assignment`, () => {
      const v = weights(4000, 0.9, bits);
      const t = quantizeCodebook(v, [40, 100], { bits });
      expect(t.centroids.length).toBeLessThanOrEqual(2 ** bits);
      expect(t.centroids.every((c) => c !== 0)).toBe(true);
      const d = dequantize(t);
      let bad = 0;
      for (let i = 0; i < v.length; i++) {
        if (v[i] === 0) {
          if (t.assignments[i] !== -1 || d[i] !== 0) bad++;
        } else {
          if (d[i] === 0) bad++;
          const err = Math.abs(v[i]! - d[i]!);
          for (const c of t.centroids) if (Math.abs(v[i]! - c) < err - 1e-7) bad++;
        }
      }
      expect(bad).toBe(0);
    });
  }

  it('rejects bits outside 2..8', () => {
    expect(() => quantizeCodebook(Float32Array.of(1), [1], { bits: 9 })).toThrow(/bits must be an integer in 2\.\.8/);
  });
});

describe('quantizer registry', () => {
  it('every registered quantizer keeps zeros exactly zero', () => {
    const v = weights(600, 0.8, 11);
    for (const name of quantizerNames()) {
      const d = dequantize(getQuantizer(name).quantize(v, [20, 30], { bits: 4 }));
      for (let i = 0; i < v.length; i++) if (v[i] === 0) expect(d[i], `${name} element ${i}`).toBe(0);
    }
  });

  it('unknown modes are named in the error', () => {
    expect(() => getQuantizer('int4')).toThrow(/unknown quantization mode 'int4'.*int8-channel/);
  });
});
