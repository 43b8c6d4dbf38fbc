import { channelLayout } from './dequantize.js';

/*
 * Which axes of a weight are its output channels: per-channel scales run along them, and the
 * reconstruction guard measures the error of each channel on its own (a following batch norm or
 * activation scale can amplify any single channel, so one wiped-out channel breaks a model even
 * when the tensor-wide error looks small).
 */

/** Output-channel axes of a weight: `count` consecutive axes from `axis` (non-negative); `null` = the whole tensor is one channel. */
export interface ChannelAxes {
  axis: number;
  count: number;
}

/**
 * Depthwise kernels are [kh, kw, C, M]: channel c*M+m is output channel c*M+m of the op, so with
 * a multiplier M > 1 the channels run over axes 2 and 3 together, else over axis 2 alone.
 */
export function depthwiseAxes(shape: readonly number[]): ChannelAxes {
  return { axis: 2, count: (shape[3] ?? 1) > 1 ? 2 : 1 };
}

/**
 * The output-channel axes of a layers-model weight, from its layer class and weight name:
 * depthwise kernels (DepthwiseConv2D, SeparableConv2D) as {@link depthwiseAxes}, Conv2DTranspose
 * kernels [h, w, out, in] on axis 2, Embedding tables per row (each token's vector, axis 0), and
 * every other kernel (Dense, Conv, LSTM/GRU kernels and recurrent kernels, whose last axis is
 * gates x units) on its last axis. Rank-0/1 weights (biases, norm parameters) are `null`: one channel.
 *
 * @example
 * layerChannelAxes('DepthwiseConv2D', 'depthwise_kernel', [3, 3, 32, 1]); // { axis: 2, count: 1 }
 */
export function layerChannelAxes(className: string, weight: string, shape: readonly number[]): ChannelAxes | null {
  const rank = shape.length;
  if (rank <= 1) return null;
  if (weight === 'depthwise_kernel' && rank === 4) return depthwiseAxes(shape);
  if (className === 'Conv2DTranspose' && weight === 'kernel') return { axis: 2, count: 1 };
  if (className === 'Embedding' && weight === 'embeddings') return { axis: 0, count: 1 };
  return { axis: rank - 1, count: 1 };
}

/** Reconstruction error of a quantized tensor, as {@link reconstructionError} measures it. */
export interface ReconstructionError {
  /** ||w - q(w)|| / ||w|| over the whole tensor (0 for an all-zero tensor reproduced exactly). */
  tensor: number;
  /** The same ratio for the worst output channel (see {@link CHANNEL_NORM_FLOOR}): the figure the guard bounds. */
  channel: number;
  /** Index of that channel. */
  worst: number;
}

/**
 * A channel is measured against at least this fraction of the tensor's RMS scale: a channel of
 * near-zero weights (1e-20, as trained MobileNets have) that stays near zero is harmless, while
 * one rebuilt from a shared centroid far above its scale is not.
 */
export const CHANNEL_NORM_FLOOR = 0.01;

/**
 * Relative RMS reconstruction error over the whole tensor and per output channel (the worst is
 * reported): `||w_c - q(w_c)|| / max(||w_c||, CHANNEL_NORM_FLOOR * rms(w) * sqrt(n_c))`. An
 * all-zero tensor counts as exact when it stays zero and as infinitely wrong otherwise.
 *
 * @example
 * reconstructionError(w, dequantize(q), [3, 3, 8, 1], { axis: 2, count: 1 }); // { tensor: 0.004, channel: 0.011, worst: 5 }
 */
export function reconstructionError(original: Float32Array, reconstructed: Float32Array, shape: readonly number[], axes: ChannelAxes | null): ReconstructionError {
  const { stride, length } = axes === null ? { stride: original.length || 1, length: 1 } : channelLayout(shape, axes.axis, axes.count);
  const err = new Float64Array(length);
  const norm = new Float64Array(length);
  for (let i = 0; i < original.length; i++) {
    const c = Math.floor(i / stride) % length;
    const o = original[i]!;
    const d = o - reconstructed[i]!;
    err[c] += d * d;
    norm[c] += o * o;
  }
  let e = 0;
  let n = 0;
  for (let c = 0; c < length; c++) {
    e += err[c]!;
    n += norm[c]!;
  }
  const ratio = (a: number, b: number) => (b > 0 ? Math.sqrt(a / b) : a > 0 ? Infinity : 0);
  // (FLOOR * rms(w))^2 * (elements per channel) = FLOOR^2 * ||w||^2 / channels.
  const floor2 = (CHANNEL_NORM_FLOOR ** 2 * n) / length;
  let channel = 0;
  let worst = 0;
  for (let c = 0; c < length; c++) {
    const r = ratio(err[c]!, Math.max(norm[c]!, floor2));
    if (r > channel) [channel, worst] = [r, c];
  }
  return { tensor: ratio(e, n), channel, worst };
}
