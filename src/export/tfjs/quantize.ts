import type * as tf from '@tensorflow/tfjs';
import { toHalfBits } from '../../quantize/half.js';

/** Weight storage types tfjs's own loader dequantizes (tensorflowjs_converter's `--quantize_*`). */
export type TfjsQuantize = 'float16' | 'uint8' | 'uint16';

/** One weight re-encoded for the manifest. */
export interface EncodedWeight {
  spec: tf.io.WeightsManifestEntry;
  bytes: Uint8Array;
}

/**
 * Affine uint8/uint16 parameters as tensorflowjs_converter computes them: scale = (max - min) / qmax;
 * when the range contains 0, min is nudged to a multiple of scale so 0 is exactly representable
 * (pruned zeros stay zero). A range that excludes 0 (BN gammas and variances) keeps min as is:
 * nudging it would shift the grid off the data and clip one end. Every in-range value's rounding
 * error is at most scale / 2, and values already on such a grid (a model loaded from a uint8
 * manifest) are re-encoded exactly.
 */
export function affineParams(data: Float32Array, qmax: number): { scale: number; min: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) return { scale: 1, min: Number.isFinite(lo) ? lo : 0 };
  const scale = (hi - lo) / qmax;
  if (lo > 0 || hi < 0) return { scale, min: lo };
  const zeroPoint = Math.round(-lo / scale);
  // -0 would serialise as 0 anyway; normalise so equality checks stay simple.
  return { scale, min: zeroPoint === 0 ? 0 : -zeroPoint * scale };
}

/**
 * Encode float32 weight values for a tfjs manifest. tfjs decodes uint8/uint16 as `q * scale + min`
 * and float16 bit patterns directly (io_utils.decodeWeight), so stock `tf.loadLayersModel` reads these.
 */
export function encodeWeight(spec: tf.io.WeightsManifestEntry, values: Float32Array, quantize: TfjsQuantize): EncodedWeight {
  if (quantize === 'float16') {
    const bits = toHalfBits(values);
    return { spec: { ...spec, quantization: { dtype: 'float16' } }, bytes: new Uint8Array(bits.buffer) };
  }
  const qmax = quantize === 'uint8' ? 255 : 65535;
  const { scale, min } = affineParams(values, qmax);
  const q = quantize === 'uint8' ? new Uint8Array(values.length) : new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) q[i] = Math.max(0, Math.min(qmax, Math.round((values[i]! - min) / scale)));
  return { spec: { ...spec, quantization: { dtype: quantize, scale, min } }, bytes: new Uint8Array(q.buffer) };
}
