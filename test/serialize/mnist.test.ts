import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/select.js';
import { loadMnist } from '../../src/data/mnist.js';
import { buildZooModel } from '../../src/model/zoo.js';
import { quantizeModel } from '../../src/quantize/index.js';
import { evaluate } from '../../src/train/evaluate.js';
import { measureCompression, unpackModel } from '../../src/serialize/index.js';

/** Zero the `fraction` smallest-magnitude weights of every kernel; returns the 0/1 masks. */
function magnitudePrune(model: tf.LayersModel, fraction: number): tf.Tensor[] {
  return model.weights
    .filter((w) => w.originalName.endsWith('kernel'))
    .map((w) => {
      const v = w.read().dataSync().slice() as Float32Array;
      const thr = Float32Array.from(v, Math.abs).sort()[Math.floor(fraction * v.length)]!;
      for (let i = 0; i < v.length; i++) if (Math.abs(v[i]!) < thr) v[i] = 0;
      const t = tf.tensor(v, w.shape as number[]);
      w.write(t);
      const mask = tf.notEqual(t, 0).toFloat();
      t.dispose();
      return mask;
    });
}

describe('real MNIST: LeNet-300-100, 90% zeros, 5-bit codebook, packed', () => {
  it('packs many times smaller than fp32 and keeps accuracy within a small margin', async () => {
    await setBackend('wasm');
    const train = loadMnist({ split: 'train', limit: 10000 });
    const test = loadMnist({ split: 'test', limit: 2000 });
    const model = buildZooModel('lenet300', { seed: 1 });
    model.compile({ optimizer: tf.train.adam(1e-3), loss: (y: tf.Tensor, p: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, p) });
    const { xs, ys } = train.toTensors();
    await model.fit(xs, ys, { epochs: 2, batchSize: 64, verbose: 0, shuffle: false });
    tf.dispose([xs, ys]);

    // One-shot 90% magnitude pruning, then one epoch of masked retraining (zeros re-applied each step).
    const masks = magnitudePrune(model, 0.9);
    const kernels = model.weights.filter((w) => w.originalName.endsWith('kernel'));
    const opt = tf.train.adam(1e-3);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    for (const b of train.batches({ batchSize: 64, shuffle: true, seed: 1 })) {
      tf.dispose(opt.minimize(() => tf.losses.softmaxCrossEntropy(b.ys, model.apply(b.xs) as tf.Tensor) as tf.Scalar, false, vars) ?? undefined);
      tf.tidy(() => kernels.forEach((w, i) => w.write(tf.mul(w.read(), masks[i]!))));
      tf.dispose([b.xs, b.ys]);
    }
    tf.dispose(masks);
    opt.dispose();
    const prunedAcc = (await evaluate(model, test)).accuracy!;
    expect(prunedAcc).toBeGreaterThan(0.85);

    const r = await quantizeModel(model, { mode: 'codebook', bits: 5, validation: test, fineTune: { data: train, steps: 100 }, maxAccuracyDrop: 1.5 });
    const report = await measureCompression(r.model, { quantized: r.quantized }, model);
    const { bytes, container: stats, baseline: fp32 } = report;
    const back = await unpackModel(bytes);
    const unpackedAcc = (await evaluate(back, test)).accuracy!;

    // 266,610 float32 weights = 1,066,440 bytes dense.
    expect(stats.denseWeightBytes).toBe(266610 * 4);
    expect(stats.ratio).toBeGreaterThan(25);
    expect(stats.fileBytes).toBe(bytes.length);
    expect(fp32.weightBytes).toBe(stats.denseWeightBytes);
    // Also far below the gzipped fp32 tfjs files (gzip already makes the zeros cheap there).
    expect(report.gzipRatio).toBeGreaterThan(3);
    expect(unpackedAcc).toBe(r.accuracyAfter);
    expect(Math.abs(unpackedAcc - prunedAcc)).toBeLessThan(0.015);
    for (const w of back.weights) {
      if (!w.originalName.endsWith('kernel')) continue;
      const v = w.read().dataSync();
      let zeros = 0;
      const distinct = new Set<number>();
      for (const x of v) x === 0 ? zeros++ : distinct.add(x);
      expect(zeros / v.length, w.originalName).toBeGreaterThanOrEqual(0.9);
      expect(distinct.size, w.originalName).toBeLessThanOrEqual(32);
    }
    console.log(
      `lenet300 90% zeros + 5-bit codebook: ${bytes.length} B (fp32 weights ${stats.denseWeightBytes} B, ${stats.ratio.toFixed(1)}x; ` +
        `tfjs fp32 gzip ${fp32.gzipBytes} B), accuracy ${(prunedAcc * 100).toFixed(2)}% -> ${(unpackedAcc * 100).toFixed(2)}%`,
    );
    back.dispose();
    r.model.dispose();
    model.dispose();
  });
});
