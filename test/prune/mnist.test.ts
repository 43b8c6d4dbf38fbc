import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { loadMnist } from '../../src/data/mnist.js';
import { buildZooModel } from '../../src/model/zoo.js';
import { magnitudePrune, PolynomialDecay, sparsityReport } from '../../src/prune/index.js';
import { evaluate, train } from '../../src/train/index.js';

beforeAll(async () => {
  await setBackend('wasm');
});

describe('magnitude pruning on real MNIST', () => {
  it('tfmot-cnn at 80% sparsity stays within 1 pp of its dense accuracy', async () => {
    const n = 12000;
    const data = loadMnist({ split: 'train', limit: n });
    const test = loadMnist({ split: 'test', limit: 2000 });
    const dense = buildZooModel('tfmot-cnn', { seed: 1 });
    await train(dense, data, { epochs: 2, batchSize: 32, learningRate: 2e-3 });
    const before = (await evaluate(dense, test)).accuracy!;
    expect(before).toBeGreaterThan(0.9);
    const steps = Math.ceil(n / 32);
    const r = await magnitudePrune(dense, data, {
      epochs: 1,
      batchSize: 32,
      configList: [{ opTypes: ['Conv2D', 'Dense'], sparsity: 0.8 }],
      // TF-MOT tutorial schedule, compressed: 50% -> 80% over the first 60% of the epoch.
      schedule: (s) => new PolynomialDecay({ initialSparsity: 0.5, finalSparsity: s, beginStep: 0, endStep: Math.round(steps * 0.6), frequency: 20 }),
    });
    const after = (await evaluate(r.model, test)).accuracy!;
    const report = sparsityReport(r.model);
    const conv = report.layers.find((l) => l.name === 'conv')!;
    const logits = report.layers.find((l) => l.name === 'logits')!;
    // Kernels are at 80%; the dense biases (12 + 10 values) are not pruned.
    expect(conv.params - conv.nonZeros).toBe(108 - Math.round(108 * 0.2));
    expect(logits.params - logits.nonZeros).toBeGreaterThanOrEqual(20280 - Math.round(20280 * 0.2));
    expect(before - after).toBeLessThan(0.01);
  });
});
