import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { loadMnist } from '../../src/data/mnist.js';
import { configFromSensitivity, formatSensitivity, levelPrune, disposeMasks, sensitivityAnalysis } from '../../src/prune/index.js';
import type { SensitivityResult } from '../../src/prune/index.js';
import { evaluate, train } from '../../src/train/index.js';
import { tinyMlp, weightValues } from './helpers.js';

beforeAll(async () => {
  await setBackend('wasm');
});

describe('sensitivity analysis', () => {
  it('prunes one layer at a time, restores it, and matches an independent level prune', async () => {
    const model = tinyMlp();
    await train(model, loadMnist({ split: 'train', limit: 1000 }), { epochs: 1, batchSize: 50 });
    const val = loadMnist({ split: 'test', limit: 300 });
    const before = weightValues(model, 'dense_1').slice();
    const n0 = tf.memory().numTensors;
    const r = await sensitivityAnalysis(model, val, { sparsities: [0.5, 0.95] });
    expect(tf.memory().numTensors).toBe(n0);
    expect(Array.from(weightValues(model, 'dense_1'))).toEqual(Array.from(before));
    expect(r.rows.map((x) => `${x.layer}@${x.sparsity}`)).toEqual(['dense_1@0.5', 'dense_1@0.95', 'dense_2@0.5', 'dense_2@0.95', 'logits@0.5', 'logits@0.95']);
    const { model: pruned, masks } = await levelPrune(model, { configList: [{ opNames: ['dense_2'], sparsity: 0.95 }] });
    disposeMasks(masks);
    const independent = await evaluate(pruned, val);
    expect(r.rows.find((x) => x.layer === 'dense_2' && x.sparsity === 0.95)!.accuracy).toBe(independent.accuracy);
    expect(r.baseline.accuracy).toBe((await evaluate(model, val)).accuracy);
    expect(formatSensitivity(r)).toMatch(/^layer\s+params\s+50%\s+95%\ndense_1\s+50176/);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('turns a sweep into a per-layer config list reaching the target overall sparsity', () => {
    const row = (layer: string, params: number, sparsity: number, drop: number) => ({ layer, params, sparsity, accuracy: 0.9 - drop, loss: 0, drop });
    const r: SensitivityResult = {
      baseline: { accuracy: 0.9, loss: 0 },
      sparsities: [0.5, 0.9],
      rows: [row('a', 900, 0.5, 0.001), row('a', 900, 0.9, 0.002), row('b', 100, 0.5, 0.01), row('b', 100, 0.9, 0.2)],
    };
    // Robust layer 'a' takes 0.9 first: (900*0.9) / 1000 = 0.81 >= 0.8 with 'b' untouched.
    expect(configFromSensitivity(r, { targetSparsity: 0.8 })).toEqual([{ opNames: ['a'], sparsity: 0.9 }]);
    expect(configFromSensitivity(r, { targetSparsity: 0.85 })).toEqual([{ opNames: ['a'], sparsity: 0.9 }, { opNames: ['b'], sparsity: 0.5 }]);
    expect(() => configFromSensitivity(r, { targetSparsity: 0.95 })).toThrow(/target sparsity 0.95 is out of reach: the highest swept sparsities give 0.900/);
  });
});
