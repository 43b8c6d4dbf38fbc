import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { TensorDataset, oneHot, permutation, seededRandom } from '../../src/data/dataset.js';
import { klDivergenceLoss } from '../../src/distill/losses.js';
import { softmaxCrossEntropy } from '../../src/train/metrics.js';
import { setLearningRate } from '../../src/train/optimizers.js';
import { ParallelTrainer, trainParallel } from '../../src/train/parallel/index.js';

function data(samples: number, seed: number): TensorDataset {
  const rand = seededRandom(seed);
  const x = Float32Array.from({ length: samples * 64 }, () => rand());
  const labels = Int32Array.from({ length: samples }, () => Math.floor(rand() * 10));
  return new TensorDataset(x, [8, 8, 1], oneHot(labels, 10), [10], labels);
}

/** A small conv + dense model (every kernel the cnn step uses: conv, pooling, dense, relu). */
function model(seed: number): tf.LayersModel {
  const init = (n: number) => tf.initializers.glorotUniform({ seed: seed * 100 + n });
  const input = tf.input({ shape: [8, 8, 1] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: init(1) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init(2) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: tf.layers.dense({ units: 10, kernelInitializer: init(3) }).apply(x) as tf.SymbolicTensor });
}

/**
 * Independent reference on the cpu backend: whole batches (train()'s order), Adam, batch-mean loss.
 * Returns the final weights and each epoch's mean loss.
 */
function reference(
  d: TensorDataset, epochs: number, batchSize: number, teacher?: tf.LayersModel, between?: (epoch: number, m: tf.LayersModel, opt: tf.Optimizer) => void,
): { weights: Float32Array[]; losses: number[] } {
  const m = model(1);
  const opt = tf.train.adam(1e-3);
  const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
  const losses: number[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    if (epoch > 0) between?.(epoch, m, opt);
    const order = permutation(d.size, (1 * 1_000_003 + epoch) >>> 0);
    let sum = 0;
    for (let s = 0; s < d.size; s += batchSize) {
      const idx = order.slice(s, Math.min(s + batchSize, d.size));
      const xs = d.xsOf(idx);
      const ys = d.ysOf(idx);
      const loss = opt.minimize(() => {
        const out = m.apply(xs, { training: true }) as tf.Tensor;
        const hard = softmaxCrossEntropy(ys, out);
        if (!teacher) return hard;
        const t = teacher.apply(xs, { training: false }) as tf.Tensor;
        return tf.add(tf.mul(hard, 0.1), tf.mul(klDivergenceLoss(out, t, 4), 0.9)) as tf.Scalar;
      }, true, vars)!;
      sum += loss.dataSync()[0]! * idx.length;
      tf.dispose([loss, xs, ys]);
    }
    losses.push(sum / d.size);
  }
  const weights = m.getWeights().map((w) => w.dataSync() as Float32Array);
  opt.dispose();
  m.dispose();
  return { weights, losses };
}

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((x, i) => x.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - b[i]![j]!)); }));
  return worst;
}

describe('trainParallel (data parallelism over worker threads, wasm in each)', () => {
  it('matches whole-batch training on the cpu backend, including a last batch smaller than the worker count', async () => {
    await setBackend('cpu');
    const n0 = tf.memory().numTensors;
    // 2 workers; 161 = 2 full batches of 64 + 33, then with batch 80: 80, 80, 1 (worker 1 gets no sample).
    for (const [samples, batchSize] of [[161, 64], [161, 80]] as const) {
      const d = data(samples, 3);
      const ref = reference(d, 2, batchSize);
      const m = model(1);
      const r = await trainParallel(m, d, { epochs: 2, batchSize, workers: 2, seed: 1 });
      const got = m.getWeights().map((w) => w.dataSync() as Float32Array);
      expect(maxAbsDiff(got, ref.weights), `weights, ${samples} samples, batch ${batchSize}`).toBeLessThan(1e-4);
      expect(r.history).toHaveLength(2);
      r.history.forEach((h, i) => expect(Math.abs(h.loss! - ref.losses[i]!)).toBeLessThan(1e-4));
      expect(r.steps).toBe(2 * Math.ceil(samples / batchSize));
      expect(r.workers).toBe(2);
      m.dispose();
    }
    expect(tf.memory().numTensors).toBe(n0);
  });

  it('distils from a frozen teacher like distill() (alpha 0.1, T 4, KL loss)', async () => {
    await setBackend('cpu');
    const n0 = tf.memory().numTensors;
    const d = data(128, 5);
    const teacher = model(9);
    const ref = reference(d, 1, 32, teacher);
    const m = model(1);
    const teacherBefore = teacher.getWeights().map((w) => w.dataSync() as Float32Array);
    const r = await trainParallel(m, d, { epochs: 1, batchSize: 32, workers: 2, seed: 1, teacher, temperature: 4, alpha: 0.1 });
    expect(maxAbsDiff(m.getWeights().map((w) => w.dataSync() as Float32Array), ref.weights)).toBeLessThan(1e-4);
    expect(Math.abs(r.history[0]!.loss! - ref.losses[0]!)).toBeLessThan(1e-4);
    expect(maxAbsDiff(teacher.getWeights().map((w) => w.dataSync() as Float32Array), teacherBefore)).toBe(0);
    m.dispose();
    teacher.dispose();
    expect(tf.memory().numTensors).toBe(n0);
  });

  it('runs epoch by epoch: learning-rate changes and weights edited between epochs reach every worker', async () => {
    await setBackend('cpu');
    const n0 = tf.memory().numTensors;
    const d = data(96, 7);
    // What a callback might do between epochs: halve the first kernel (a pruning-like edit), lower the lr.
    const edit = (m: tf.LayersModel) => {
      const w = m.weights[0]!;
      const halved = tf.tidy(() => tf.mul(w.read(), 0.5));
      w.write(halved);
      halved.dispose();
    };
    const ref = reference(d, 2, 32, undefined, (_e, m, opt) => { edit(m); setLearningRate(opt, 5e-4); });
    const m = model(1);
    const t = await ParallelTrainer.start(m, d, { batchSize: 32, workers: 2, seed: 1 });
    try {
      const e0 = await t.runEpoch(0);
      await t.copyWeightsTo(m);
      edit(m);
      await t.copyWeightsFrom(m);
      t.setLearningRate(5e-4);
      const e1 = await t.runEpoch(1);
      await t.copyWeightsTo(m);
      expect([e0.logs.loss, e1.logs.loss].map((l, i) => Math.abs(l! - ref.losses[i]!)).every((x) => x < 1e-4)).toBe(true);
      expect(e1.logs.lr).toBe(5e-4);
      expect(e0.steps + e1.steps).toBe(6);
    } finally {
      await t.stop();
    }
    expect(maxAbsDiff(m.getWeights().map((w) => w.dataSync() as Float32Array), ref.weights)).toBeLessThan(1e-4);
    m.dispose();
    expect(tf.memory().numTensors).toBe(n0);
  });

  it('fails with the worker error (and stops every worker) when a worker cannot train; bad arguments are refused', async () => {
    await setBackend('cpu');
    const n0 = tf.memory().numTensors;
    const m = model(1);
    const before = m.getWeights().map((w) => w.dataSync() as Float32Array);
    await expect(trainParallel(m, data(64, 1), { epochs: 1, workers: 2, optimizer: 'nope' })).rejects.toThrow(/trainParallel worker \d: .*unknown optimizer 'nope'/);
    await expect(trainParallel(m, data(64, 1), { epochs: 1, workers: 0 })).rejects.toThrow(/workers must be an integer/);
    await expect(trainParallel(m, data(64, 1), { epochs: 0 })).rejects.toThrow(/epochs must be a positive integer/);
    expect(maxAbsDiff(m.getWeights().map((w) => w.dataSync() as Float32Array), before)).toBe(0);
    m.dispose();
    expect(tf.memory().numTensors).toBe(n0);
  });
});
