import { TensorDataset } from './dataset.js';

/** Per-channel statistics of a dataset's inputs (channel = last input dimension). */
export interface ChannelStats {
  /** Mean of each channel. */
  mean: number[];
  /** Population standard deviation of each channel. */
  std: number[];
}

/**
 * Mean and standard deviation of each input channel (last axis of `xShape`), over all samples
 * and positions. Compute it on the training set and reuse it for validation/test data.
 */
export function channelStats(ds: TensorDataset): ChannelStats {
  const c = ds.xShape[ds.xShape.length - 1] ?? 1;
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  for (let i = 0; i < ds.x.length; i++) {
    const v = ds.x[i]!;
    sum[i % c] += v;
    sq[i % c] += v * v;
  }
  const count = ds.x.length / c;
  if (count === 0) throw new Error('channelStats: the dataset is empty');
  const mean = Array.from(sum, (s) => s / count);
  // Clamp tiny negative variances from floating-point cancellation.
  const std = Array.from(sq, (s, k) => Math.sqrt(Math.max(0, s / count - mean[k]! ** 2)));
  return { mean, std };
}

/** Return a copy whose inputs are `x * scale + offset` (e.g. `rescale(ds, 2, -1)` maps [0,1] to [-1,1]). */
export function rescale(ds: TensorDataset, scale: number, offset = 0): TensorDataset {
  const x = new Float32Array(ds.x.length);
  for (let i = 0; i < x.length; i++) x[i] = ds.x[i]! * scale + offset;
  return new TensorDataset(x, ds.xShape, ds.y, ds.yShape, ds.labels, ds.classNames);
}

/**
 * Return a copy whose inputs are `(x - mean) / std` per channel. Without `stats`, the dataset's
 * own {@link channelStats} are used. Channels with zero spread are only centred.
 *
 * @example
 * const stats = channelStats(train);
 * const [trainN, testN] = [standardize(train, stats), standardize(test, stats)];
 */
export function standardize(ds: TensorDataset, stats: ChannelStats = channelStats(ds)): TensorDataset {
  const c = ds.xShape[ds.xShape.length - 1] ?? 1;
  if (stats.mean.length !== c || stats.std.length !== c) {
    throw new Error(`standardize: stats have ${stats.mean.length} channels but inputs [${ds.xShape}] have ${c}`);
  }
  const inv = stats.std.map((s) => (s > 0 ? 1 / s : 1));
  const x = new Float32Array(ds.x.length);
  for (let i = 0; i < x.length; i++) x[i] = (ds.x[i]! - stats.mean[i % c]!) * inv[i % c]!;
  return new TensorDataset(x, ds.xShape, ds.y, ds.yShape, ds.labels, ds.classNames);
}

/**
 * How model inputs are made from raw 0..255 pixel values: an affine map like Keras `Rescaling`
 * (`input = raw * scale + offset`) or a per-channel normalisation like torchvision's
 * (`input = (raw - mean[c]) / std[c]`, mean and std on the 0..255 scale). The datasets hold
 * `raw / 255` (0..1), so the default {@link DEFAULT_INPUT_SCALING} changes nothing.
 */
export type InputScaling = AffineScaling | ChannelScaling;

/** `input = raw * scale + offset`. */
export interface AffineScaling {
  scale: number;
  offset: number;
}

/** `input = (raw - mean[c]) / std[c]` per channel (last axis); one entry applies to every channel. */
export interface ChannelScaling {
  mean: number[];
  std: number[];
}

/** Today's inputs: raw / 255, in 0..1. */
export const DEFAULT_INPUT_SCALING: InputScaling = { scale: 1 / 255, offset: 0 };

/** Named presets (`--input-range`) and the scaling that produces them from 0..255. */
export const INPUT_RANGES: Readonly<Record<string, InputScaling>> = {
  '0..1': DEFAULT_INPUT_SCALING,
  '0..255': { scale: 1, offset: 0 },
  '-1..1': { scale: 1 / 127.5, offset: -1 },
  // torchvision / Keras "torch" mode: ImageNet mean [0.485, 0.456, 0.406] and std [0.229, 0.224,
  // 0.225] times 255, RGB order (written out: 0.224 * 255 is 57.120000000000005 in floats).
  imagenet: { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] },
};

/** What a user may give: a named preset, a scale and/or offset, or per-channel mean and std (one form only). */
export interface InputScalingArgs {
  /** One of {@link INPUT_RANGES}' names. */
  range?: string;
  /** Factor applied to raw 0..255 values (default 1/255). */
  scale?: number;
  /** Added after scaling (default 0). */
  offset?: number;
  /** Per-channel means on the 0..255 scale (needs `std`). */
  mean?: number[];
  /** Per-channel standard deviations on the 0..255 scale (needs `mean`). */
  std?: number[];
}

/** True for the per-channel form. */
export function isChannelScaling(s: InputScaling): s is ChannelScaling {
  return 'mean' in s;
}

function channelScaling(mean: number[], std: number[]): ChannelScaling {
  if (mean.length === 0 || !mean.every(Number.isFinite)) throw new Error(`input mean must be a list of numbers, got [${mean.join(', ')}]`);
  if (std.length !== mean.length) throw new Error(`input std has ${std.length} values but input mean has ${mean.length}; give one per channel`);
  if (!std.every((v) => Number.isFinite(v) && v > 0)) throw new Error(`input std must be numbers > 0, got [${std.join(', ')}]`);
  return { mean: [...mean], std: [...std] };
}

/**
 * Validate scaling settings once, naming the bad field: a named `range`, `scale`/`offset`, or
 * `mean`/`std`.
 *
 * @example
 * inputScaling({ scale: 1 / 128, offset: -127.5 / 128 }); // (x - 127.5) / 128
 * inputScaling({ range: 'imagenet' }); // { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] }
 */
export function inputScaling(args: InputScalingArgs = {}): InputScaling {
  const affine = args.scale !== undefined || args.offset !== undefined;
  const channel = args.mean !== undefined || args.std !== undefined;
  if (args.range !== undefined) {
    if (affine || channel) {
      throw new Error(`input range '${args.range}' cannot be combined with an input scale, offset, mean or std; give one or the other`);
    }
    const r = INPUT_RANGES[args.range];
    if (!r) throw new Error(`unknown input range '${args.range}': expected one of ${Object.keys(INPUT_RANGES).join(', ')}`);
    return r;
  }
  if (channel) {
    if (affine) throw new Error('input mean/std cannot be combined with an input scale or offset; give one or the other');
    if (!args.mean || !args.std) throw new Error('input mean and input std must be given together');
    return channelScaling(args.mean, args.std);
  }
  const scale = args.scale ?? (DEFAULT_INPUT_SCALING as AffineScaling).scale;
  const offset = args.offset ?? (DEFAULT_INPUT_SCALING as AffineScaling).offset;
  if (!(Number.isFinite(scale) && scale !== 0)) throw new Error(`input scale must be a non-zero number, got ${scale}`);
  if (!Number.isFinite(offset)) throw new Error(`input offset must be a number, got ${offset}`);
  return { scale, offset };
}

const round = (v: number) => String(Number(v.toPrecision(6)));

/**
 * The scaling in words: the preset name when it is one, else the formula, e.g. `-1..1` or
 * `x * 0.0078125 + -0.996094` or `(x - [123.675, 116.28, 103.53]) / [58.395, 57.12, 57.375]`.
 */
export function formatInputScaling(s: InputScaling): string {
  const same = (a: InputScaling) => JSON.stringify(a) === JSON.stringify(s);
  const name = Object.entries(INPUT_RANGES).find(([, r]) => same(r))?.[0];
  if (name) return name;
  if (isChannelScaling(s)) return `(x - [${s.mean.map(round).join(', ')}]) / [${s.std.map(round).join(', ')}]`;
  return `x * ${round(s.scale)} + ${round(s.offset)}`;
}

/**
 * Re-scale a dataset whose inputs are `raw / 255` to the model's scaling (a copy; the dataset
 * itself when the scaling is the default). The one place input preprocessing happens.
 *
 * @example
 * const test = scaleInputs(loadMnist({ split: 'test' }), inputScaling({ range: '-1..1' }));
 */
export function scaleInputs(ds: TensorDataset, s: InputScaling): TensorDataset {
  if (isChannelScaling(s)) {
    const c = ds.xShape[ds.xShape.length - 1] ?? 1;
    if (s.mean.length !== 1 && s.mean.length !== c) {
      throw new Error(`input scaling has ${s.mean.length} channel means but the inputs [${ds.xShape.join(', ')}] have ${c} channels (last axis)`);
    }
    const per = (v: number[]) => (v.length === c ? v : Array.from({ length: c }, () => v[0]!));
    // The data holds raw / 255: (raw - m) / s == (x - m/255) / (s/255).
    return standardize(ds, { mean: per(s.mean).map((m) => m / 255), std: per(s.std).map((v) => v / 255) });
  }
  const factor = s.scale * 255;
  if (Math.abs(factor - 1) < 1e-12 && s.offset === 0) return ds;
  return rescale(ds, factor, s.offset);
}
