/**
 * The quantized form of a model's weights, as handed from the quantizers to the container
 * (src/serialize) and the ONNX exporter. Pure data: no tensors, no tfjs.
 *
 * Invariant: for every entry, `dequantize(entry)` (see ./dequantize.ts) gives, bit for bit, the
 * float32 values held by the deployment model returned by `quantizeModel`. That is what lets the
 * container store the small form and still load back a model identical to the deployment one.
 */

/** IEEE-754 half precision: `bits[i]` is the binary16 pattern of element i. */
export interface Float16Tensor {
  kind: 'float16';
  shape: number[];
  bits: Uint16Array;
}

/**
 * Affine integer quantization: `value = (q - zeroPoint) * scale`, per tensor or per channel.
 * The zero point is an integer inside the q range, so 0.0 is exactly representable (q == zeroPoint).
 */
export interface AffineTensor {
  kind: 'affine';
  shape: number[];
  /** Storage type of `q`. */
  dtype: 'int8' | 'uint8' | 'uint16';
  /** Quantized values in row-major order. */
  q: Int8Array | Uint8Array | Uint16Array;
  /** One scale (per tensor) or one per channel (index along `axis`, see `axisCount`). Always > 0. */
  scales: Float32Array;
  /** Same length as `scales`. */
  zeroPoints: Int32Array;
  /** Channel axis (non-negative) for per-channel quantization, or `null` for per tensor. */
  axis: number | null;
  /**
   * Consecutive axes from `axis` whose combined index is the channel (default 1). A depthwise
   * kernel [kh, kw, C, M] with multiplier M > 1 has axis 2, axisCount 2: C*M channels.
   */
  axisCount?: number;
}

/**
 * Weight sharing: every non-zero element takes one of `centroids.length <= 2^bits` shared values;
 * zeros are not clustered and stay exactly zero (`assignments[i] === -1`).
 */
export interface CodebookTensor {
  kind: 'codebook';
  shape: number[];
  /** Index width b (2..8): at most 2^b centroids. */
  bits: number;
  /** Shared non-zero values (float32). */
  centroids: Float32Array;
  /** Per element: centroid index, or -1 for an exact zero. */
  assignments: Int16Array;
}

/** One weight's quantized form. */
export type QuantizedTensor = Float16Tensor | AffineTensor | CodebookTensor;

/**
 * Quantized forms keyed by weight name (the tfjs `originalName`, e.g. `dense_1/kernel`, the same
 * name that appears in model.json's weight manifest). Weights that were not quantized are absent.
 */
export type QuantizedWeights = Record<string, QuantizedTensor>;

/** Number of elements of a shape (1 for a scalar). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
