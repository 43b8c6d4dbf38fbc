import { channelLayout } from './dequantize.js';
import { sizeOf, type AffineTensor } from './types.js';

/** Options for {@link quantizeAffine}. */
export interface AffineArgs {
  /** Storage type: `int8` (q in -128..127, default), `uint8` (0..255) or `uint16` (0..65535). */
  dtype?: 'int8' | 'uint8' | 'uint16';
  /**
   * Channel axis for per-channel scales (e.g. the last axis, the output channel of a Dense or
   * Conv2D kernel), or `null`/absent for one scale for the whole tensor. Negative counts from the end.
   */
  axis?: number | null;
  /** Consecutive axes from `axis` forming the channel index (default 1; 2 for a depthwise kernel with multiplier > 1). */
  axisCount?: number;
  /**
   * int8 only: symmetric range, zero point 0 and scale = max|x| / 127 with q in -127..127 (what
   * onnxruntime's `quantize_static` uses for weights, and what integer kernels want: no weight zero
   * point to subtract). Default false: the asymmetric range [min(x, 0), max(x, 0)].
   */
  symmetric?: boolean;
}

const RANGES = { int8: [-128, 127], uint8: [0, 255], uint16: [0, 65535] } as const;

/** Scale and zero point for values in [lo, hi]; the range is widened to contain 0 so 0 is exact. */
function params(lo: number, hi: number, qmin: number, qmax: number): [number, number] {
  lo = Math.min(lo, 0);
  hi = Math.max(hi, 0);
  const scale = Math.fround((hi - lo) / (qmax - qmin));
  // An all-zero channel: any positive scale works; zero point must be a valid q.
  if (!(scale > 0) || !Number.isFinite(scale)) return [1, Math.max(qmin, Math.min(qmax, 0))];
  const zp = Math.max(qmin, Math.min(qmax, Math.round(qmin - lo / scale)));
  return [scale, zp];
}

/**
 * Scale and zero point of a value range [lo, hi] (widened to contain 0) for a storage type: the
 * per-tensor parameters of {@link quantizeAffine}, also used for calibrated activation ranges
 * (onnxruntime's `compute_scale_zp`: scale = (hi - lo) / (qmax - qmin), zp = round(qmin - lo / scale)).
 *
 * @example affineRangeParams(0, 6, 'uint8'); // { scale: 6 / 255, zeroPoint: 0 }
 */
export function affineRangeParams(lo: number, hi: number, dtype: 'int8' | 'uint8' | 'uint16'): { scale: number; zeroPoint: number } {
  if (!(dtype in RANGES)) throw new Error(`affine quantization: dtype must be int8, uint8 or uint16, got '${dtype}'`);
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) throw new Error(`affine quantization: range [${lo}, ${hi}] is not a finite interval`);
  const [s, z] = params(lo, hi, RANGES[dtype][0], RANGES[dtype][1]);
  return { scale: s, zeroPoint: z };
}

/** Symmetric scale for max |x| = `m` (zero point 0); an all-zero channel gets scale 1. */
function symmetricParams(m: number, qmax: number): [number, number] {
  const scale = Math.fround(m / qmax);
  return scale > 0 && Number.isFinite(scale) ? [scale, 0] : [1, 0];
}

/**
 * Affine (asymmetric, or symmetric with `symmetric: true`) 8-bit (or 16-bit) quantization with an integer zero point, so 0.0 maps to q == zeroPoint
 * and pruned zeros stay exactly zero. Error bound per element: |x - dequantize(q)| <= scale / 2
 * (plus one float32 rounding).
 *
 * @example
 * const t = quantizeAffine(values, [784, 300], { dtype: 'int8', axis: -1 }); // per output channel
 * const d = quantizeAffine(dw, [3, 3, 32, 2], { axis: 2, axisCount: 2 }); // depthwise: 64 channels
 * const s = quantizeAffine(kernel, [3, 3, 1, 32], { axis: 3, symmetric: true }); // ONNX integer-kernel weights
 */
export function quantizeAffine(values: Float32Array, shape: number[], args: AffineArgs = {}): AffineTensor {
  const dtype = args.dtype ?? 'int8';
  if (!(dtype in RANGES)) throw new Error(`affine quantization: dtype must be int8, uint8 or uint16, got '${dtype}'`);
  const symmetric = args.symmetric ?? false;
  if (symmetric && dtype !== 'int8') throw new Error(`affine quantization: symmetric needs dtype int8, got '${dtype}'`);
  // Symmetric int8 leaves -128 unused so the grid is the same on both sides of zero.
  const [qmin, qmax] = symmetric ? [-127, 127] : RANGES[dtype];
  if (values.length !== sizeOf(shape)) {
    throw new Error(`affine quantization: ${values.length} values do not match shape [${shape.join(', ')}]`);
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) throw new Error(`affine quantization: element ${i} is ${values[i]}, expected a finite number`);
  }
  let axis: number | null = args.axis ?? null;
  if (axis !== null && axis < 0) axis += shape.length;
  const axisCount = axis === null ? 1 : (args.axisCount ?? 1);
  const { stride, length } = axis === null ? { stride: values.length || 1, length: 1 } : channelLayout(shape, axis, axisCount);
  const lo = new Float64Array(length).fill(Infinity);
  const hi = new Float64Array(length).fill(-Infinity);
  for (let i = 0; i < values.length; i++) {
    const c = Math.floor(i / stride) % length;
    const v = values[i]!;
    if (v < lo[c]!) lo[c] = v;
    if (v > hi[c]!) hi[c] = v;
  }
  const scales = new Float32Array(length);
  const zeroPoints = new Int32Array(length);
  for (let c = 0; c < length; c++) {
    const l = lo[c] === Infinity ? 0 : lo[c]!;
    const h = hi[c] === -Infinity ? 0 : hi[c]!;
    const m = Math.max(Math.abs(l), Math.abs(h));
    const [s, z] = symmetric ? symmetricParams(m, qmax) : params(l, h, qmin, qmax);
    scales[c] = s;
    zeroPoints[c] = z;
  }
  const q = dtype === 'int8' ? new Int8Array(values.length) : dtype === 'uint8' ? new Uint8Array(values.length) : new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = Math.floor(i / stride) % length;
    const v = values[i]!;
    // Exact zeros are mapped explicitly (robust against -0 and rounding of zp).
    q[i] = v === 0 ? zeroPoints[c]! : Math.max(qmin, Math.min(qmax, Math.round(v / scales[c]!) + zeroPoints[c]!));
  }
  return { kind: 'affine', shape: [...shape], dtype, q, scales, zeroPoints, axis, ...(axisCount > 1 ? { axisCount } : {}) };
}
