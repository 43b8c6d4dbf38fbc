import { countNonZeros } from '../model/summary.js';
import { reconstructionError, type ChannelAxes, type ReconstructionError } from './channels.js';
import { dequantize } from './dequantize.js';
import { getQuantizer } from './quantizers.js';
import type { QuantizedTensor } from './types.js';

/**
 * Default bound on a tensor's reconstruction error: the worst output channel's relative RMS
 * error (see `reconstructionError`), i.e. noise at half the signal of some channel. Measured on
 * the real fixtures: int8 per channel stays under 0.02 and float16 under 0.001 on every kernel;
 * 4- and 5-bit codebooks and per-tensor int8 of healthy tensors reach 0.1-0.41; the tensors that
 * break models (a small depthwise channel rebuilt from a shared centroid, a channel rounded away
 * by a tensor-wide uint8 scale) measure 0.55 to 7.
 */
export const DEFAULT_MAX_TENSOR_ERROR = 0.5;

/** The mode name of a tensor kept unquantized. */
export const FLOAT32 = 'float32';

/** Throw one line unless `bound` is absent, a positive number or Infinity. */
export function checkMaxTensorError(bound: number | undefined): void {
  if (bound !== undefined && !(bound > 0)) throw new Error(`quantize: maxTensorError must be a number > 0 (or Infinity to turn the check off), got ${bound}`);
}

/** Options of {@link quantizeGuarded}. */
export interface GuardArgs {
  /** Requested quantizer name. */
  mode: string;
  /** Codebook index width. */
  bits?: number;
  /** Output-channel axes (per-channel scales and the per-channel error). */
  channels: ChannelAxes | null;
  /** Largest accepted channel error (default {@link DEFAULT_MAX_TENSOR_ERROR}; `Infinity` turns the guard off). */
  maxError?: number;
}

/** One tensor after the guard. */
export interface GuardedTensor {
  /** The record, absent when the tensor stays float32. */
  record?: QuantizedTensor;
  /** The quantizer that produced it (the requested mode or a fallback), or `float32`. */
  mode: string;
  /** The values the deployment model holds (the original array when kept float32). */
  values: Float32Array;
  error: ReconstructionError;
  /** Modes tried first and refused for exceeding the bound, with their channel error. */
  rejected: { mode: string; error: number }[];
  /** The bound applied. */
  bound: number;
}

/**
 * Quantize one tensor with the requested mode and check its reconstruction error; above the
 * bound, try the mode's finer fallbacks in order (e.g. codebook -> int8-channel -> float16) and
 * finally keep it float32. The error is measured without data, so it guards every call.
 *
 * @example
 * const g = quantizeGuarded(w, [3, 3, 96, 1], { mode: 'codebook', channels: { axis: 2, count: 1 } });
 * g.mode; // 'int8-channel' when the codebook wiped out a channel
 */
export function quantizeGuarded(values: Float32Array, shape: number[], args: GuardArgs): GuardedTensor {
  const bound = args.maxError ?? DEFAULT_MAX_TENSOR_ERROR;
  const first = getQuantizer(args.mode);
  const rejected: { mode: string; error: number }[] = [];
  for (const name of [first.name, ...(first.fallback ?? [])]) {
    const record = getQuantizer(name).quantize(values, shape, { bits: args.bits, channels: args.channels });
    const deq = dequantize(record);
    const error = reconstructionError(values, deq, shape, args.channels);
    if (error.channel <= bound) return { record, mode: name, values: deq, error, rejected, bound };
    rejected.push({ mode: name, error: error.channel });
  }
  return { mode: FLOAT32, values, error: { tensor: 0, channel: 0, worst: 0 }, rejected, bound };
}

/** Per-weight summary of a quantization run (layers and graph models alike). */
export interface QuantizedWeightInfo {
  name: string;
  /** The leaf layer's path (layers models) or the op node reading the weight (graph models). */
  layer: string;
  shape: number[];
  kind: string;
  /** The quantizer used: the requested mode, a finer fallback, or `float32` (kept unquantized). */
  mode: string;
  /** Largest |original - dequantized| over the tensor. */
  maxAbsError: number;
  /** Relative RMS error ||w - q(w)|| / ||w|| over the tensor. */
  tensorError: number;
  /** The same for the worst output channel: the guarded figure. */
  channelError: number;
  /** Modes refused for this tensor because their channel error exceeded the bound. */
  rejected: { mode: string; error: number }[];
  /** The bound this tensor was held to. */
  bound: number;
  /** Fraction of exact zeros in the original and in the dequantized weight. */
  zerosBefore: number;
  zerosAfter: number;
}

const zeroFraction = (v: Float32Array) => (v.length ? 1 - countNonZeros(v) / v.length : 0);

/** The summary of one guarded tensor; `final` are the values deployed (after any fine-tuning). */
export function weightInfo(where: { name: string; layer: string; shape: readonly number[] }, original: Float32Array, g: GuardedTensor, final = g.values): QuantizedWeightInfo {
  let err = 0;
  for (let i = 0; i < final.length; i++) err = Math.max(err, Math.abs(original[i]! - final[i]!));
  return {
    name: where.name,
    layer: where.layer,
    shape: [...where.shape],
    kind: g.record?.kind ?? FLOAT32,
    mode: g.mode,
    maxAbsError: err,
    tensorError: g.error.tensor,
    channelError: g.error.channel,
    rejected: g.rejected,
    bound: g.bound,
    zerosBefore: zeroFraction(original),
    zerosAfter: zeroFraction(final),
  };
}

/** Throw one line when accuracy fell by more than `maxDrop` percentage points (fractions in). */
export function checkAccuracyDrop(mode: string, before: number, after: number, maxDrop: number | undefined): void {
  if (maxDrop === undefined) return;
  const drop = (before - after) * 100;
  if (drop > maxDrop) {
    throw new Error(`quantize (${mode}): accuracy dropped ${drop.toFixed(2)} points (${(before * 100).toFixed(2)}% -> ${(after * 100).toFixed(2)}%), more than maxAccuracyDrop ${maxDrop}`);
  }
}
