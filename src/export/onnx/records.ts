import type { QuantizedTensor, QuantizedWeights } from '../../quantize/types.js';
import { decodeTensor, readContainer, tensorStreams, type ParsedContainer } from '../../serialize/decoder.js';
import type { TensorEntry } from '../../serialize/format.js';
import { unpackBits, unshuffleBytes } from '../../serialize/bitpack.js';

/*
 * The quantized form a `.tfjsc` container stores for each weight, read back as the records
 * `quantizeModel` produced (affine codes + scales + zero points, float16 bits, codebook centroids
 * + indices), so the ONNX exporter can write exactly those values instead of re-quantizing.
 */

/** One entry as a record, or undefined for plain float32 storage. */
function recordOf(c: ParsedContainer, e: TensorEntry): QuantizedTensor | undefined {
  const v = e.values;
  if (v.kind !== 'f16' && v.kind !== 'codebook' && v.kind !== 'affine') return undefined;
  // The full decode validates the entry (checksum, stream lengths, index ranges) before its streams are read.
  decodeTensor(c, e);
  const n = e.shape.reduce((a, b) => a * b, 1);
  const shape = [...e.shape];
  if (v.kind === 'f16') {
    const { positions, values } = tensorStreams(c, e);
    const raw = v.shuffle === true ? unshuffleBytes(values, 2) : values;
    const stored = new Uint16Array(raw.slice().buffer);
    const bits = new Uint16Array(n);
    stored.forEach((b, j) => (bits[positions ? positions[j]! : j] = b));
    return { kind: 'float16', shape, bits };
  }
  if (v.kind === 'codebook') {
    const k = v.k as number;
    const { side, positions, values } = tensorStreams(c, e);
    const stored = positions ? positions.length : n;
    const idx = v.packing === 'bytes' ? values : unpackBits(values, v.bits as number, stored);
    const off = v.zeroSlot ? 1 : 0;
    // Elements a sparse layout leaves out are exact zeros (-1).
    const assignments = new Int16Array(n).fill(-1);
    for (let j = 0; j < stored; j++) assignments[positions ? positions[j]! : j] = idx[j]! - off;
    return { kind: 'codebook', shape, bits: Math.max(2, Math.ceil(Math.log2(Math.max(2, k)))), centroids: new Float32Array(side.buffer), assignments };
  }
  if (v.kind === 'affine') {
    const channels = v.channels as number;
    const dtype = v.dtype as 'int8' | 'uint8' | 'uint16';
    const { side, positions, values } = tensorStreams(c, e);
    const scales = new Float32Array(side.slice(0, 4 * channels).buffer);
    const zb = side.slice(4 * channels);
    const zeroPoints = Int32Array.from(dtype === 'int8' ? new Int8Array(zb.buffer) : dtype === 'uint16' ? new Uint16Array(zb.buffer) : zb);
    const codes = dtype === 'int8' ? new Int8Array(values.buffer) : dtype === 'uint16' ? new Uint16Array(values.buffer) : values;
    const q = dtype === 'int8' ? new Int8Array(n) : dtype === 'uint16' ? new Uint16Array(n) : new Uint8Array(n);
    const axis = v.axis as number | null;
    const axisCount = (v.axisCount as number | undefined) ?? 1;
    if (positions) {
      // Left-out elements are exact zeros: q = the channel's zero point.
      let stride = 1;
      for (let d = (axis ?? 0) + axisCount; d < shape.length; d++) stride *= shape[d]!;
      for (let i = 0; i < n; i++) q[i] = zeroPoints[axis === null ? 0 : Math.floor(i / stride) % channels]!;
    }
    codes.forEach((x, j) => (q[positions ? positions[j]! : j] = x));
    return { kind: 'affine', shape, dtype, q, scales, zeroPoints, axis, ...(axisCount > 1 ? { axisCount } : {}) };
  }
  return undefined;
}

/**
 * The quantized records held by a `.tfjsc` container: every weight stored as affine int8/uint8/uint16,
 * float16 or codebook, keyed by weight name. Each record dequantizes bit for bit to the weight the
 * container decodes to (the container's own invariant).
 *
 * @example
 * const records = recordsFromContainer(readFileSync('model.tfjsc'));
 * await saveOnnx(await loadContainer('model.tfjsc'), 'model.onnx', { records });
 */
export function recordsFromContainer(bytes: Uint8Array): QuantizedWeights {
  const c = readContainer(bytes);
  const out: QuantizedWeights = {};
  for (const e of c.manifest.tensors) {
    if (e.dtype !== 'float32') continue;
    const r = recordOf(c, e);
    if (r) out[e.name] = r;
  }
  return out;
}
