import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { randomShift } from '../../src/data/augment.js';
import { TensorDataset, oneHot } from '../../src/data/dataset.js';
import { buildZooModel } from '../../src/model/zoo.js';
import { train } from '../../src/train/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

/** Reference shift of one HxW single-channel image by (dy, dx) with zero fill, by definition. */
function shifted(img: number[][], dy: number, dx: number): number[][] {
  return img.map((row, y) => row.map((_, x) => img[y - dy]?.[x - dx] ?? 0));
}

describe('randomShift', () => {
  it('moves each image by one whole-pixel offset within the bound, zero-filling the edge', () => {
    const h = 5;
    const w = 6;
    const imgs = Array.from({ length: 16 }, (_, b) => Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => 1 + b * 100 + y * 10 + x)));
    const xs = tf.tensor4d(imgs.flat(2), [16, h, w, 1]);
    const out = randomShift({ maxPixels: 2, seed: 3 })(xs, 7);
    const got = out.arraySync() as number[][][][];
    const seen = new Set<string>();
    got.forEach((g, b) => {
      const flat = g.map((row) => row.map((v) => v[0]!));
      // Find the offset that explains the output; exactly one must, within +-2.
      const matches: string[] = [];
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) if (JSON.stringify(shifted(imgs[b]!, dy, dx)) === JSON.stringify(flat)) matches.push(`${dy},${dx}`);
      expect(matches, `image ${b}`).toHaveLength(1);
      seen.add(matches[0]!);
    });
    expect(seen.size).toBeGreaterThan(3); // offsets differ between images
    // Same seed and step: same shifts; another step: different ones. Input untouched.
    expect(randomShift({ maxPixels: 2, seed: 3 })(xs, 7).arraySync()).toEqual(got);
    expect(randomShift({ maxPixels: 2, seed: 3 })(xs, 8).arraySync()).not.toEqual(got);
    expect(xs.arraySync()).toEqual(imgs.map((i) => i.map((r) => r.map((v) => [v]))));
    expect(randomShift({ maxPixels: 0 })(xs, 1).arraySync()).toEqual(xs.arraySync());
    tf.dispose([xs, out]);
  });

  it('rejects bad bounds and non-image inputs', () => {
    expect(() => randomShift({ maxPixels: -1 })).toThrow(/maxPixels must be a non-negative integer, got -1/);
    const x = tf.ones([2, 3]);
    expect(() => randomShift({ maxPixels: 1 })(x, 0)).toThrow(/expects NHWC image batches, got inputs of shape \[2,3\]/);
    x.dispose();
  });

  it('trains through train({augment}) without leaking tensors', async () => {
    const n = 64;
    const ds = new TensorDataset(Float32Array.from({ length: n * 784 }, (_, i) => (i % 7) / 7), [28, 28, 1], oneHot(Int32Array.from({ length: n }, (_, i) => i % 10), 10), [10]);
    const model = buildZooModel('lenet300', { seed: 1 });
    await train(model, ds, { epochs: 1, batchSize: 32 }); // warm-up: optimizer slots exist afterwards
    const before = tf.memory().numTensors;
    const seen: number[] = [];
    const r = await train(model, ds, { epochs: 1, batchSize: 32, augment: (xs, step) => (seen.push(step), randomShift({ maxPixels: 2 })(xs, step)) });
    expect(seen).toEqual([0, 1]);
    expect(Number.isFinite(r.history[0]!.loss)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    // An augmentation that returns its input unchanged must not have it freed under it.
    const same = await train(model, ds, { epochs: 1, batchSize: 32, augment: (xs) => xs });
    expect(Number.isFinite(same.history[0]!.loss)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
