/**
 * float32 <-> IEEE-754 binary16 conversion in pure TypeScript (no Node or DOM APIs), so both the
 * quantizer and the browser-side container decoder can use it.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * Round a float32 to the nearest binary16 pattern (ties to even). Overflow gives +-Infinity,
 * NaN stays NaN (quiet), tiny values become subnormals or signed zero.
 */
export function float32ToHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  // Re-bias the exponent from 127 to 15.
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa, with its implicit 1, right and round to even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rest > half || (rest === half && (h & 1))) h++;
    return sign | h;
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // Round to nearest even; a carry into the exponent is correct (it may reach Infinity).
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
  return h;
}

/** Expand a binary16 pattern to the float32 value it denotes (exact). */
export function halfBitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Convert a whole array to binary16 patterns. */
export function toHalfBits(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToHalfBits(values[i]!);
  return out;
}

/** Expand binary16 patterns to float32 values. */
export function fromHalfBits(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfBitsToFloat32(bits[i]!);
  return out;
}

/**
 * The binary16 patterns of `values` if every element converts exactly (bit-exact round trip,
 * NaN payloads excluded), otherwise `null`. Used to store float data as fp16 losslessly.
 */
export function exactHalfBits(values: Float32Array): Uint16Array | null {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) return null;
    const h = float32ToHalfBits(v);
    f32[0] = halfBitsToFloat32(h);
    if (u32[0] !== words[i]) return null;
    out[i] = h;
  }
  return out;
}
