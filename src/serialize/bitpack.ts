/**
 * Pack small unsigned integers at `bits` bits each, least significant bit first, into bytes.
 *
 * @example
 * packBits([1, 2, 3], 2) // Uint8Array [0b111001]
 */
export function packBits(values: ArrayLike<number>, bits: number): Uint8Array {
  if (!(Number.isInteger(bits) && bits >= 1 && bits <= 16)) throw new Error(`packBits: bits must be 1..16, got ${bits}`);
  const out = new Uint8Array(Math.ceil((values.length * bits) / 8));
  const max = (1 << bits) - 1;
  let acc = 0;
  let nacc = 0;
  let o = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < 0 || v > max) throw new Error(`packBits: value ${v} at ${i} does not fit in ${bits} bits`);
    acc |= v << nacc;
    nacc += bits;
    while (nacc >= 8) {
      out[o++] = acc & 0xff;
      acc >>>= 8;
      nacc -= 8;
    }
  }
  if (nacc > 0) out[o] = acc & 0xff;
  return out;
}

/** Inverse of {@link packBits}: read `count` values of `bits` bits. */
export function unpackBits(bytes: Uint8Array, bits: number, count: number): Uint16Array {
  if (bytes.length * 8 < count * bits) throw new Error(`unpackBits: ${bytes.length} bytes cannot hold ${count} values of ${bits} bits`);
  const out = new Uint16Array(count);
  const mask = (1 << bits) - 1;
  let acc = 0;
  let nacc = 0;
  let p = 0;
  for (let i = 0; i < count; i++) {
    while (nacc < bits) {
      acc |= bytes[p++]! << nacc;
      nacc += 8;
    }
    out[i] = acc & mask;
    acc >>>= bits;
    nacc -= bits;
  }
  return out;
}

/**
 * Byte-plane shuffle: with `width`-byte elements, write all first bytes, then all second bytes...
 * Exponent bytes of floats then sit together and deflate far better.
 */
export function shuffleBytes(bytes: Uint8Array, width: number): Uint8Array {
  const n = bytes.length / width;
  const out = new Uint8Array(bytes.length);
  for (let b = 0; b < width; b++) for (let i = 0; i < n; i++) out[b * n + i] = bytes[i * width + b]!;
  return out;
}

/** Inverse of {@link shuffleBytes}. */
export function unshuffleBytes(bytes: Uint8Array, width: number): Uint8Array {
  const n = bytes.length / width;
  const out = new Uint8Array(bytes.length);
  for (let b = 0; b < width; b++) for (let i = 0; i < n; i++) out[i * width + b] = bytes[b * n + i]!;
  return out;
}
