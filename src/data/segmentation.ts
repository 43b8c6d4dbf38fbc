import { TensorDataset } from './dataset.js';
import { loadMnist } from './mnist.js';

/** Class names of {@link loadMnistSegmentation} masks: 0 is background, k + 1 is digit k. */
export const MNIST_SEGMENTATION_CLASSES = ['background', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/** Options for {@link loadMnistSegmentation}. */
export interface MnistSegmentationArgs {
  /** `train` or `test`. Default `train`. */
  split?: 'train' | 'test';
  /**
   * Keep only the first `limit` images. Set it: a full-size mask set is large
   * (60,000 × 28 × 28 × 11 float32 ≈ 2 GB).
   */
  limit?: number;
  /** A pixel is ink (digit class) when its [0, 1] value is strictly above this. Default 0.5. */
  threshold?: number;
}

/**
 * Per-pixel segmentation built from real MNIST: inputs [28, 28, 1] in [0, 1], targets one-hot
 * [28, 28, 11] where a pixel's class is `digit + 1` if it is ink (`> threshold`) and 0
 * (background) otherwise. `labels` keeps the image's digit. Matches the `unet-mini` zoo model.
 *
 * @example
 * const seg = loadMnistSegmentation({ split: 'test', limit: 500 });
 * seg.xShape; // [28, 28, 1]
 * seg.yShape; // [28, 28, 11]
 */
export function loadMnistSegmentation(args: MnistSegmentationArgs = {}): TensorDataset {
  const threshold = args.threshold ?? 0.5;
  if (!(threshold >= 0 && threshold < 1)) {
    throw new Error(`loadMnistSegmentation: threshold must be in [0, 1), got ${threshold}`);
  }
  const mnist = loadMnist({ split: args.split ?? 'train', limit: args.limit });
  const pixels = 28 * 28;
  const classes = MNIST_SEGMENTATION_CLASSES.length;
  const y = new Float32Array(mnist.size * pixels * classes);
  for (let i = 0; i < mnist.size; i++) {
    const ink = mnist.labels![i]! + 1;
    for (let p = 0; p < pixels; p++) {
      const k = i * pixels + p;
      y[k * classes + (mnist.x[k]! > threshold ? ink : 0)] = 1;
    }
  }
  return new TensorDataset(mnist.x, [28, 28, 1], y, [28, 28, classes], mnist.labels, [...MNIST_SEGMENTATION_CLASSES]);
}
