import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { TensorDataset, oneHot } from '../../src/data/dataset.js';
import { channelStats, rescale, standardize } from '../../src/data/transform.js';
import { loadMnistSegmentation } from '../../src/data/segmentation.js';
import { useBackend } from '../helpers/backend.js';

// 3 samples of shape [2, 2] (2 positions x 2 channels); channel 0 = 0..5, channel 1 = 10, 20, ...
const x = Float32Array.from([0, 10, 1, 20, 2, 30, 3, 40, 4, 50, 5, 60]);
const labels = Int32Array.from([0, 1, 1]);
const ds = new TensorDataset(x, [2, 2], oneHot(labels, 2), [2], labels, ['no', 'yes']);

describe('dataset transforms', () => {
  it('computes per-channel mean and population std (hand-checked)', () => {
    const s = channelStats(ds);
    expect(s.mean[0]).toBeCloseTo(2.5, 10);
    expect(s.mean[1]).toBeCloseTo(35, 10);
    // Population std of 0..5 is sqrt(35/12); of 10..60 it is 10x that.
    expect(s.std[0]).toBeCloseTo(Math.sqrt(35 / 12), 10);
    expect(s.std[1]).toBeCloseTo(10 * Math.sqrt(35 / 12), 8);
  });

  it('standardizes to zero mean / unit std and reuses given stats', () => {
    const z = standardize(ds);
    const s = channelStats(z);
    s.mean.forEach((m) => expect(m).toBeCloseTo(0, 6));
    s.std.forEach((v) => expect(v).toBeCloseTo(1, 5));
    expect(z.classNames).toEqual(['no', 'yes']);
    expect(z.y).toBe(ds.y);
    // With train stats, a test sample maps by the same affine transform.
    const stats = { mean: [1, 10], std: [2, 5] };
    expect(Array.from(standardize(ds, stats).x.subarray(0, 4))).toEqual([-0.5, 0, 0, 2]);
    // Zero-spread channels are only centred (no division by zero).
    const flat = new TensorDataset(Float32Array.from([3, 3]), [1], new Float32Array(2), [1]);
    expect(Array.from(standardize(flat).x)).toEqual([0, 0]);
    expect(() => standardize(ds, { mean: [0], std: [1] })).toThrow(/stats have 1 channels but inputs \[2,2\] have 2/);
  });

  it('rescales inputs', () => {
    expect(Array.from(rescale(ds, 2, -1).x.subarray(0, 4))).toEqual([-1, 19, 1, 39]);
  });

  it('keeps classNames through select, take and split', () => {
    expect(ds.select([2, 0]).classNames).toEqual(['no', 'yes']);
    expect(ds.take(1).classNames).toEqual(['no', 'yes']);
    const [a, b] = ds.split(0.34, 1);
    expect(a.classNames).toEqual(['no', 'yes']);
    expect(b.classNames).toEqual(['no', 'yes']);
    expect(a.size + b.size).toBe(3);
  });

  it('segmentation data trains through toTfData / fitDataset without leaking tensors', async () => {
    await useBackend();
    const seg = loadMnistSegmentation({ split: 'test', limit: 16 });
    const model = tf.sequential({
      layers: [tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 11, kernelSize: 3, padding: 'same', activation: 'softmax' })],
    });
    model.compile({ optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy' });
    const run = async (): Promise<number> => {
      const h = await model.fitDataset(seg.toTfData({ batchSize: 8, shuffle: true, seed: 1 }), { epochs: 3, verbose: 0 });
      return h.history.loss!.at(-1) as number;
    };
    const firstLoss = await run(); // warm-up creates optimizer slots
    const before = tf.memory().numTensors;
    const lastLoss = await run();
    expect(tf.memory().numTensors).toBe(before);
    // Predicting background everywhere is easy to learn, so the loss must drop.
    expect(lastLoss).toBeLessThan(firstLoss);
    model.dispose();
  });
});
