import { halfBitsToFloat32 } from './half.js';
import { sizeOf, type AffineTensor, type QuantizedTensor } from './types.js';

/**
 * Stride of one channel step and the channel count, for per-channel addressing of a row-major
 * tensor: element i belongs to channel `Math.floor(i / stride) % length`. The channel index runs
 * over `count` consecutive axes from `axis` (a depthwise kernel [kh, kw, C, M]: axis 2, count 2,
 * C*M channels).
 *
 * @example
 * channelLayout([3, 3, 8, 2], 2, 2); // { stride: 1, length: 16 }
 */
export function channelLayout(shape: readonly number[], axis: number, count = 1): { stride: number; length: number } {
  if (!(Number.isInteger(axis) && axis >= 0 && axis < shape.length)) {
    throw new Error(`channel axis ${axis} is out of range for shape [${shape.join(', ')}]`);
  }
  if (!(Number.isInteger(count) && count >= 1 && axis + count <= shape.length)) {
    throw new Error(`channel axes ${axis}..${axis + count - 1} are out of range for shape [${shape.join(', ')}]`);
  }
  let stride = 1;
  for (let d = axis + count; d < shape.length; d++) stride *= shape[d]!;
  let length = 1;
  for (let d = axis; d < axis + count; d++) length *= shape[d]!;
  return { stride, length };
}

/** Dequantize one affine element; float32 rounding happens once, as in ONNX DequantizeLinear. */
function affineValues(t: AffineTensor): Float32Array {
  const out = new Float32Array(t.q.length);
  if (t.axis === null) {
    const s = t.scales[0]!;
    const z = t.zeroPoints[0]!;
    for (let i = 0; i < out.length; i++) out[i] = (t.q[i]! - z) * s;
    return out;
  }
  const { stride, length } = channelLayout(t.shape, t.axis, t.axisCount);
  for (let i = 0; i < out.length; i++) {
    const c = Math.floor(i / stride) % length;
    out[i] = (t.q[i]! - t.zeroPoints[c]!) * t.scales[c]!;
  }
  return out;
}

/**
 * The float32 values a quantized tensor stands for. Deterministic and pure, so the quantizer,
 * the container decoder and tests all agree bit for bit.
 *
 * @example
 * const w = dequantize(result.quantized['dense_1/kernel']!); // Float32Array
 */
export function dequantize(t: QuantizedTensor): Float32Array {
  const n = sizeOf(t.shape);
  let out: Float32Array;
  switch (t.kind) {
    case 'float16': {
      out = new Float32Array(t.bits.length);
      for (let i = 0; i < out.length; i++) out[i] = halfBitsToFloat32(t.bits[i]!);
      break;
    }
    case 'affine':
      out = affineValues(t);
      break;
    case 'codebook': {
      out = new Float32Array(t.assignments.length);
      for (let i = 0; i < out.length; i++) {
        const a = t.assignments[i]!;
        out[i] = a < 0 ? 0 : t.centroids[a]!;
      }
      break;
    }
    default:
      throw new Error(`dequantize: unknown quantized kind '${(t as { kind: string }).kind}'`);
  }
  if (out.length !== n) {
    throw new Error(`dequantize: ${t.kind} tensor holds ${out.length} values but its shape [${t.shape.join(', ')}] needs ${n}`);
  }
  return out;
}
