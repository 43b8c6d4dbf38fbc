import * as tf from '@tensorflow/tfjs';
import { seededRandom } from './dataset.js';

/**
 * A training-time input transform: gets a batch of inputs and returns the inputs to train on
 * (a new tensor, or the same one unchanged; the loop disposes what it gets back and the
 * original). `step` is the global optimizer step, so a seeded
 * augmentation is repeatable (and resumes identically from a checkpoint).
 */
export type Augment = (xs: tf.Tensor, step: number) => tf.Tensor;

/** Options of {@link randomShift}. */
export interface RandomShiftArgs {
  /** Largest shift in pixels, in each direction, along height and width (Hinton 2015 used 2). */
  maxPixels: number;
  /** Seed of the shifts (default 0). */
  seed?: number;
}

/**
 * Keras' `RandomTranslation` with integer pixel shifts and zero fill: every image of an NHWC
 * batch moves by its own (dy, dx), each uniform in [-maxPixels, maxPixels] ("jitter" in Hinton et
 * al. 2015). Inputs of other ranks are rejected.
 *
 * @example
 * await train(teacher, data, { epochs: 20, augment: randomShift({ maxPixels: 2, seed: 1 }) });
 */
export function randomShift(args: RandomShiftArgs): Augment {
  const { maxPixels, seed = 0 } = args;
  if (!Number.isInteger(maxPixels) || maxPixels < 0) throw new Error(`randomShift: maxPixels must be a non-negative integer, got ${maxPixels}`);
  return (xs, step) => {
    if (xs.rank !== 4) throw new Error(`randomShift: expects NHWC image batches, got inputs of shape [${xs.shape}]`);
    const [n, h, w, c] = xs.shape as [number, number, number, number];
    const src = xs.dataSync() as Float32Array;
    const dst = new Float32Array(src.length);
    // One generator per step: the shifts depend only on (seed, step), not on earlier calls.
    const rand = seededRandom((Math.imul(seed, 0x9e3779b1) + step) >>> 0);
    const pick = () => Math.floor(rand() * (2 * maxPixels + 1)) - maxPixels;
    for (let b = 0; b < n; b++) {
      const dy = pick();
      const dx = pick();
      const y0 = Math.max(0, dy);
      const y1 = Math.min(h, h + dy);
      const x0 = Math.max(0, dx);
      const x1 = Math.min(w, w + dx);
      for (let y = y0; y < y1; y++) {
        const from = ((b * h + y - dy) * w + (x0 - dx)) * c;
        dst.set(src.subarray(from, from + (x1 - x0) * c), ((b * h + y) * w + x0) * c);
      }
    }
    return tf.tensor(dst, xs.shape, 'float32');
  };
}
