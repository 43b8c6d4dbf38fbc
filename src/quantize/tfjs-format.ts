import type * as tf from '@tensorflow/tfjs';
import type { QuantizedTensor } from './types.js';

/** Modes stock tfjs dequantizes at load time (tensorflowjs_converter's `--quantize_float16|uint8|uint16`). */
export const TFJS_QUANTIZATION_MODES = ['float16', 'uint8', 'uint16'] as const;

/** One of {@link TFJS_QUANTIZATION_MODES}. */
export type TfjsQuantizationMode = (typeof TFJS_QUANTIZATION_MODES)[number];

/** True when `mode` names a weight format stock tfjs reads (`fp16` is the SDK's alias of float16). */
export function isTfjsQuantizationMode(mode: string): boolean {
  return (TFJS_QUANTIZATION_MODES as readonly string[]).includes(mode) || mode === 'fp16';
}

/**
 * The weights-manifest form of a quantized record, as tensorflowjs_converter writes it: float16
 * bit patterns with `{dtype: 'float16'}`, or per-tensor uint8/uint16 codes with
 * `{dtype, scale, min}` that tfjs decodes as `q * scale + min`. Since `min = -zeroPoint * scale`,
 * that equals the record's `(q - zeroPoint) * scale` bit for bit (both products are exact in
 * float64). Returns `undefined` for records tfjs cannot read (int8, per-channel, codebook).
 *
 * @example
 * const w = toTfjsWeight({ name: 'w', shape: [3], dtype: 'float32' }, quantizeAffine(v, [3], { dtype: 'uint8' }));
 * // w.spec.quantization = { dtype: 'uint8', scale: 0.0039..., min: -0.5 }
 */
export function toTfjsWeight(
  spec: tf.io.WeightsManifestEntry,
  q: QuantizedTensor,
): { spec: tf.io.WeightsManifestEntry; bytes: Uint8Array } | undefined {
  const base = { name: spec.name, shape: [...spec.shape], dtype: 'float32' as const };
  if (q.kind === 'float16') {
    return { spec: { ...base, quantization: { dtype: 'float16' } }, bytes: new Uint8Array(q.bits.buffer, q.bits.byteOffset, q.bits.byteLength) };
  }
  if (q.kind !== 'affine' || q.axis !== null || q.dtype === 'int8') return undefined;
  const scale = q.scales[0]!;
  // `0 -` keeps a zero zero point from writing -0.
  const min = 0 - q.zeroPoints[0]! * scale;
  return {
    spec: { ...base, quantization: { dtype: q.dtype, scale, min } },
    bytes: new Uint8Array(q.q.buffer, q.q.byteOffset, q.q.byteLength),
  };
}
