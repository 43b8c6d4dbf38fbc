import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMnist } from '../../src/data/mnist.js';
import { buildZooModel } from '../../src/model/zoo.js';
import { train, EarlyStopping, ReduceLROnPlateau } from '../../src/train/index.js';
import type { TrainArgs, TrainCallback } from '../../src/train/index.js';
import { PruningCallback, PolynomialDecay } from '../../src/prune/index.js';
import { distill } from '../../src/distill/index.js';
import type { DistillArgs } from '../../src/distill/index.js';
import { useBackend } from '../helpers/backend.js';

const trainSet = loadMnist({ split: 'train', limit: 512 });
const testSet = loadMnist({ split: 'test', limit: 128 });
const tmp = mkdtempSync(join(tmpdir(), 'resume-'));
let n = 0;
const freshDir = () => join(tmp, `run-${n++}`);

/** Raw bytes of every weight (and extra variable): bit-identical means these are equal. */
function bytes(vars: Array<{ read?: () => tf.Tensor } | tf.Tensor>): Buffer[] {
  return vars.map((v) => {
    const t = 'read' in v && typeof v.read === 'function' ? v.read() : (v as tf.Tensor);
    const d = t.dataSync() as Float32Array;
    return Buffer.from(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
  });
}

/** How many float32 values differ between two weight lists (0 = bit-identical), for readable failures. */
function differing(a: Buffer[], b: Buffer[]): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  a.forEach((x, i) => {
    const fa = new Float32Array(x.buffer, x.byteOffset, x.byteLength / 4);
    const fb = new Float32Array(b[i]!.buffer, b[i]!.byteOffset, b[i]!.byteLength / 4);
    expect(fa.length).toBe(fb.length);
    for (let j = 0; j < fa.length; j++) if (!Object.is(fa[j], fb[j])) diff++;
  });
  return diff;
}

/** A small student whose 'dense_1' (64 units) is matched to the teacher's (300) through a learned projection. */
function student(seed: number): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed * 10 + k });
  const m = tf.sequential({ name: 'student' });
  m.add(tf.layers.flatten({ inputShape: [28, 28, 1] }));
  m.add(tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: init(1), name: 'dense_1' }));
  m.add(tf.layers.dense({ units: 10, kernelInitializer: init(2), name: 'logits' }));
  return m;
}

/** Throws when epoch `k` begins: the run dies right after epoch k's checkpoint was saved. */
const dieAt = (k: number): TrainCallback => ({
  onEpochBegin(epoch) {
    if (epoch === k) throw new Error('simulated kill');
  },
});

describe('resume from a checkpoint is bit-identical to an uninterrupted run', () => {
  beforeAll(() => useBackend());
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('lenet300 with adam, stopped after epoch 2 of 3 (all 266,610 weights, byte for byte)', async () => {
    // 32 steps before the stop: there tfjs' own setWeights (beta2^t as pow(beta2, t + 1)) is off
    // by an ulp from Adam's running product, which shows in the weights.
    const args: TrainArgs = { epochs: 3, batchSize: 32, seed: 5 };
    const full = buildZooModel('lenet300', { seed: 1 });
    await train(full, trainSet, { ...args, checkpointDir: freshDir() });
    const dir = freshDir();
    const a = buildZooModel('lenet300', { seed: 1 });
    await expect(train(a, trainSet, { ...args, checkpointDir: dir, callbacks: [dieAt(2)] })).rejects.toThrow('simulated kill');
    a.dispose();
    const resumed = buildZooModel('lenet300', { seed: 99 }); // other init: everything must come from the checkpoint
    const tensors = tf.memory().numTensors;
    const r = await train(resumed, trainSet, { ...args, checkpointDir: dir });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(r.resumedFromEpoch).toBe(2);
    expect(r.steps).toBe(3 * trainSet.batchCount(32));
    expect(full.countParams()).toBe(266610);
    expect(differing(bytes(full.weights), bytes(resumed.weights))).toBe(0);
    full.dispose();
    resumed.dispose();
  });

  it('every built-in optimizer (slot variables, beta powers, step count and learning rate restored)', async () => {
    for (const optimizer of ['adam', 'adamax', 'sgd', 'momentum', 'rmsprop', 'adagrad']) {
      const args: TrainArgs = { epochs: 3, batchSize: 128, seed: 2, optimizer, learningRate: 0.01 };
      const full = buildZooModel('lenet300', { seed: 3 });
      // ReduceLROnPlateau with patience 0 on 'loss' lowers the rate between epochs: the lowered rate must survive the resume.
      const plateau = () => new ReduceLROnPlateau({ monitor: 'accuracy', mode: 'min', patience: 0, factor: 0.5 });
      const ref = await train(full, trainSet, { ...args, callbacks: [plateau()] });
      const dir = freshDir();
      const a = buildZooModel('lenet300', { seed: 3 });
      await expect(train(a, trainSet, { ...args, checkpointDir: dir, callbacks: [plateau(), dieAt(2)] })).rejects.toThrow('simulated kill');
      a.dispose();
      const b = buildZooModel('lenet300', { seed: 4 });
      const r = await train(b, trainSet, { ...args, checkpointDir: dir, callbacks: [plateau()] });
      expect(r.resumedFromEpoch, optimizer).toBe(2);
      expect(r.history.map((h) => h.lr), optimizer).toEqual(ref.history.map((h) => h.lr));
      expect(differing(bytes(full.weights), bytes(b.weights)), optimizer).toBe(0);
      full.dispose();
      b.dispose();
    }
  });

  it('with pruning: masks, last sparsities and the schedule step continue exactly (masks updated after the resume too)', async () => {
    const steps = 3 * trainSet.batchCount(64);
    const cb = (m: tf.LayersModel) =>
      new PruningCallback(m, {
        configList: [{ opTypes: ['Dense'], sparsity: 0.8 }],
        // Updates every 4 steps across all three epochs: masks change after the resume point.
        schedule: (s) => new PolynomialDecay({ initialSparsity: 0.2, finalSparsity: s, beginStep: 0, endStep: steps - 1, frequency: 4 }),
      });
    const args: TrainArgs = { epochs: 3, batchSize: 64, seed: 8 };
    const full = buildZooModel('lenet300', { seed: 2 });
    const c0 = cb(full);
    await train(full, trainSet, { ...args, callbacks: [c0] });
    const dir = freshDir();
    const a = buildZooModel('lenet300', { seed: 2 });
    const c1 = cb(a);
    await expect(train(a, trainSet, { ...args, checkpointDir: dir, callbacks: [c1, dieAt(1)] })).rejects.toThrow('simulated kill');
    c1.dispose();
    a.dispose();
    // A model whose zeros say nothing about the masks: the masks must come from the checkpoint.
    const b = buildZooModel('lenet300', { seed: 2 });
    const c2 = cb(b);
    const r = await train(b, trainSet, { ...args, checkpointDir: dir, callbacks: [c2] });
    expect(r.resumedFromEpoch).toBe(1);
    expect(differing(bytes(full.weights), bytes(b.weights))).toBe(0);
    const masks = (c: PruningCallback) => Object.values(c.masks).flatMap((ws) => Object.values(ws));
    expect(differing(bytes(masks(c0)), bytes(masks(c2)))).toBe(0);
    expect(c2.lastSparsity).toEqual(c0.lastSparsity);
    for (const c of [c0, c2]) c.dispose();
    full.dispose();
    b.dispose();
  });

  it('early stopping resumes its counters and best weights, and a finished early stop does not train again', async () => {
    const args: TrainArgs = { epochs: 6, batchSize: 128, seed: 1, learningRate: 0.05, validation: testSet };
    // 'accuracy' in 'min' mode gets "worse" as training works: stops after patience epochs, restoring epoch 1's weights.
    const es = () => new EarlyStopping({ monitor: 'accuracy', mode: 'min', patience: 2, restoreBestWeights: true });
    const full = buildZooModel('lenet300', { seed: 6 });
    const ref = await train(full, trainSet, { ...args, callbacks: [es()] });
    expect(ref.stopReason).toMatch(/early stopping/);
    const dir = freshDir();
    const a = buildZooModel('lenet300', { seed: 6 });
    await expect(train(a, trainSet, { ...args, checkpointDir: dir, callbacks: [es(), dieAt(2)] })).rejects.toThrow('simulated kill');
    a.dispose();
    const b = buildZooModel('lenet300', { seed: 7 });
    const r = await train(b, trainSet, { ...args, checkpointDir: dir, callbacks: [es()] });
    expect(r.history).toHaveLength(ref.history.length);
    expect(r.stopReason).toBe(ref.stopReason);
    expect(differing(bytes(full.weights), bytes(b.weights))).toBe(0);
    // Re-run once more: the checkpoint records the early stop, so nothing trains and the result is the same.
    const c = buildZooModel('lenet300', { seed: 8 });
    const again = await train(c, trainSet, { ...args, checkpointDir: dir, callbacks: [es()] });
    expect(again.resumedFromEpoch).toBe(ref.history.length);
    expect(again.stopReason).toBe(ref.stopReason);
    expect(differing(bytes(full.weights), bytes(c.weights))).toBe(0);
    for (const m of [full, b, c]) m.dispose();
  });

  it('distillation with a feature projection (extra trained variables) resumes bit-identically', async () => {
    const teacher = buildZooModel('lenet300', { seed: 11 });
    const base = (student: tf.LayersModel, extra: Partial<DistillArgs> = {}): DistillArgs => ({
      teacher,
      student,
      data: trainSet,
      epochs: 3,
      batchSize: 64,
      seed: 4,
      temperature: 4,
      alpha: 0.3,
      features: [{ teacher: 'dense_1', student: 'dense_1' }],
      ...extra,
    });
    const full = student(12);
    await distill(base(full));
    const dir = freshDir();
    const a = student(12);
    await expect(distill(base(a, { checkpointDir: dir, callbacks: [dieAt(1)] }))).rejects.toThrow('simulated kill');
    a.dispose();
    const b = student(13);
    const r = await distill(base(b, { checkpointDir: dir }));
    expect(r.resumedFromEpoch).toBe(1);
    expect(differing(bytes(full.weights), bytes(b.weights))).toBe(0);
    for (const m of [teacher, full, b]) m.dispose();
  });
});
