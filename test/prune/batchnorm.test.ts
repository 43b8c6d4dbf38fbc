import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerPruneCommand } from '../../src/cli/commands/prune.js';
import { TensorDataset } from '../../src/data/dataset.js';
import { loadMnist } from '../../src/data/mnist.js';
import { fileHandler, loadLayersModelFromFiles } from '../../src/model/io.js';
import { loadLayersModel } from '../../src/model/load.js';
import { buildDependencyGraph, freezeBatchNorm, maskedReference, planStructured, speedup } from '../../src/prune/index.js';
import { evaluate, train } from '../../src/train/index.js';
import { useBackend } from '../helpers/backend.js';
import { REAL_MODELS } from '../helpers/fixtures.js';

// Keras-written BN CNN (axis: [3]); its moving statistics were never trained (mean 0, var 1).
const WEB_MODEL = `${REAL_MODELS}/jsimluken-mnist/web_model`;
const dir = mkdtempSync(join(tmpdir(), 'prune-bn-'));

beforeAll(async () => {
  await useBackend();
});
afterAll(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

/** Conv -> BN -> Dense with non-trivial moving statistics. */
function bnModel(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 1] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), name: 'conv' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }), name: 'fc' }).apply(x) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: out });
  const bn = m.getLayer('bn');
  bn.setWeights([tf.tensor1d([1.5, 0.5, 1, 2]), tf.tensor1d([0.1, -0.2, 0.3, 0]), tf.tensor1d([0.3, -0.1, 0.2, 0.05]), tf.tensor1d([2, 0.5, 1, 3])]);
  return m;
}

describe('batch norm during pruning fine-tuning', () => {
  it('freezeBatchNorm: training-mode output uses the moving statistics (hand-computed) and leaves them alone; restore undoes it', async () => {
    const m = bnModel();
    const x = tf.randomNormal([8, 6, 6, 1], 0, 1, 'float32', 3);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
    const data = new TensorDataset(x.dataSync() as Float32Array, [6, 6, 1], y.dataSync() as Float32Array, [3]);
    const bnOf = (t: tf.Tensor) => tf.tidy(() => m.getLayer('bn').apply(m.getLayer('conv').apply(t) as tf.Tensor, { training: true }) as tf.Tensor);
    const before = tf.memory().numTensors;
    const restore = freezeBatchNorm(m);
    try {
      const conv = m.getLayer('conv').apply(x) as tf.Tensor;
      // (c - mean) / sqrt(var + 1e-3) * gamma + beta, channel by channel.
      const byHand = tf.tidy(() => tf.add(tf.mul(tf.div(tf.sub(conv, [0.3, -0.1, 0.2, 0.05]), tf.sqrt(tf.add([2, 0.5, 1, 3], 1e-3))), [1.5, 0.5, 1, 2]), [0.1, -0.2, 0.3, 0]));
      const got = bnOf(x);
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(got, byHand))).dataSync()[0]!)).toBeLessThan(1e-5);
      tf.dispose([conv, byHand, got]);
      expect(tf.memory().numTensors).toBe(before);
      await train(m, data, { epochs: 2, batchSize: 4, learningRate: 0.01 });
      expect(Array.from(m.getLayer('bn').weights[2]!.read().dataSync())).toEqual(Array.from(Float32Array.from([0.3, -0.1, 0.2, 0.05])));
      expect(Array.from(m.getLayer('bn').weights[3]!.read().dataSync())).toEqual([2, 0.5, 1, 3]);
    } finally {
      restore();
    }
    // Restored: training mode normalises with the batch statistics again (per-channel mean ~ beta).
    const free = bnOf(x);
    const mean = tf.tidy(() => tf.mean(tf.sub(free, m.getLayer('bn').weights[1]!.read()), [0, 1, 2]).dataSync() as Float32Array);
    for (const v of mean) expect(Math.abs(v)).toBeLessThan(1e-4);
    free.dispose();
    tf.dispose([x, y]);
    m.dispose();
  });

  it('structured pruning couples Keras BN layers written with axis [3] to their conv, and matches the masked reference on real MNIST', async () => {
    const model = await tf.loadLayersModel(fileHandler(WEB_MODEL));
    const test = loadMnist({ split: 'test', limit: 64 });
    const x = tf.tidy(() => tf.sub(tf.mul(tf.tensor(test.x, [test.size, 28, 28, 1]), 255 / 128), 127.5 / 128));
    try {
      expect((model.getLayer('batch_normalization').getConfig() as { axis: unknown }).axis).toEqual([3]);
      const g = buildDependencyGraph(model);
      const conv = g.groups.find((gr) => gr.producers.some((l) => l.name === 'conv2d_1'))!;
      expect(conv.batchNorms.map((b) => b.layer.name)).toEqual(['batch_normalization_1']);
      expect(g.opaqueUses).toEqual([]);
      const plan = planStructured(model, { ratio: 0.5 });
      const small = await speedup(model, plan);
      const ref = await maskedReference(model, plan);
      expect(small.getLayer('batch_normalization_1').getWeights()[0]!.shape).toEqual([32]);
      const [a, b] = [small.predict(x) as tf.Tensor, ref.predict(x) as tf.Tensor];
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!)).toBeLessThan(1e-5);
      tf.dispose([a, b]);
      small.dispose();
      ref.dispose();
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  it('its graph-model twin, converted to layers (separate Softmax layer), prunes structurally too', async () => {
    const { model } = await loadLayersModel(`${WEB_MODEL}2`, { command: 'test' });
    const test = loadMnist({ split: 'test', limit: 64 });
    const x = tf.tidy(() => tf.sub(tf.mul(tf.tensor(test.x, [test.size, 28, 28, 1]), 255 / 128), 127.5 / 128));
    try {
      const plan = planStructured(model, { ratio: 0.25 });
      expect(plan.skipped.find((s) => s.reason.includes('(Softmax), which mixes channels'))).toBeDefined();
      expect(plan.groups.map((g) => g.keep.length)).toEqual([24, 48, 96]);
      const small = await speedup(model, plan);
      const ref = await maskedReference(model, plan);
      const [a, b] = [small.predict(x) as tf.Tensor, ref.predict(x) as tf.Tensor];
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!)).toBeLessThan(1e-5);
      tf.dispose([a, b]);
      small.dispose();
      ref.dispose();
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  it('the BN CNN keeps its real-MNIST accuracy within 1 point at 80% sparsity with the default fine-tuning settings', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const out = join(dir, 'pruned');
    const p = new Command('tfjs-compress').exitOverride();
    registerPruneCommand(p);
    // Defaults: polynomial 0.5 -> 0.8, Adam lr 1e-3, batch 128, BN frozen; a 2000-image subset and one epoch for time.
    await p.parseAsync(['node', 'x', 'prune', '--model', WEB_MODEL, '--data', 'mnist', '--limit', '2000', '--test-limit', '2000', '--epochs', '1', '--input-scale', '0.0078125', '--input-offset', '-0.99609375', '--out', out]);
    const report = JSON.parse(readFileSync(join(out, 'prune-report.json'), 'utf8'));
    expect(report.batchNorm).toBe('frozen');
    // Re-measured here on the saved model, independent of the command's own figures.
    const m = await loadLayersModelFromFiles(out);
    const test = loadMnist({ split: 'test', limit: 2000 });
    const scaled = new TensorDataset(Float32Array.from(test.x, (v) => v * (255 / 128) - 127.5 / 128), test.xShape, test.y, test.yShape);
    const after = (await evaluate(m, scaled)).accuracy!;
    const k = m.getLayer('conv2d_2').getWeights()[0]!.dataSync();
    expect(k.filter((w) => w === 0).length / k.length).toBeCloseTo(0.8, 3);
    m.dispose();
    expect(report.accuracyBefore).toBeGreaterThan(0.97);
    expect(after).toBeCloseTo(report.accuracyAfter, 6);
    expect(report.accuracyBefore - after).toBeLessThan(0.01);
  }, 120_000);
});
