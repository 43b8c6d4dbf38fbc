import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import type { TensorDataset } from '../../src/data/dataset.js';
import { loadMnist } from '../../src/data/mnist.js';
import { cloneModel } from '../../src/model/clone.js';
import { distill, registerDistillLoss, teacherCachePath, hashDataset, freezeTeacher } from '../../src/distill/index.js';
import type { Logs, TrainCallback } from '../../src/train/index.js';
import { graphTwin, tinyMlp, weightValues } from './helpers.js';

let data: TensorDataset;
let val: TensorDataset;
const tmp = mkdtempSync(join(tmpdir(), 'distill-test-'));

/** Callback recording every batch's logs. */
function batchLogger(): TrainCallback & { logs: Logs[] } {
  const logs: Logs[] = [];
  return { logs, onBatchEnd: (_s, l) => void logs.push({ ...l }) };
}

function logSoftmax(z: number[], T = 1): number[] {
  const m = Math.max(...z.map((v) => v / T));
  const lse = Math.log(z.reduce((a, v) => a + Math.exp(v / T - m), 0)) + m;
  return z.map((v) => v / T - lse);
}

describe('distill', () => {
  beforeAll(async () => {
    await setBackend('wasm');
    data = loadMnist({ limit: 256 });
    val = loadMnist({ split: 'test', limit: 128 });
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('first-batch loss equals alpha * CE + (1 - alpha) * KL x T^2 computed in plain JS', async () => {
    const teacher = tinyMlp({ hidden: 32, seed: 5 });
    const student = tinyMlp({ hidden: 8, seed: 9 });
    const batch = data.take(32);
    const { xs, ys } = batch.toTensors();
    const s = (student.predict(xs) as tf.Tensor).arraySync() as number[][];
    const t = (teacher.predict(xs) as tf.Tensor).arraySync() as number[][];
    const y = ys.arraySync() as number[][];
    tf.dispose([xs, ys]);
    const T = 3;
    const alpha = 0.25;
    let ce = 0;
    let kl = 0;
    s.forEach((row, i) => {
      ce -= logSoftmax(row)[y[i]!.indexOf(1)]!;
      const lp = logSoftmax(t[i]!, T);
      const lq = logSoftmax(row, T);
      kl += lp.reduce((a, v, j) => a + Math.exp(v) * (v - lq[j]!), 0);
    });
    ce /= s.length;
    kl = (kl / s.length) * T * T;
    const log = batchLogger();
    await distill({ teacher, student, data: batch, temperature: T, alpha, epochs: 1, batchSize: 32, shuffle: false, callbacks: [log] });
    expect(log.logs[0]!.hard_loss).toBeCloseTo(ce, 4);
    expect(log.logs[0]!.distill_loss).toBeCloseTo(kl, 4);
    expect(log.logs[0]!.loss).toBeCloseTo(alpha * ce + (1 - alpha) * kl, 4);
  });

  it('leaves the teacher bit-for-bit unchanged, reports validation figures and leaks no tensors', async () => {
    const teacher = tinyMlp({ hidden: 32, seed: 1, dropout: 0.5 });
    const student = tinyMlp({ hidden: 8, seed: 2 });
    const before = weightValues(teacher);
    const tensorsBefore = tf.memory().numTensors;
    const r = await distill({
      teacher,
      student,
      data,
      validation: val,
      epochs: 2,
      batchSize: 64,
      features: [{ teacher: 'hidden', student: 'hidden' }], // 32 vs 8: a learned dense projection
      learningRate: 0.01,
    });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(r.teacherUnchanged).toBe(true);
    const after = weightValues(teacher);
    after.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(before[i]!)));
    expect(r.history).toHaveLength(2);
    for (const k of ['val_accuracy', 'val_hard_loss', 'val_distill_loss', 'val_total_loss', 'hard_loss', 'distill_loss', 'accuracy']) {
      expect(r.history[1]![k], k).toBeTypeOf('number');
    }
    expect(r.settings.losses).toEqual([{ name: 'logits', weight: 1 }, { name: 'feature', weight: 1 }]);
    expect(r.history[1]!.distill_loss!).toBeLessThan(r.history[0]!.distill_loss!);
    expect(r.final!.accuracy).toBe(r.history[1]!.val_accuracy);
  });

  it('cached teacher outputs give the same losses as the uncached run, and are reused', async () => {
    // Dropout in the teacher: identical losses also prove the teacher runs in inference mode.
    const teacher = tinyMlp({ hidden: 32, seed: 3, dropout: 0.5 });
    const studentA = tinyMlp({ hidden: 8, seed: 4 });
    const studentB = await cloneModel(studentA);
    const studentC = await cloneModel(studentA);
    const cacheDir = join(tmp, 'cache');
    const common = { teacher, data, validation: val, epochs: 2, batchSize: 64, seed: 7, temperature: 5, alpha: 0.3 };
    const plain = await distill({ ...common, student: studentA });
    const cached = await distill({ ...common, student: studentB, cacheTeacher: cacheDir });
    expect(cached.cache!.hit).toBe(false);
    expect(existsSync(cached.cache!.path)).toBe(true);
    expect(cached.cache!.path).toBe(teacherCachePath(cacheDir, freezeTeacher(teacher).hash(), hashDataset(data), []));
    const again = await distill({ ...common, student: studentC, cacheTeacher: cacheDir });
    expect(again.cache!.hit).toBe(true);
    expect(cached.validationCache!.hit).toBe(false);
    expect(again.validationCache!.hit).toBe(true);
    for (const r of [cached, again]) {
      r.history.forEach((h, e) => {
        expect(h.loss).toBeCloseTo(plain.history[e]!.loss!, 5);
        expect(h.distill_loss).toBeCloseTo(plain.history[e]!.distill_loss!, 5);
        expect(h.val_distill_loss).toBeCloseTo(plain.history[e]!.val_distill_loss!, 5);
        expect(h.val_accuracy).toBeCloseTo(plain.history[e]!.val_accuracy!, 5);
      });
    }
    // Another teacher (different weights) must not hit this cache.
    const other = tinyMlp({ hidden: 32, seed: 30, dropout: 0.5 });
    expect(teacherCachePath(cacheDir, freezeTeacher(other).hash(), hashDataset(data), [])).not.toBe(cached.cache!.path);
    // ... nor other data.
    expect(hashDataset(data.take(200))).not.toBe(hashDataset(data));
  });

  it('a graph-model teacher gives the same losses as the equivalent layers teacher, features included', async () => {
    const layersTeacher = tinyMlp({ hidden: 32, seed: 11 });
    const graphTeacher = await graphTwin(layersTeacher);
    const s1 = tinyMlp({ hidden: 8, seed: 12 });
    const s2 = await cloneModel(s1);
    const common = { data: data.take(128), epochs: 1, batchSize: 64, seed: 1 };
    const a = await distill({ ...common, teacher: layersTeacher, student: s1, features: [{ teacher: 'hidden', student: 'hidden' }] });
    const b = await distill({ ...common, teacher: graphTeacher, student: s2, features: [{ teacher: 'hidden_relu', student: 'hidden' }] });
    expect(b.history[0]!.loss).toBeCloseTo(a.history[0]!.loss!, 5);
    expect(b.teacherUnchanged).toBe(true);
    await expect(distill({ ...common, teacher: graphTeacher, student: s2, features: [{ teacher: 'nope', student: 'hidden' }] })).rejects.toThrow(
      /teacher graph model has no node 'nope': valid node names are input, flat_shape, flat, w1/,
    );
    graphTeacher.dispose();
  });

  it('a softmax teacher is distilled through log-probabilities (same KL as its logits twin)', async () => {
    const logitsTeacher = tinyMlp({ hidden: 32, seed: 21 });
    const probTeacher = tinyMlp({ hidden: 32, seed: 21, softmax: true });
    const s1 = tinyMlp({ hidden: 8, seed: 22 });
    const s2 = await cloneModel(s1);
    const common = { data: data.take(128), epochs: 1, batchSize: 64, seed: 1, temperature: 4 };
    const a = await distill({ ...common, teacher: logitsTeacher, student: s1 });
    const b = await distill({ ...common, teacher: probTeacher, student: s2 });
    expect(b.history[0]!.distill_loss).toBeCloseTo(a.history[0]!.distill_loss!, 4);
  });

  it('rejects bad input with clear errors', async () => {
    const teacher = tinyMlp({ hidden: 16, seed: 1 });
    const student = tinyMlp({ hidden: 8, seed: 2 });
    const five = tinyMlp({ hidden: 8, seed: 2, classes: 5, name: 'five' });
    const base = { teacher, student, data: data.take(64), epochs: 1 };
    await expect(distill({ ...base, student: five })).rejects.toThrow(/teacher 'tiny' outputs shape \[10\] but student 'five' outputs \[5\]/);
    await expect(distill({ ...base, temperature: 0 })).rejects.toThrow(/temperature must be a number > 0, got 0/);
    await expect(distill({ ...base, temperature: -2 })).rejects.toThrow(/temperature/);
    await expect(distill({ ...base, alpha: 1.5 })).rejects.toThrow(/alpha must be in \[0, 1\]/);
    await expect(distill({ ...base, alpha: -0.1 })).rejects.toThrow(/alpha must be in \[0, 1\]/);
    await expect(distill({ ...base, losses: ['kl'] })).rejects.toThrow(/unknown distillation loss 'kl'/);
    await expect(distill({ ...base, losses: ['feature'] })).rejects.toThrow(/needs at least one feature pair/);
    await expect(distill({ ...base, features: [{ teacher: 'hiddn', student: 'hidden' }] })).rejects.toThrow(
      /teacher model 'tiny' has no layer 'hiddn': valid layer names are .*hidden, logits/,
    );
    await expect(distill({ ...base, features: [{ teacher: 'hidden', student: 'dense_9' }] })).rejects.toThrow(/student model 'tiny' has no layer 'dense_9'/);
    await expect(distill({ ...base, student: teacher })).rejects.toThrow(/same model object/);
    await expect(distill({ ...base, cacheTeacher: true, augment: (xs) => xs.clone() })).rejects.toThrow(/cacheTeacher cannot be used with augment/);
  });

  it('stops on a NaN loss, keeping the last good epoch in weights and checkpoint', async () => {
    let calls = 0;
    // Finite for the first epoch (4 steps of 64), then NaN: a loss that blows up.
    registerDistillLoss({
      name: 'test-blows-up',
      describe: 'test only',
      compute: ({ student, teacher }) => tf.mul(tf.mean(tf.squaredDifference(student, teacher)), ++calls > 5 ? NaN : 1) as tf.Scalar,
    });
    const teacher = tinyMlp({ hidden: 16, seed: 1 });
    const student = tinyMlp({ hidden: 8, seed: 2 });
    let epoch1: Float32Array[] = [];
    const dir = join(tmp, 'ckpt');
    const r = await distill({
      teacher,
      student,
      data,
      epochs: 3,
      batchSize: 64,
      losses: ['test-blows-up'],
      checkpointDir: dir,
      callbacks: [{ onEpochEnd: (e) => void (e === 0 && (epoch1 = weightValues(student))) }],
    });
    expect(r.stopReason).toMatch(/loss became NaN at epoch 2/);
    expect(r.history).toHaveLength(1);
    weightValues(student).forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(epoch1[i]!)));
    expect(JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')).epoch).toBe(1);
  });

  it('passes callbacks through: a pruning-style callback keeps masked weights at zero', async () => {
    const teacher = tinyMlp({ hidden: 16, seed: 1 });
    const student = tinyMlp({ hidden: 8, seed: 2 });
    const kernel = student.getLayer('hidden').getWeights()[0]!;
    const maskValues = new Float32Array(kernel.size).map((_, i) => (i % 2 === 0 ? 1 : 0));
    const mask = tf.tensor(maskValues, kernel.shape);
    // What src/prune's callback does: re-apply fixed masks after every optimizer step.
    const apply = () => {
      const v = student.getLayer('hidden').trainableWeights[0]!;
      v.write(tf.tidy(() => tf.mul(v.read(), mask)));
    };
    const r = await distill({ teacher, student, data, epochs: 2, batchSize: 64, callbacks: [{ onTrainBegin: apply, onBatchEnd: apply }] });
    const w = student.getLayer('hidden').getWeights()[0]!.dataSync();
    const zerosOff = Array.from(w).filter((v, i) => maskValues[i] === 0 && v !== 0).length;
    const nonzerosOn = Array.from(w).filter((v, i) => maskValues[i] === 1 && v !== 0).length;
    expect(zerosOff).toBe(0);
    expect(nonzerosOn).toBeGreaterThan(maskValues.length / 2 - 10);
    expect(r.history[1]!.loss!).toBeLessThan(r.history[0]!.loss!);
    mask.dispose();
  });
});
