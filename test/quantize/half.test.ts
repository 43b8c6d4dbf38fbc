import { describe, expect, it } from 'vitest';
import { exactHalfBits, float32ToHalfBits, halfBitsToFloat32 } from '../../src/quantize/half.js';

describe('float16 conversion', () => {
  it('matches hand-computed binary16 patterns, including rounding ties and edge cases', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff], // largest finite half
      [65520, 0x7c00], // halfway to 65536 rounds to even -> overflow to +Inf
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie between 0 and 2^-24 -> even (0)
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 subnormal steps -> even (2)
      [1 + 2 ** -11, 0x3c00], // tie -> even mantissa
      [1 + 3 * 2 ** -11, 0x3c02], // tie -> even mantissa (up)
      [0.1, 0x2e66],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
    ];
    for (const [v, h] of cases) expect(float32ToHalfBits(v), `value ${v}`).toBe(h);
    expect(Number.isNaN(halfBitsToFloat32(float32ToHalfBits(NaN)))).toBe(true);
  });

  it('round-trips every finite half pattern exactly', () => {
    const bad: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) continue; // NaN payloads
      if (float32ToHalfBits(halfBitsToFloat32(h)) !== h) bad.push(h);
    }
    expect(bad).toEqual([]);
  });

  it('rounds random floats to the nearest representable half', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 2000; i++) {
      const v = Math.fround((rnd() - 0.5) * 2 ** (rnd() * 30 - 20));
      const h = float32ToHalfBits(v);
      const err = Math.abs(halfBitsToFloat32(h) - v);
      // Neighbouring patterns (same sign) must not be closer.
      for (const n of [h - 1, h + 1]) {
        if ((n & 0x7fff) >= 0x7c00 || (n & 0x8000) !== (h & 0x8000) || n < 0) continue;
        expect(Math.abs(halfBitsToFloat32(n) - v)).toBeGreaterThanOrEqual(err);
      }
    }
  });

  it('exactHalfBits accepts only exactly representable arrays', () => {
    expect(exactHalfBits(Float32Array.of(0.5, -0, 1024, 2 ** -24))).toEqual(Uint16Array.of(0x3800, 0x8000, 0x6400, 0x0001));
    expect(exactHalfBits(Float32Array.of(0.5, 0.1))).toBeNull();
    expect(exactHalfBits(Float32Array.of(NaN))).toBeNull();
  });
});
