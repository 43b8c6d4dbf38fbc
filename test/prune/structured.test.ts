import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { buildZooModel } from '../../src/model/zoo.js';
import { buildDependencyGraph, maskedReference, planStructured, speedup, structuredPrune } from '../../src/prune/index.js';
import { perturbStats, weightValues } from './helpers.js';

beforeAll(async () => {
  // The pure-JS backend: the reference and the small model are compared to 1e-5.
  await setBackend('cpu');
});

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('structured pruning speed-up', () => {
  it.each([
    ['cnn', 'l1', 'layer'],
    ['resnet-mini', 'l2', 'layer'],
    ['resnet-mini', 'bn', 'global'],
    ['mobilenet-mini', 'bn', 'layer'],
    ['unet-mini', 'l1', 'global'],
  ] as const)('%s (%s, %s ranking): smaller model outputs equal the masked reference', async (name, importance, ranking) => {
    const model = buildZooModel(name, { seed: 4 });
    perturbStats(model);
    const plan = planStructured(model, { ratio: 0.5, importance, ranking });
    const small = await speedup(model, plan);
    const ref = await maskedReference(model, plan);
    expect(small.countParams()).toBeLessThan(model.countParams() * 0.6);
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 11);
    const [a, b, c] = [ref, small, model].map((m) => m.predict(x) as tf.Tensor);
    expect(b.shape).toEqual(c.shape);
    expect(maxDiff(a!, b!)).toBeLessThan(1e-5);
    // The reference really differs from the original, so the comparison is not vacuous.
    expect(maxDiff(a!, c!)).toBeGreaterThan(1e-2);
    tf.dispose([x, a!, b!, c!]);
    // Output units are never removed.
    expect(plan.skipped.some((s) => s.producers.includes('logits') && s.reason === 'reaches a model output')).toBe(true);
  });

  it('the rebuilt model runs on wasm too (fresh weight tensors, fused conv kernels)', async () => {
    await setBackend('wasm');
    try {
      const model = buildZooModel('cnn', { seed: 4 });
      perturbStats(model);
      const plan = planStructured(model, { ratio: 0.5 });
      const [small, ref] = [await speedup(model, plan), await maskedReference(model, plan)];
      const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 5);
      expect(maxDiff(small.predict(x) as tf.Tensor, ref.predict(x) as tf.Tensor)).toBeLessThan(1e-5);
    } finally {
      await setBackend('cpu');
    }
  });

  it('does not leak tensors', async () => {
    const model = buildZooModel('resnet-mini', { seed: 1 });
    const n0 = tf.memory().numTensors;
    const r = await structuredPrune(model, { ratio: 0.5, importance: 'bn' });
    r.model.dispose();
    const ref = await maskedReference(model, r.plan);
    ref.dispose();
    expect(tf.memory().numTensors).toBe(n0);
  });

  it('ratio 0 rebuilds an identical model', async () => {
    const model = buildZooModel('mobilenet-mini', { seed: 2 });
    perturbStats(model);
    const small = await speedup(model, planStructured(model, { ratio: 0 }));
    expect(small.countParams()).toBe(model.countParams());
    const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 1);
    expect(maxDiff(small.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBe(0);
  });

  it('copies exactly the surviving weights (hand-checked Dense chain)', async () => {
    const input = tf.input({ shape: [3], name: 'in' });
    const h = tf.layers.dense({ units: 4, activation: 'relu', name: 'h' }).apply(input) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, name: 'out' }).apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    // Column L1 norms of h's kernel: 3, 12, 0.3, 6 -> 50% keeps units 1 and 3.
    model.getLayer('h').setWeights([tf.tensor2d([[1, 4, 0.1, 2], [1, 4, 0.1, 2], [1, 4, 0.1, 2]]), tf.tensor1d([10, 11, 12, 13])]);
    model.getLayer('out').setWeights([tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]), tf.tensor1d([0.5, -0.5])]);
    const { model: small, table } = await structuredPrune(model, { ratio: 0.5, importance: 'l1' });
    expect(table).toEqual([{ layers: 'h', before: 4, after: 2 }]);
    expect(Array.from(weightValues(small, 'h'))).toEqual([4, 2, 4, 2, 4, 2]);
    expect(Array.from(weightValues(small, 'h', 'bias'))).toEqual([11, 13]);
    expect(Array.from(weightValues(small, 'out'))).toEqual([3, 4, 7, 8]);
    expect(Array.from(weightValues(small, 'out', 'bias'))).toEqual([0.5, -0.5]);
  });

  it('Flatten fan-out removes H*W rows of the Dense kernel in NHWC order', async () => {
    const model = buildZooModel('tfmot-cnn', { seed: 1 });
    const plan = planStructured(model, { ratio: 0.5 });
    const keep = [...plan.groups[0]!.keep];
    const small = await speedup(model, plan);
    const big = weightValues(model, 'logits'); // [13*13*12, 10]
    const got = weightValues(small, 'logits'); // [13*13*6, 10]
    expect(got.length).toBe(13 * 13 * 6 * 10);
    for (const p of [0, 7, 168]) {
      keep.forEach((c, j) => {
        for (let o = 0; o < 10; o++) expect(got[(p * 6 + j) * 10 + o]).toBe(big[(p * 12 + c) * 10 + o]);
      });
    }
  });

  it('dependency graph couples residual Add inputs and maps Concatenate offsets', () => {
    const res = buildDependencyGraph(buildZooModel('resnet-mini'));
    const producers = res.groups.map((g) => g.producers.map((l) => l.name).sort().join('+'));
    expect(producers).toContain('block1_conv2+stem_conv');
    expect(producers).toContain('block2_conv2+block2_proj');
    const stem = res.groups.find((g) => g.producers.some((l) => l.name === 'stem_conv'))!;
    expect(stem.batchNorms.map((b) => b.layer.name).sort()).toEqual(['block1_bn2', 'stem_bn']);
    const unet = buildDependencyGraph(buildZooModel('unet-mini'));
    const concat = unet.info.get('skip_1')!.output.segments;
    expect(concat.map((s) => s.size)).toEqual([16, 16]);
    const names = concat.map((s) => unet.groups.find((g) => g.id === s.group)!.producers.map((l) => l.name).join());
    expect(names).toEqual(['up_1', 'enc_1']);
  });

  it('an unsupported consumer is an error naming the layer and why', async () => {
    const input = tf.input({ shape: [8, 8, 1] });
    let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'c1' }).apply(input) as tf.SymbolicTensor;
    x = tf.layers.reshape({ targetShape: [36, 4], name: 'reshape' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.flatten({ name: 'flat' }).apply(x) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, name: 'out' }).apply(x) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    expect(() => planStructured(model, { ratio: 0.5 })).toThrow(/layer 'reshape' \(Reshape\) consumes the channels of c1 but cannot be re-indexed \(class Reshape is not known to structured pruning\)/);
    const lax = planStructured(model, { ratio: 0.5, strict: false });
    expect(lax.keep.size).toBe(0);
    expect(() => planStructured(model, { ratio: 0.5, importance: 'bn' })).toThrow(/reshape/);
    expect(() => planStructured(buildZooModel('cnn'), { ratio: 0.5, importance: 'bn' })).toThrow(/importance 'bn': channels of 'conv_1' are not followed by a BatchNormalization layer/);
    expect(() => planStructured(buildZooModel('cnn'), { ratio: 0.5, importance: 'taylor' })).toThrow(/unknown importance 'taylor': expected one of l1, l2, bn/);
  });

  it('config lists pick layers and ratios; excluded layers stay whole', () => {
    const model = buildZooModel('cnn');
    const plan = planStructured(model, { configList: [{ opTypes: ['Conv2D'], sparsity: 0.25 }, { opNames: ['conv_2'], exclude: true }] });
    expect(plan.groups.map((g) => [g.group.producers[0]!.name, g.keep.length])).toEqual([['conv_1', 24]]);
    expect(() => planStructured(model, { configList: [{ opTypes: ['MaxPooling2D'], sparsity: 0.5 }] })).toThrow(/'MaxPooling2D' has no channels structured pruning removes/);
  });
});
