import { dequantize, channelLayout } from '../quantize/dequantize.js';
import { exactHalfBits, halfBitsToFloat32 } from '../quantize/half.js';
import type { QuantizedTensor } from '../quantize/types.js';
import { bytesOf, concatBytes, wordsOf } from './bytes.js';
import { packBits, shuffleBytes, unpackBits, unshuffleBytes } from './bitpack.js';

/** Manifest description of a value stream: `kind` picks the codec, the rest are its parameters. */
export interface ValueSpec {
  kind: string;
  [key: string]: unknown;
}

/** One weight as the encoder sees it. */
export interface TensorSource {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  /** Bit pattern of every element (float32 or int32), row-major. */
  words: Uint32Array;
  /** Quantized form, when the weight was quantized; must reproduce `words` exactly. */
  quant?: QuantizedTensor;
}

/** One way to represent a tensor's values; layouts decide which elements get stored. */
export interface ValueCandidate {
  /** Side data stored before positions and values (centroids, scales...). */
  side: Uint8Array;
  /** 1 where the element is an exact +0 in this representation (sparse layouts may skip it); null if none. */
  zero: Uint8Array | null;
  /** Value-stream variants for the stored elements (`null` = all elements, dense). */
  streams(select: Int32Array | null): { spec: ValueSpec; bytes: Uint8Array }[];
}

/** A value codec: proposes candidates when encoding, validates and decodes when reading. */
export interface ValueCodec {
  kind: string;
  candidates(src: TensorSource): ValueCandidate[];
  /** Validate the spec and return the side-data size in bytes. */
  sideBytes(spec: ValueSpec, shape: number[], what: string): number;
  /** Size of the value stream holding `stored` elements. */
  valueBytes(spec: ValueSpec, stored: number): number;
  /** Bit patterns of the stored elements (positions: null for dense). */
  decode(spec: ValueSpec, side: Uint8Array, values: Uint8Array, positions: Int32Array | null, shape: number[], what: string): Uint32Array;
}

function zeroMask(n: number, isZero: (i: number) => boolean): Uint8Array | null {
  const m = new Uint8Array(n);
  let any = false;
  for (let i = 0; i < n; i++) if (isZero(i)) (m[i] = 1), (any = true);
  return any ? m : null;
}

function gather<T extends Uint32Array | Uint16Array | Uint8Array | Int16Array>(a: T, select: Int32Array | null): T {
  if (!select) return a;
  const out = new (a.constructor as { new (n: number): T })(select.length);
  for (let j = 0; j < select.length; j++) out[j] = a[select[j]!]!;
  return out;
}

/** Quantized records must reproduce the model's weights bit for bit, or storing them would be silently lossy. */
function verifyRecord(src: TensorSource, q: QuantizedTensor): void {
  if (q.shape.length !== src.shape.length || q.shape.some((d, i) => d !== src.shape[i])) {
    throw new Error(`tensor '${src.name}': quantized record has shape [${q.shape.join(', ')}], the model weight has [${src.shape.join(', ')}]`);
  }
  const deq = new Uint32Array(dequantize(q).buffer);
  for (let i = 0; i < deq.length; i++) {
    if (deq[i] !== src.words[i]) {
      const f = new Float32Array(Uint32Array.of(src.words[i]!, deq[i]!).buffer);
      throw new Error(
        `tensor '${src.name}': the ${q.kind} record does not reproduce the model's weights (element ${i}: model ${f[0]}, record ${f[1]}); pack the deployment model returned by quantizeModel with its own record`,
      );
    }
  }
}

function checkInt(spec: ValueSpec, key: string, lo: number, hi: number, what: string): number {
  const v = spec[key];
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi)) {
    throw new Error(`${what}: value encoding '${spec.kind}' needs '${key}' to be an integer in ${lo}..${hi}, got ${JSON.stringify(v)}`);
  }
  return v;
}

const f32: ValueCodec = {
  kind: 'f32',
  candidates(src) {
    const w = src.words;
    return [{
      side: new Uint8Array(0),
      zero: zeroMask(w.length, (i) => w[i] === 0),
      streams(select) {
        const bytes = bytesOf(gather(w, select));
        return [{ spec: { kind: 'f32', shuffle: false }, bytes }, { spec: { kind: 'f32', shuffle: true }, bytes: shuffleBytes(bytes, 4) }];
      },
    }];
  },
  sideBytes: () => 0,
  valueBytes: (_spec, stored) => stored * 4,
  decode(spec, _side, values) {
    return wordsOf(spec.shuffle === true ? unshuffleBytes(values, 4) : values);
  },
};

const f16: ValueCodec = {
  kind: 'f16',
  candidates(src) {
    if (src.dtype !== 'float32') return [];
    let bits: Uint16Array | null;
    if (src.quant?.kind === 'float16') {
      verifyRecord(src, src.quant);
      bits = src.quant.bits;
    } else {
      // Lossless only: offered when every value is exactly representable in fp16.
      bits = exactHalfBits(new Float32Array(src.words.buffer, src.words.byteOffset, src.words.length));
    }
    if (!bits) return [];
    const h = bits;
    return [{
      side: new Uint8Array(0),
      zero: zeroMask(h.length, (i) => h[i] === 0),
      streams(select) {
        const bytes = bytesOf(gather(h, select));
        return [{ spec: { kind: 'f16', shuffle: false }, bytes }, { spec: { kind: 'f16', shuffle: true }, bytes: shuffleBytes(bytes, 2) }];
      },
    }];
  },
  sideBytes: () => 0,
  valueBytes: (_spec, stored) => stored * 2,
  decode(spec, _side, values) {
    const raw = spec.shuffle === true ? unshuffleBytes(values, 2) : values.slice();
    const h = new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2);
    const out = new Float32Array(h.length);
    for (let i = 0; i < h.length; i++) out[i] = halfBitsToFloat32(h[i]!);
    return new Uint32Array(out.buffer);
  },
};

const width = (slots: number) => Math.max(1, Math.ceil(Math.log2(slots)));

const codebook: ValueCodec = {
  kind: 'codebook',
  candidates(src) {
    const w = src.words;
    let centroidWords: Uint32Array;
    let assign: Int16Array;
    if (src.quant?.kind === 'codebook') {
      verifyRecord(src, src.quant);
      centroidWords = new Uint32Array(Float32Array.from(src.quant.centroids).buffer);
      assign = src.quant.assignments;
    } else {
      // Lossless auto-detection: few distinct non-zero bit patterns (e.g. a shared-weight model
      // saved as plain tfjs, or per-tensor int8) become a codebook of exact words.
      const index = new Map<number, number>();
      for (let i = 0; i < w.length; i++) {
        if (w[i] !== 0 && !index.has(w[i]!)) {
          if (index.size === 256) return [];
          index.set(w[i]!, index.size);
        }
      }
      if (index.size === 0) return [];
      centroidWords = Uint32Array.from(index.keys());
      assign = new Int16Array(w.length);
      for (let i = 0; i < w.length; i++) assign[i] = w[i] === 0 ? -1 : index.get(w[i]!)!;
    }
    const k = centroidWords.length;
    // All zeros: nothing to index (f32 with a sparse layout stores it in 0 bytes).
    if (k === 0) return [];
    const a = assign;
    const zero = zeroMask(a.length, (i) => a[i]! < 0);
    return [{
      side: bytesOf(centroidWords),
      zero,
      streams(select) {
        const zeroSlot = select === null && zero !== null;
        const stored = gather(a, select);
        const idx = new Uint16Array(stored.length);
        for (let j = 0; j < idx.length; j++) idx[j] = zeroSlot ? stored[j]! + 1 : stored[j]!;
        const bits = width(k + (zeroSlot ? 1 : 0));
        const out = [{ spec: { kind: 'codebook', k, bits, packing: 'bits', zeroSlot }, bytes: packBits(idx, bits) }];
        // One index per byte lets deflate's Huffman stage entropy-code the indices.
        if (bits < 8) out.push({ spec: { kind: 'codebook', k, bits, packing: 'bytes', zeroSlot }, bytes: Uint8Array.from(idx) });
        return out;
      },
    }];
  },
  sideBytes(spec, _shape, what) {
    const k = checkInt(spec, 'k', 1, 65535, what);
    const bits = checkInt(spec, 'bits', 1, 16, what);
    if (typeof spec.zeroSlot !== 'boolean') throw new Error(`${what}: codebook 'zeroSlot' must be a boolean`);
    if (spec.packing !== 'bits' && spec.packing !== 'bytes') throw new Error(`${what}: unknown codebook packing '${String(spec.packing)}'`);
    if (spec.packing === 'bytes' && bits > 8) throw new Error(`${what}: codebook byte packing needs bits <= 8, got ${bits}`);
    if (k + (spec.zeroSlot ? 1 : 0) > 2 ** bits) throw new Error(`${what}: ${k} centroids do not fit in ${bits}-bit indices`);
    return 4 * k;
  },
  valueBytes: (spec, stored) => (spec.packing === 'bytes' ? stored : Math.ceil((stored * (spec.bits as number)) / 8)),
  decode(spec, side, values, positions, shape, what) {
    const cw = wordsOf(side);
    const stored = positions ? positions.length : shape.reduce((p, d) => p * d, 1);
    const idx = spec.packing === 'bytes' ? values : unpackBits(values, spec.bits as number, stored);
    const out = new Uint32Array(stored);
    const off = spec.zeroSlot ? 1 : 0;
    for (let j = 0; j < stored; j++) {
      const c = idx[j]! - off;
      if (c >= cw.length) throw new Error(`${what}: codebook index ${idx[j]} is past the ${cw.length} centroids`);
      out[j] = c < 0 ? 0 : cw[c]!;
    }
    return out;
  },
};

/** Bytes per stored code (and zero point) of an affine stream. */
const codeBytes = (spec: ValueSpec) => (spec.dtype === 'uint16' ? 2 : 1);

const affine: ValueCodec = {
  kind: 'affine',
  candidates(src) {
    const q = src.quant;
    if (q?.kind !== 'affine') return [];
    verifyRecord(src, q);
    const { stride, length } = q.axis === null ? { stride: q.q.length || 1, length: 1 } : channelLayout(q.shape, q.axis, q.axisCount);
    const zps = q.dtype === 'uint16' ? Uint16Array.from(q.zeroPoints) : Uint8Array.from(q.zeroPoints, (z) => z & 0xff);
    const side = concatBytes([bytesOf(q.scales), bytesOf(zps)]);
    // Codes as stored: one byte each, or two (little-endian) for uint16.
    const codes = q.dtype === 'uint16' ? (q.q as Uint16Array) : new Uint8Array(q.q.buffer, q.q.byteOffset, q.q.length);
    const zero = zeroMask(codes.length, (i) => q.q[i] === q.zeroPoints[Math.floor(i / stride) % length]);
    return [{
      side,
      zero,
      streams(select) {
        // `axisCount` only when > 1, so per-channel records of older readers keep their exact manifest.
        const span = q.axis !== null && (q.axisCount ?? 1) > 1 ? { axisCount: q.axisCount } : {};
        return [{ spec: { kind: 'affine', dtype: q.dtype, axis: q.axis, ...span, channels: length }, bytes: bytesOf(gather(codes, select)) }];
      },
    }];
  },
  sideBytes(spec, shape, what) {
    if (spec.dtype !== 'int8' && spec.dtype !== 'uint8' && spec.dtype !== 'uint16') {
      throw new Error(`${what}: affine dtype must be int8, uint8 or uint16, got ${JSON.stringify(spec.dtype)}`);
    }
    const channels = checkInt(spec, 'channels', 1, 2 ** 31, what);
    if (spec.axis === null) {
      if (channels !== 1) throw new Error(`${what}: per-tensor affine needs channels 1, got ${channels}`);
    } else {
      const axis = checkInt(spec, 'axis', 0, shape.length - 1, what);
      const count = spec.axisCount === undefined ? 1 : checkInt(spec, 'axisCount', 2, shape.length - axis, what);
      const have = channelLayout(shape, axis, count).length;
      if (have !== channels) throw new Error(`${what}: affine axis ${axis}${count > 1 ? ` (${count} axes)` : ''} has ${have} channels, ${channels} declared`);
    }
    return channels * (4 + codeBytes(spec));
  },
  valueBytes: (spec, stored) => stored * codeBytes(spec),
  decode(spec, side, values, positions, shape, what) {
    const channels = spec.channels as number;
    const scales = new Float32Array(side.slice(0, channels * 4).buffer);
    const zpBytes = side.slice(channels * 4);
    const zps = spec.dtype === 'int8' ? new Int8Array(zpBytes.buffer) : spec.dtype === 'uint16' ? new Uint16Array(zpBytes.buffer) : zpBytes;
    const own = values.slice();
    const qs = spec.dtype === 'int8' ? new Int8Array(own.buffer) : spec.dtype === 'uint16' ? new Uint16Array(own.buffer) : own;
    const { stride, length } = spec.axis === null ? { stride: Infinity, length: 1 } : channelLayout(shape, spec.axis as number, (spec.axisCount as number | undefined) ?? 1);
    for (let c = 0; c < channels; c++) {
      if (!(scales[c]! > 0 && Number.isFinite(scales[c]!))) throw new Error(`${what}: affine scale ${c} is ${scales[c]}, expected a finite positive number`);
    }
    const out = new Float32Array(qs.length);
    for (let j = 0; j < qs.length; j++) {
      const p = positions ? positions[j]! : j;
      const c = length === 1 ? 0 : Math.floor(p / stride) % length;
      out[j] = (qs[j]! - zps[c]!) * scales[c]!;
    }
    return new Uint32Array(out.buffer);
  },
};

const CODECS = new Map<string, ValueCodec>([f32, f16, codebook, affine].map((c) => [c.kind, c]));

/** Look up a value codec by its manifest `kind`. */
export function getCodec(kind: unknown, what: string): ValueCodec {
  const c = CODECS.get(kind as string);
  if (!c) throw new Error(`${what}: unknown value encoding '${String(kind)}' (this reader knows ${[...CODECS.keys()].join(', ')})`);
  return c;
}

/** All registered value codecs (the encoder tries each). */
export function allCodecs(): ValueCodec[] {
  return [...CODECS.values()];
}
