import * as tf from '@tensorflow/tfjs';

/** One mini-batch. Tensors belong to the caller, who must dispose them. */
export interface Batch {
  /** Inputs, e.g. [B, 28, 28, 1] float32. */
  xs: tf.Tensor;
  /** Targets: one-hot [B, C] float32 (or [B, H, W, C] for segmentation). */
  ys: tf.Tensor;
  /** Position of each sample in the dataset (used to look up cached teacher outputs). */
  indices: Int32Array;
}

/** Options for {@link TensorDataset.batches}. */
export interface BatchArgs {
  /** Samples per batch; the last batch may be smaller. */
  batchSize: number;
  /** Shuffle the order (default false). */
  shuffle?: boolean;
  /** Seed for the shuffle; the same seed and epoch give the same order. Default 0. */
  seed?: number;
  /** Epoch number, mixed into the seed so each epoch sees a new, repeatable order. */
  epoch?: number;
}

/** Small, fast, seedable PRNG (mulberry32): repeatable shuffles without global state. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates permutation of 0..n-1 driven by {@link seededRandom}. */
export function permutation(n: number, seed: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const rand = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/**
 * An in-memory dataset of float inputs and targets, kept as typed arrays (not tensors) so
 * it costs no tensor memory until a batch is requested.
 *
 * @example
 * const train = await loadMnist({ split: 'train', limit: 5000 });
 * for (const { xs, ys } of train.batches({ batchSize: 128, shuffle: true, epoch })) { ...; tf.dispose([xs, ys]); }
 */
export class TensorDataset {
  /** Number of samples. */
  readonly size: number;
  private readonly xSize: number;
  private readonly ySize: number;

  /**
   * @param x flat inputs, `size * prod(xShape)` values
   * @param xShape shape of one sample, e.g. [28, 28, 1]
   * @param y flat targets, `size * prod(yShape)` values
   * @param yShape shape of one target, e.g. [10]
   * @param labels optional integer class per sample (kept for metrics and stratified splits)
   * @param classNames optional name of each class index (e.g. image-folder subfolder names)
   */
  constructor(
    readonly x: Float32Array,
    readonly xShape: number[],
    readonly y: Float32Array,
    readonly yShape: number[],
    readonly labels?: Int32Array,
    readonly classNames?: readonly string[],
  ) {
    this.xSize = xShape.reduce((a, b) => a * b, 1);
    this.ySize = yShape.reduce((a, b) => a * b, 1);
    this.size = x.length / this.xSize;
    if (!Number.isInteger(this.size) || y.length !== this.size * this.ySize) {
      throw new Error(
        `dataset: ${x.length} input values do not split into samples of shape [${xShape}] matching ${y.length} target values of shape [${yShape}]`,
      );
    }
  }

  /** Number of classes, when targets are one-hot vectors. */
  get numClasses(): number {
    return this.yShape[this.yShape.length - 1]!;
  }

  /** Build a dataset holding the given sample positions, in that order. */
  select(indices: ArrayLike<number>): TensorDataset {
    const n = indices.length;
    const x = new Float32Array(n * this.xSize);
    const y = new Float32Array(n * this.ySize);
    const labels = this.labels ? new Int32Array(n) : undefined;
    for (let i = 0; i < n; i++) {
      const s = indices[i]!;
      x.set(this.x.subarray(s * this.xSize, (s + 1) * this.xSize), i * this.xSize);
      y.set(this.y.subarray(s * this.ySize, (s + 1) * this.ySize), i * this.ySize);
      if (labels) labels[i] = this.labels![s]!;
    }
    return new TensorDataset(x, this.xShape, y, this.yShape, labels, this.classNames);
  }

  /** The first `n` samples (or all, if fewer). */
  take(n: number): TensorDataset {
    const count = Math.min(n, this.size);
    return new TensorDataset(
      this.x.subarray(0, count * this.xSize),
      this.xShape,
      this.y.subarray(0, count * this.ySize),
      this.yShape,
      this.labels?.subarray(0, count),
      this.classNames,
    );
  }

  /** Split into two parts after a seeded shuffle: `[1 - fraction, fraction]`. */
  split(fraction: number, seed = 0): [TensorDataset, TensorDataset] {
    if (!(fraction > 0 && fraction < 1)) {
      throw new Error(`dataset split: fraction must be in (0, 1), got ${fraction}`);
    }
    const order = permutation(this.size, seed);
    const cut = this.size - Math.round(this.size * fraction);
    return [this.select(order.subarray(0, cut)), this.select(order.subarray(cut))];
  }

  /** Inputs of the given samples as one tensor. */
  xsOf(indices: ArrayLike<number>): tf.Tensor {
    const n = indices.length;
    const buf = new Float32Array(n * this.xSize);
    for (let i = 0; i < n; i++) {
      const s = indices[i]!;
      buf.set(this.x.subarray(s * this.xSize, (s + 1) * this.xSize), i * this.xSize);
    }
    return tf.tensor(buf, [n, ...this.xShape], 'float32');
  }

  /** Targets of the given samples as one tensor. */
  ysOf(indices: ArrayLike<number>): tf.Tensor {
    const n = indices.length;
    const buf = new Float32Array(n * this.ySize);
    for (let i = 0; i < n; i++) {
      const s = indices[i]!;
      buf.set(this.y.subarray(s * this.ySize, (s + 1) * this.ySize), i * this.ySize);
    }
    return tf.tensor(buf, [n, ...this.yShape], 'float32');
  }

  /** Iterate mini-batches; each batch's tensors must be disposed by the caller. */
  *batches(args: BatchArgs): Generator<Batch> {
    const { batchSize, shuffle = false, seed = 0, epoch = 0 } = args;
    if (!(Number.isInteger(batchSize) && batchSize > 0)) {
      throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
    }
    let order: Int32Array;
    if (shuffle) {
      order = permutation(this.size, (seed * 1_000_003 + epoch) >>> 0);
    } else {
      order = new Int32Array(this.size);
      for (let i = 0; i < this.size; i++) order[i] = i;
    }
    for (let start = 0; start < this.size; start += batchSize) {
      const indices = order.slice(start, Math.min(start + batchSize, this.size));
      yield { xs: this.xsOf(indices), ys: this.ysOf(indices), indices };
    }
  }

  /** Number of batches per epoch at the given batch size. */
  batchCount(batchSize: number): number {
    return Math.ceil(this.size / batchSize);
  }

  /** Whole dataset as tensors (for evaluation of small sets). Caller disposes. */
  toTensors(): { xs: tf.Tensor; ys: tf.Tensor } {
    return {
      xs: tf.tensor(this.x, [this.size, ...this.xShape], 'float32'),
      ys: tf.tensor(this.y, [this.size, ...this.yShape], 'float32'),
    };
  }

  /** A `tf.data.Dataset` of `{xs, ys}` batches, for `model.fitDataset` users. */
  toTfData(args: BatchArgs): tf.data.Dataset<{ xs: tf.Tensor; ys: tf.Tensor }> {
    const self = this;
    return tf.data.generator(function* () {
      for (const b of self.batches(args)) yield { xs: b.xs, ys: b.ys };
    } as unknown as () => Iterator<{ xs: tf.Tensor; ys: tf.Tensor }>);
  }
}

/** Most classes {@link labelClassCount} infers from labels (max label + 1) when no class count is given. */
export const MAX_CLASSES = 65536;
/** Most one-hot target values (samples x classes, 4 bytes each: 1 GiB) built from inferred labels. */
export const MAX_ONE_HOT_VALUES = 2 ** 28;

/**
 * The class count of integer labels read from `source`: `numClasses` when given (every label checked
 * to be below it), else max label + 1, bounded so that one corrupted label cannot size the one-hot
 * targets (a label of 60000000 in a 208-byte file would otherwise allocate gigabytes).
 *
 * @example const k = labelClassCount(labels, 'y.npy'); // 10 for MNIST labels
 */
export function labelClassCount(labels: ArrayLike<number>, source: string, numClasses?: number): number {
  const n = labels.length;
  let k = numClasses ?? 0;
  if (!k) {
    let at = 0;
    for (let i = 0; i < n; i++) if (labels[i]! + 1 > k) (k = labels[i]! + 1), (at = i);
    if (k > MAX_CLASSES || n * k > MAX_ONE_HOT_VALUES) {
      throw new Error(
        `${source}: label ${k - 1} at sample ${at} implies ${k} classes (${n} samples), over the limit of ${Math.min(MAX_CLASSES, Math.floor(MAX_ONE_HOT_VALUES / Math.max(n, 1)))}; check the labels or give numClasses (the model's output width)`,
      );
    }
  }
  for (let i = 0; i < n; i++) {
    if (!(labels[i]! >= 0 && labels[i]! < k)) throw new Error(`${source}: label ${labels[i]} at sample ${i} is outside 0..${k - 1} (numClasses)`);
  }
  return k;
}

/** One-hot encode integer labels into a flat Float32Array of `labels.length * numClasses`. */
export function oneHot(labels: ArrayLike<number>, numClasses: number): Float32Array {
  const out = new Float32Array(labels.length * numClasses);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    if (!(c >= 0 && c < numClasses)) throw new Error(`label ${c} at sample ${i} is outside 0..${numClasses - 1}`);
    out[i * numClasses + c] = 1;
  }
  return out;
}
