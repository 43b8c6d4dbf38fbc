import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMnist } from '../../src/data/mnist.js';
import { TensorDataset, oneHot } from '../../src/data/dataset.js';
import { buildZooModel } from '../../src/model/zoo.js';
import { train, evaluate, EarlyStopping, ReduceLROnPlateau, LearningRateScheduler, exponentialDecay, softmaxCrossEntropy, countTopK } from '../../src/train/index.js';
import type { TrainCallback } from '../../src/train/index.js';
import { useBackend } from '../helpers/backend.js';

const trainSet = loadMnist({ split: 'train', limit: 2048 });
const testSet = loadMnist({ split: 'test', limit: 1000 });

function tinyMlp(seed = 0): tf.LayersModel {
  const m = tf.sequential({ name: 'tiny' });
  m.add(tf.layers.flatten({ inputShape: [28, 28, 1] }));
  m.add(tf.layers.dense({ units: 32, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
  m.add(tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
  return m;
}

describe('training loop', () => {
  beforeAll(() => useBackend());

  it('learns real MNIST: loss falls and test accuracy is far above chance, with no tensor leak', async () => {
    const model = tinyMlp(1);
    const before = await evaluate(model, testSet);
    const tensors = tf.memory().numTensors;
    const r = await train(model, trainSet, { epochs: 3, batchSize: 64, validation: testSet, seed: 1 });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(r.history).toHaveLength(3);
    expect(r.history[2]!.loss).toBeLessThan(r.history[0]!.loss!);
    expect(r.history[2]!.val_accuracy).toBeGreaterThan(0.8);
    expect(before.accuracy).toBeLessThan(0.3);
    // evaluate() agrees with an independent whole-set computation
    const { xs, ys } = testSet.toTensors();
    const logits = model.predict(xs) as tf.Tensor;
    const acc = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(logits, -1), tf.argMax(ys, -1)), 'float32')).dataSync()[0]!);
    const ev = await evaluate(model, testSet, { batchSize: 100 });
    expect(ev.accuracy).toBeCloseTo(acc, 6);
    tf.dispose([xs, ys, logits]);
  });

  it('stays flat in tensor memory across epochs for a conv net on wasm', async () => {
    const model = buildZooModel('tfmot-cnn', { seed: 2 });
    const counts: number[] = [];
    const probe: TrainCallback = { onEpochEnd: () => void counts.push(tf.memory().numTensors) };
    await train(model, trainSet.take(512), { epochs: 3, batchSize: 128, callbacks: [probe] });
    expect(counts[2]).toBe(counts[1]);
    expect(counts[1]).toBe(counts[0]);
  });

  it('is repeatable: same seed, same initial weights, same data order -> identical weights', async () => {
    const run = async () => {
      const m = tinyMlp(4);
      await train(m, trainSet.take(512), { epochs: 1, batchSize: 64, seed: 9 });
      return Array.from(m.weights[0]!.read().dataSync().slice(0, 50));
    };
    expect(await run()).toEqual(await run());
  });

  it('checkpoints every epoch and resumes an interrupted run to the same result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const full = tinyMlp(6);
    await train(full, trainSet.take(512), { epochs: 3, batchSize: 64, seed: 3 });

    const interrupted = tinyMlp(6);
    const stopAfterOne: TrainCallback = { onEpochEnd: (_e, _l, ctx) => void (ctx.stopTraining = true) };
    await train(interrupted, trainSet.take(512), { epochs: 3, batchSize: 64, seed: 3, checkpointDir: dir, callbacks: [stopAfterOne] });
    expect(existsSync(join(dir, 'checkpoint.json'))).toBe(true);

    const resumed = tinyMlp(99); // different init: the checkpoint must overwrite it
    const r = await train(resumed, trainSet.take(512), { epochs: 3, batchSize: 64, seed: 3, checkpointDir: dir });
    expect(r.resumedFromEpoch).toBe(1);
    expect(r.history).toHaveLength(3);
    const a = full.weights[0]!.read().dataSync();
    const b = resumed.weights[0]!.read().dataSync();
    // Bit-identical (test/train/resume.test.ts covers every weight, optimizer and callback state).
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
  });

  it('stops on a NaN loss and restores the last good weights', async () => {
    const model = tinyMlp(7);
    let calls = 0;
    const r = await train(model, trainSet.take(256), {
      epochs: 3,
      batchSize: 64,
      loss: (m, b) => {
        calls++;
        const out = m.apply(b.xs, { training: true }) as tf.Tensor;
        const ce = softmaxCrossEntropy(b.ys, out);
        return calls > 6 ? (tf.div(ce, 0).mul(0) as tf.Scalar) : ce; // epoch 2 blows up
      },
    });
    expect(r.stopReason).toMatch(/loss became NaN at epoch 2/);
    expect(r.history).toHaveLength(1);
    expect(model.weights.every((w) => w.read().dataSync().every(Number.isFinite))).toBe(true);
  });

  it('early-stops with restore-best and lowers the learning rate on plateau', async () => {
    const model = tinyMlp(8);
    // monitor a figure that only gets worse after epoch 1 -> stop after patience epochs
    let e = 0;
    const fake: TrainCallback = { onEpochEnd: (_ep, logs) => void (logs.fake = e++ === 0 ? 0 : e) };
    const es = new EarlyStopping({ monitor: 'fake', mode: 'min', patience: 1, restoreBestWeights: true });
    const lr = new ReduceLROnPlateau({ monitor: 'fake', mode: 'min', patience: 1, factor: 0.5 });
    let firstEpochWeights: number[] = [];
    const grab: TrainCallback = { onEpochEnd: (ep, _l, ctx) => void (ep === 0 && (firstEpochWeights = Array.from(ctx.model.weights[0]!.read().dataSync().slice(0, 20)))) };
    const r = await train(model, trainSet.take(256), { epochs: 5, batchSize: 64, callbacks: [fake, grab, lr, es] });
    expect(r.history).toHaveLength(2);
    expect(r.stopReason).toMatch(/early stopping/);
    expect(r.history[1]!.lr).toBeCloseTo(1e-3, 8); // logged before the callback halves it
    expect(Array.from(model.weights[0]!.read().dataSync().slice(0, 20))).toEqual(firstEpochWeights);
  });

  it('sets the learning rate per epoch from a schedule (logged lr = schedule(epoch)) and rejects bad rates', async () => {
    const model = tinyMlp(9);
    const r = await train(model, trainSet.take(128), { epochs: 3, batchSize: 64, callbacks: [new LearningRateScheduler(exponentialDecay(0.01, 0.5))] });
    expect(r.history.map((h) => h.lr)).toEqual([0.01, 0.005, 0.0025].map((v) => expect.closeTo(v, 8)));
    await expect(train(tinyMlp(9), trainSet.take(64), { epochs: 1, callbacks: [new LearningRateScheduler(() => -1)] })).rejects.toThrow(/schedule\(0\) returned -1, expected a positive number/);
  });

  it('refuses a dataset whose shape does not fit the model, naming both shapes', async () => {
    const wrong = new TensorDataset(new Float32Array(4 * 5), [5], oneHot([0, 1, 2, 3], 10), [10]);
    await expect(train(tinyMlp(), wrong, { epochs: 1 })).rejects.toThrow(/dataset samples have shape \[5\] but model 'tiny' expects inputs of shape \[28, ?28, ?1\]/);
    await expect(train(tinyMlp(), trainSet, { epochs: 0 })).rejects.toThrow(/epochs must be a positive integer/);
  });

  it('computes top-k by hand', () => {
    const logits = tf.tensor2d([[0.1, 0.5, 0.4], [0.9, 0.04, 0.06], [0.2, 0.3, 0.5]]);
    const targets = tf.tensor2d([[0, 0, 1], [0, 1, 0], [1, 0, 0]]);
    expect(countTopK(targets, logits, 2).dataSync()[0]).toBe(1); // only row 0 has its class in the top 2
    expect(countTopK(targets, logits, 3).dataSync()[0]).toBe(3);
    tf.dispose([logits, targets]);
  });
});
