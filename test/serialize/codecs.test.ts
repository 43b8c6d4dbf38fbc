import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/data/dataset.js';
import { quantizeAffine } from '../../src/quantize/affine.js';
import { quantizeCodebook } from '../../src/quantize/codebook.js';
import { dequantize } from '../../src/quantize/dequantize.js';
import { toHalfBits } from '../../src/quantize/half.js';
import type { QuantizedTensor } from '../../src/quantize/types.js';
import { packBits, shuffleBytes, unpackBits, unshuffleBytes } from '../../src/serialize/bitpack.js';
import type { TensorSource } from '../../src/serialize/codecs.js';
import { crc32 } from '../../src/serialize/crc32.js';
import { decodeTensor, readContainer } from '../../src/serialize/decoder.js';
import { assembleContainer, encodeTensor, tensorCandidates, type EncodedTensor } from '../../src/serialize/encoder.js';

const rand = seededRandom(42);
const topology = { class_name: 'Sequential', config: { name: 't', layers: [] } };

function source(name: string, values: Float32Array, shape: number[], quant?: QuantizedTensor): TensorSource {
  return { name, shape, dtype: 'float32', words: new Uint32Array(values.buffer.slice(0)), quant };
}

/** Store one candidate in a real container and decode it back through the public reader. */
function roundTrip(c: EncodedTensor, asNodeBuffer = false): Uint8Array {
  const bytes = assembleContainer({ format: 'tfjs-compress-container', model: { modelTopology: topology }, tensors: [{ ...c.entry, offset: 0 }] }, c.payload);
  // As fs.readFile gives it: a Buffer inside a larger memory block (whose slice() shares memory).
  const input = asNodeBuffer ? Buffer.from(copyInto(bytes, 13).buffer, 13, bytes.length) : bytes;
  const parsed = readContainer(input);
  return decodeTensor(parsed, parsed.manifest.tensors[0]!);
}

/** `bytes` copied to offset `at` of a larger block filled with junk. */
function copyInto(bytes: Uint8Array, at: number): Uint8Array {
  const block = new Uint8Array(bytes.length + 2 * at).fill(0xa5);
  block.set(bytes, at);
  return block;
}

function sparseFloats(n: number, zeroFraction: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rand() < zeroFraction ? 0 : (rand() - 0.5) * 0.3;
  return v;
}

describe('building blocks', () => {
  it('crc32 matches the standard check value and zlib', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    const data = Uint8Array.from({ length: 10000 }, () => Math.floor(rand() * 256));
    expect(crc32(data)).toBe(zlibCrc32(data));
    expect(crc32(data.subarray(5000), crc32(data.subarray(0, 5000)))).toBe(zlibCrc32(data));
  });

  it('bit packing and byte shuffling round-trip', () => {
    for (let bits = 1; bits <= 12; bits++) {
      const v = Uint16Array.from({ length: 1001 }, () => Math.floor(rand() * 2 ** bits));
      const packed = packBits(v, bits);
      expect(packed.length).toBe(Math.ceil((1001 * bits) / 8));
      expect(unpackBits(packed, bits, 1001)).toEqual(v);
    }
    expect(packBits([1, 2, 3], 2)).toEqual(Uint8Array.of(0b111001));
    const b = Uint8Array.from({ length: 400 }, () => Math.floor(rand() * 256));
    expect(unshuffleBytes(shuffleBytes(b, 4), 4)).toEqual(b);
    expect(shuffleBytes(Uint8Array.of(1, 2, 3, 4, 5, 6), 2)).toEqual(Uint8Array.of(1, 3, 5, 2, 4, 6));
  });
});

describe('every encoding round-trips bit-exactly through a container', () => {
  const special = Float32Array.of(NaN, -0, 0, Infinity, -Infinity, 1e-45, -3.4e38, 1, 0, 0);
  const random = sparseFloats(3000, 0.1);
  random.set(special);
  const sparse = sparseFloats(4000, 0.9);
  const halfExact = new Float32Array(dequantize({ kind: 'float16', shape: [2000], bits: toHalfBits(sparseFloats(2000, 0.5)) }));
  const few = Float32Array.from({ length: 1500 }, (_, i) => [0, 0.25, -1.5, 3, -0][i % 5]!);
  const affineT = quantizeAffine(sparse, [40, 100], { dtype: 'int8', axis: 1 });
  const affineU = quantizeAffine(sparse, [40, 100], { dtype: 'uint8' });
  const cb = quantizeCodebook(sparse, [40, 100], { bits: 5 });
  const cbDense = quantizeCodebook(sparseFloats(4000, 0), [40, 100], { bits: 3 });
  const f16 = { kind: 'float16' as const, shape: [40, 100], bits: toHalfBits(sparse) };
  const sources: TensorSource[] = [
    source('random', random, [3000]),
    source('sparse', sparse, [40, 100]),
    source('half-exact', halfExact, [2000]),
    source('few-values', few, [30, 50]),
    source('affine-channel', dequantize(affineT), [40, 100], affineT),
    source('affine-tensor', dequantize(affineU), [40, 100], affineU),
    source('codebook', dequantize(cb), [40, 100], cb),
    source('codebook-dense', dequantize(cbDense), [40, 100], cbDense),
    source('float16', dequantize(f16), [40, 100], f16),
    { name: 'int32', shape: [500], dtype: 'int32', words: Uint32Array.from({ length: 500 }, (_, i) => (i % 3 ? i * 7919 : 0)) },
    source('tiny', Float32Array.of(0.5), [1]),
  ];
  const covered = new Set<string>();

  for (const src of sources) {
    it(`${src.name}: all candidates decode to the same bits; the smallest is chosen`, () => {
      const expected = new Uint8Array(src.words.buffer);
      let smallest = Infinity;
      let n = 0;
      for (const c of tensorCandidates(src)) {
        const v = c.entry.values;
        covered.add(`${v.kind}|${c.entry.layout}|${c.entry.compression}|${v.shuffle ?? ''}|${v.packing ?? ''}|${v.zeroSlot ?? ''}|${v.axis === undefined ? '' : v.axis === null ? 'tensor' : 'channel'}`);
        for (const asNodeBuffer of [false, true]) {
          const got = roundTrip(c, asNodeBuffer);
          const same = got.length === expected.length && got.every((b, i) => b === expected[i]);
          expect(same, `${src.name} via ${JSON.stringify(c.entry.values)} + ${c.entry.layout}${asNodeBuffer ? ' (Node Buffer)' : ''}`).toBe(true);
        }
        smallest = Math.min(smallest, c.payload.length);
        n++;
      }
      expect(n).toBeGreaterThan(0);
      // The writer's pick (with its fast pre-screen) is the smallest candidate.
      expect(encodeTensor(src).payload.length).toBe(smallest);
    });
  }

  it('covers every value kind, layout, packing, shuffle, zero slot and compression choice', () => {
    const has = (re: RegExp) => [...covered].some((k) => re.test(k));
    for (const re of [/^f32\|.*\|false\|/, /^f32\|.*\|true\|/, /^f16\|.*\|false\|/, /^f16\|.*\|true\|/, /^codebook\|.*\|bits\|/, /^codebook\|.*\|bytes\|/,
      /^codebook\|.*\|true\|$/, /^codebook\|.*\|false\|$/, /^affine\|.*\|tensor$/, /^affine\|.*\|channel$/,
      /\|dense\|/, /\|bitmask\|/, /\|delta\|/, /\|deflate\|/, /\|none\|/]) {
      expect(has(re), String(re)).toBe(true);
    }
  });
});

describe('never silently lossy', () => {
  it('float data that is not exactly fp16 / low-cardinality only gets exact f32 encodings', () => {
    const v = sparseFloats(2000, 0);
    const kinds = new Set([...tensorCandidates(source('w', v, [2000]))].map((c) => c.entry.values.kind));
    expect([...kinds]).toEqual(['f32']);
  });

  it('a quantized record that does not match the weights is refused, naming the tensor', () => {
    const v = sparseFloats(100, 0.5);
    const q = quantizeAffine(v, [100]);
    // The raw (not dequantized) values do not equal the record's values.
    expect(() => encodeTensor(source('dense_9/kernel', v, [100], q))).toThrow(/tensor 'dense_9\/kernel': the affine record does not reproduce/);
    expect(() => encodeTensor(source('k', dequantize(q), [10, 10], q))).toThrow(/record has shape \[100\], the model weight has \[10, 10\]/);
  });

  it('a sparse tensor is stored sparsely and much smaller than dense', () => {
    const v = sparseFloats(20000, 0.95);
    const best = encodeTensor(source('s', v, [20000]));
    expect(best.entry.layout).not.toBe('dense');
    expect(best.payload.length).toBeLessThan(20000 * 4 * 0.1);
  });
});
