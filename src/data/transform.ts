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
