import type * as tf from '@tensorflow/tfjs';
import { quantizeAffine } from '../../quantize/affine.js';
import { toHalfBits } from '../../quantize/half.js';
import { toTfjsWeight } from '../../quantize/tfjs-format.js';

/** Weight storage types tfjs's own loader dequantizes (tensorflowjs_converter's `--quantize_*`). */
export type TfjsQuantize = 'float16' | 'uint8' | 'uint16';

/** One weight re-encoded for the manifest. */
export interface EncodedWeight {
  spec: tf.io.WeightsManifestEntry;
  bytes: Uint8Array;
}

/**
 * Encode float32 weight values for a tfjs manifest with the SDK's one affine quantizer
 * (`quantizeAffine`, per tensor). tfjs decodes uint8/uint16 as `q * scale + min` and float16 bit
 * patterns directly (io_utils.decodeWeight), so stock `tf.loadLayersModel` reads these.
 *
 * A range containing 0 gets the quantizer's own grid (0 exact, so pruned zeros stay zero). A range
 * that excludes 0 (BN gammas and variances) is quantized as `x - min`, whose range [0, max - min]
 * starts at 0: the grid spans only the data, as tensorflowjs_converter's does, instead of being
 * widened to 0 and coarsened. Every value's rounding error is at most scale / 2.
 */
export function encodeWeight(spec: tf.io.WeightsManifestEntry, values: Float32Array, quantize: TfjsQuantize): EncodedWeight {
  if (quantize === 'float16') {
    const bits = toHalfBits(values);
    return { spec: { ...spec, quantization: { dtype: 'float16' } }, bytes: new Uint8Array(bits.buffer) };
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const shift = values.length > 0 && (lo > 0 || hi < 0) ? lo : 0;
  const shifted = shift === 0 ? values : Float32Array.from(values, (v) => v - shift);
  const enc = toTfjsWeight(spec, quantizeAffine(shifted, [shifted.length], { dtype: quantize }))!;
  const q = enc.spec.quantization!;
  return { spec: { ...enc.spec, shape: [...spec.shape], quantization: { ...q, min: q.min! + shift } }, bytes: enc.bytes.slice() };
}
