import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { classificationMetrics, evaluateQuality, looksLikeProbabilities, segmentationMetrics } from '../../src/bench/quality.js';
import { openTfjsRunner } from '../../src/bench/runner-tfjs.js';
import { TensorDataset, oneHot } from '../../src/data/dataset.js';

// Six 3-class samples whose logits we choose; expected metrics worked out by hand below.
const LOGITS = [
  [2, 1, 0], // y0 -> pred 0 (right)
  [0, 3, 1], // y1 -> pred 1 (right)
  [1, 0, 2], // y0 -> pred 2 (wrong, true class 2nd)
  [0, 1, 0.5], // y2 -> pred 1 (wrong, true class 2nd)
  [3, 2, 1], // y2 -> pred 0 (wrong, true class 3rd)
  [0, 0, 5], // y2 -> pred 2 (right)
];
const LABELS = [0, 1, 0, 2, 2, 2];

/** A model whose output equals its input (identity kernel), optionally softmaxed. */
function identityModel(n: number, activation: 'linear' | 'softmax'): tf.LayersModel {
  const input = tf.input({ shape: [n] });
  const out = tf.layers.dense({ units: n, useBias: false, activation, kernelInitializer: 'identity' }).apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

function dataset(): TensorDataset {
  return new TensorDataset(Float32Array.from(LOGITS.flat()), [3], oneHot(LABELS, 3), [3], Int32Array.from(LABELS));
}

/** Reference loss from tfjs's own softmax cross-entropy on the cpu backend. */
function referenceLoss(): number {
  return tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.tensor(oneHot(LABELS, 3), [6, 3]), tf.tensor(LOGITS)).dataSync()[0]!);
}

describe('quality metrics', () => {
  beforeAll(async () => {
    await setBackend('cpu');
  });

  it('classification: accuracy, top-k, confusion, precision/recall, loss from a model with known outputs', async () => {
    const runner = await openTfjsRunner({ name: 'id', kind: 'tfjs-layers', files: [], runtime: 'tfjs-cpu', load: async () => identityModel(3, 'linear') });
    const before = tf.memory().numTensors;
    const q = await evaluateQuality(runner, dataset(), { batchSize: 4, topK: 2 });
    expect(tf.memory().numTensors).toBe(before);
    runner.dispose();
    if (q.task !== 'classification') throw new Error('expected classification');
    expect(q.samples).toBe(6);
    expect(q.accuracy).toBeCloseTo(3 / 6, 12);
    expect(q.topK).toEqual({ k: 2, accuracy: 5 / 6 });
    expect(q.confusion).toEqual([
      [1, 0, 1],
      [0, 1, 0],
      [1, 1, 1],
    ]);
    expect(q.perClass.map((c) => c.precision)).toEqual([0.5, 0.5, 0.5]);
    expect(q.perClass.map((c) => c.recall)).toEqual([0.5, 1, 1 / 3]);
    expect(q.perClass.map((c) => c.support)).toEqual([2, 1, 3]);
    expect(q.macroRecall).toBeCloseTo((0.5 + 1 + 1 / 3) / 3, 12);
    expect(q.outputsAreProbabilities).toBe(false);
    expect(q.loss).toBeCloseTo(referenceLoss(), 5);
  });

  it('detects probability outputs and does not softmax them twice', async () => {
    const runner = await openTfjsRunner({ name: 'sm', kind: 'tfjs-layers', files: [], runtime: 'tfjs-cpu', load: async () => identityModel(3, 'softmax') });
    const q = await evaluateQuality(runner, dataset(), { topK: 2 });
    runner.dispose();
    if (q.task !== 'classification') throw new Error('expected classification');
    expect(q.outputsAreProbabilities).toBe(true);
    expect(q.accuracy).toBeCloseTo(0.5, 12);
    expect(q.loss).toBeCloseTo(referenceLoss(), 5);
    expect(looksLikeProbabilities(Float32Array.from([0.2, 0.9]), 2)).toBe(false); // sums to 1.1
  });

  it('segmentation: per-class IoU and Dice, means over present classes', async () => {
    // One 2x2 image, 4 classes; true pixels [0, 1, 1, 2], predicted [0, 1, 2, 2]; class 3 absent.
    const pred = [0, 1, 2, 2];
    const truth = [0, 1, 1, 2];
    const x = Float32Array.from(pred.flatMap((c) => [0, 1, 2, 3].map((k) => (k === c ? 4 : 0))));
    const data = new TensorDataset(x, [2, 2, 4], oneHot(truth, 4), [2, 2, 4]);
    const runner = await openTfjsRunner({
      name: 'seg',
      kind: 'tfjs-layers',
      files: [],
      runtime: 'tfjs-cpu',
      load: async () => {
        const input = tf.input({ shape: [2, 2, 4] });
        const out = tf.layers.activation({ activation: 'linear' }).apply(input) as tf.SymbolicTensor;
        return tf.model({ inputs: input, outputs: out });
      },
    });
    const q = await evaluateQuality(runner, data);
    runner.dispose();
    if (q.task !== 'segmentation') throw new Error('expected segmentation');
    // class 0: tp1 -> IoU 1; class 1: tp1 fn1 -> 1/2, Dice 2/3; class 2: tp1 fp1 -> 1/2, Dice 2/3
    expect(q.iou).toEqual([1, 0.5, 0.5, null]);
    expect(q.dice[0]).toBe(1);
    expect(q.dice[1]).toBeCloseTo(2 / 3, 12);
    expect(q.dice[2]).toBeCloseTo(2 / 3, 12);
    expect(q.dice[3]).toBeNull();
    expect(q.meanIoU).toBeCloseTo(2 / 3, 12);
    expect(q.meanDice).toBeCloseTo(7 / 9, 12);
    expect(q.pixelAccuracy).toBe(0.75);
    expect(q.samples).toBe(1);
  });

  it('names bad labels and mismatched shapes', () => {
    expect(() => classificationMetrics(new Float32Array(6), [0, 3], 3)).toThrow(/label 3 at 1 is outside 0\.\.2/);
    expect(() => classificationMetrics(new Float32Array(5), [0], 3)).toThrow(/do not split into rows of 3/);
    expect(() => segmentationMetrics(new Float32Array(8), [0], 4)).toThrow(/2 output rows but 1 labels/);
  });
});
