import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../../src/data/mnist.js';
import { exportTfjs } from '../../src/export/index.js';
import { buildZooModel } from '../../src/model/zoo.js';
import { useBackend } from '../helpers/backend.js';
import { loadWithStockTfjs, maxAbsDiff } from './helpers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'tfjs-export-'));
let xs: tf.Tensor;

beforeAll(async () => {
  await useBackend();
  xs = loadMnist({ split: 'test', limit: 64 }).toTensors().xs;
});

function predict(m: tf.LayersModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => (m.predict(x) as tf.Tensor).dataSync() as Float32Array);
}

function weightsOf(m: tf.LayersModel): Float32Array[] {
  return m.getWeights().map((w) => w.dataSync() as Float32Array);
}

describe('exportTfjs', () => {
  it('round-trips a conv net exactly through stock tf.loadLayersModel', async () => {
    const model = buildZooModel('cnn', { seed: 3 });
    const dir = tmp();
    const report = await exportTfjs(model, dir);
    expect(readdirSync(dir).sort()).toEqual(['group1-shard1of2.bin', 'group1-shard2of2.bin', 'model.json']);
    const loaded = await loadWithStockTfjs(dir);
    expect(maxAbsDiff(predict(loaded, xs), predict(model, xs))).toBe(0);
    expect(report.weightBytes).toBe(model.countParams() * 4);
    expect(report.gzipBytes).toBeLessThan(report.totalBytes);
    loaded.dispose();
    model.dispose();
  });

  it('splits weights into shards of at most the requested size', async () => {
    const model = buildZooModel('mlp-big', { seed: 1 }); // 9.5 MB of float32 weights
    const dir = tmp();
    const report = await exportTfjs(model, dir);
    const shards = report.files.filter((f) => f.name.endsWith('.bin'));
    expect(shards.map((s) => s.name)).toEqual(['group1-shard1of3.bin', 'group1-shard2of3.bin', 'group1-shard3of3.bin']);
    for (const s of shards) expect(statSync(join(dir, s.name)).size).toBeLessThanOrEqual(4 * 1024 * 1024);
    const small = await exportTfjs(buildZooModel('lenet300', { seed: 1 }), tmp(), { shardBytes: 100_000 });
    expect(small.files.filter((f) => f.name.endsWith('.bin')).length).toBe(Math.ceil(small.weightBytes / 100_000));
    const loaded = await loadWithStockTfjs(dir);
    expect(maxAbsDiff(predict(loaded, xs), predict(model, xs))).toBe(0);
    loaded.dispose();
    model.dispose();
  });

  for (const q of ['uint8', 'uint16'] as const) {
    it(`${q}: every loaded weight is within scale/2 of the original (scale = range / ${q === 'uint8' ? 255 : 65535})`, async () => {
      const model = buildZooModel('lenet5', { seed: 2 });
      const dir = tmp();
      const report = await exportTfjs(model, dir, { quantize: q });
      expect(report.quantizedWeights).toBe(report.weights);
      const loaded = await loadWithStockTfjs(dir);
      const qmax = q === 'uint8' ? 255 : 65535;
      const orig = weightsOf(model);
      weightsOf(loaded).forEach((w, i) => {
        const o = orig[i]!;
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of o) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
        const half = hi > lo ? (hi - lo) / qmax / 2 : 0;
        // float32 storage of the decoded value adds at most one rounding of |w|.
        const slack = 1e-7 * Math.max(Math.abs(lo), Math.abs(hi)) + 1e-12;
        expect(maxAbsDiff(w, o)).toBeLessThanOrEqual(half + slack);
        // Exact zeros (e.g. zero-initialised biases, pruned weights) stay exactly zero.
        o.forEach((v, j) => v === 0 && expect(w[j]).toBe(0));
      });
      expect(report.weightBytes).toBeLessThan((model.countParams() * 4) / (q === 'uint8' ? 3.9 : 1.99));
      loaded.dispose();
      model.dispose();
    });
  }

  it('float16: every loaded weight has relative error <= 2^-11', async () => {
    const model = buildZooModel('resnet-mini', { seed: 4 });
    const dir = tmp();
    await exportTfjs(model, dir, { quantize: 'float16' });
    const loaded = await loadWithStockTfjs(dir);
    const orig = weightsOf(model);
    weightsOf(loaded).forEach((w, i) => {
      let worst = 0;
      orig[i]!.forEach((v, j) => (worst = Math.max(worst, Math.abs(w[j]! - v) / (Math.abs(v) * 2 ** -11 + 2 ** -25))));
      expect(worst).toBeLessThanOrEqual(1);
    });
    loaded.dispose();
    model.dispose();
  });

  it('uint8 MLP predictions stay inside the error bound propagated from scale/2 per weight', async () => {
    const model = buildZooModel('lenet300', { seed: 5 });
    // Non-zero biases so bias quantization is exercised too.
    model.layers.filter((l) => l.getClassName() === 'Dense').forEach((l, i) => {
      const [k, b] = l.getWeights();
      l.setWeights([k!, tf.randomNormal(b!.shape, 0, 0.1, 'float32', 7 + i)]);
    });
    const dir = tmp();
    await exportTfjs(model, dir, { quantize: 'uint8' });
    const loaded = await loadWithStockTfjs(dir);
    const x = xs.slice(0, 32);
    // Bound: |dy| <= |W|^T dh + e_W (sum|h| + sum dh) + e_b per layer; ReLU is 1-Lipschitz.
    const bound = tf.tidy(() => {
      const dense = model.layers.filter((l) => l.getClassName() === 'Dense');
      let h = x.reshape([x.shape[0]!, -1]);
      let dh = tf.zerosLike(h);
      dense.forEach((l, i) => {
        const [k, b] = l.getWeights() as [tf.Tensor2D, tf.Tensor1D];
        const e = (t: tf.Tensor) => {
          const d = t.dataSync();
          let lo = Infinity;
          let hi = -Infinity;
          for (const v of d) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
          return (hi - lo) / 255 / 2;
        };
        const eW = e(k);
        const eB = e(b);
        const dy = tf.matMul(dh, tf.abs(k)).add(tf.add(tf.abs(h).sum(1, true), dh.sum(1, true)).mul(eW)).add(eB);
        const y = tf.matMul(h, k).add(b);
        const last = i === dense.length - 1;
        h = last ? y : tf.relu(y);
        dh = dy;
      });
      return dh.add(1e-5).dataSync() as Float32Array;
    });
    const got = predict(loaded, x);
    const ref = predict(model, x);
    let worstRatio = 0;
    for (let i = 0; i < got.length; i++) {
      expect(Math.abs(got[i]! - ref[i]!)).toBeLessThanOrEqual(bound[i]!);
      worstRatio = Math.max(worstRatio, Math.abs(got[i]! - ref[i]!) / bound[i]!);
    }
    // The bound is meaningful (quantization visibly changes outputs) yet never exceeded.
    expect(maxAbsDiff(got, ref)).toBeGreaterThan(0);
    expect(worstRatio).toBeLessThan(1);
    x.dispose();
    loaded.dispose();
    model.dispose();
  });

  it('rejects an unknown quantization and leaves the folder empty', async () => {
    const dir = tmp();
    await expect(exportTfjs(buildZooModel('mlp'), dir, { quantize: 'int4' as 'uint8' })).rejects.toThrow(/quantize must be float16, uint8 or uint16/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('does not leak tensors', async () => {
    const model = buildZooModel('tfmot-cnn', { seed: 1 });
    const before = tf.memory().numTensors;
    await exportTfjs(model, tmp(), { quantize: 'uint8' });
    await exportTfjs(model, tmp());
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
