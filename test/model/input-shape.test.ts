import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TensorDataset, oneHot } from '../../src/data/dataset.js';
import { loadMnist } from '../../src/data/mnist.js';
import { distill } from '../../src/distill/distill.js';
import { graphOutputsProbabilities, producingOp } from '../../src/model/graph-info.js';
import { adaptBatch, adaptSampleShape, modelInputShape } from '../../src/model/input-shape.js';
import { evaluate } from '../../src/train/evaluate.js';
import { train } from '../../src/train/loop.js';
import { useBackend } from '../helpers/backend.js';
import { denseClassifier, denseGraph } from './graph-helpers.js';

let test: TensorDataset;
beforeAll(async () => {
  await useBackend();
  test = loadMnist({ split: 'test', limit: 300 });
});

/** Hand-computed accuracy and cross-entropy of softmax probabilities against the labels. */
function reference(probs: Float32Array, labels: Int32Array): { accuracy: number; loss: number } {
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = probs.subarray(i * 10, i * 10 + 10);
    let best = 0;
    for (let c = 1; c < 10; c++) if (row[c]! > row[best]!) best = c;
    if (best === labels[i]) correct++;
    loss -= Math.log(Math.max(row[labels[i]!]!, 1e-7));
  }
  return { accuracy: correct / labels.length, loss: loss / labels.length };
}

describe('adaptSampleShape / adaptBatch', () => {
  it('matches shapes that differ only by unit dims, and nothing else', () => {
    expect(adaptSampleShape([28, 28, 1], [28, 28])).toEqual([28, 28]);
    expect(adaptSampleShape([28, 28], [28, 28, 1])).toEqual([28, 28, 1]);
    expect(adaptSampleShape([28, 28, 1], [null, null, 1])).toEqual([28, 28, 1]);
    expect(adaptSampleShape([28, 28, 1], [784])).toBeUndefined();
    expect(adaptSampleShape([28, 28, 1], [-1, -1])).toBeUndefined();
    expect(adaptSampleShape([1, 28, 28], [28, 28, 1])).toEqual([28, 28, 1]);
  });

  it('reshapes a batch, keeps a fitting one, and names both shapes when they cannot match', () => {
    const before = tf.memory().numTensors;
    const x = tf.zeros([4, 28, 28, 1]);
    const y = adaptBatch(x, [-1, 28, 28].slice(1));
    expect(y.shape).toEqual([4, 28, 28]);
    expect(adaptBatch(x, [null, 28, 28, 1].slice(1))).toBe(x);
    expect(() => adaptBatch(x, [10, 10], "model 'm'")).toThrow("input samples have shape [28, 28, 1] but model 'm' expects [10, 10]");
    tf.dispose([x, y]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('graph models with a [-1, 28, 28] input and a Softmax -> Identity output', () => {
  it('producingOp looks through Identity and IdentityN chains', async () => {
    const twin = denseClassifier([28, 28]);
    const g = await denseGraph(twin, [-1, 28, 28], 'identity');
    const n = await denseGraph(twin, [-1, 28, 28], 'identityN');
    const l = await denseGraph(twin, [-1, 28, 28], 'logits');
    expect(producingOp(g)).toBe('Softmax');
    expect(graphOutputsProbabilities(g)).toBe(true);
    expect(producingOp(n, 'out:1')).toBe('Softmax');
    expect(producingOp(n, 'out:0')).toBe('BiasAdd');
    expect(graphOutputsProbabilities(l)).toBe(false);
    for (const m of [twin, g, n, l]) m.dispose();
  });

  it('evaluate takes MNIST [N,28,28,1] into the graph and reads its outputs as probabilities (hand-computed reference)', async () => {
    const twin = denseClassifier([28, 28]);
    const g = await denseGraph(twin, [-1, 28, 28]);
    expect(modelInputShape(g)).toEqual([28, 28]);
    const { xs } = test.toTensors();
    const probs = tf.tidy(() => twin.predict(tf.reshape(xs, [-1, 28, 28])) as tf.Tensor);
    const ref = reference(probs.dataSync() as Float32Array, test.labels!);
    tf.dispose([xs, probs]);
    const before = tf.memory().numTensors;
    const r = await evaluate(g, test, { topK: 5, batchSize: 128 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.accuracy).toBeCloseTo(ref.accuracy, 6);
    expect(r.loss).toBeCloseTo(ref.loss, 4);
    // Same figures from the layers twin, whose input is [28, 28] too.
    const t = await evaluate(twin, test, { topK: 5 });
    expect(t.accuracy).toBeCloseTo(r.accuracy!, 6);
    expect(t.top5).toBeCloseTo(r.top5!, 6);
    twin.dispose();
    g.dispose();
  });

  it('evaluate fails in one line, without leaking, when the data cannot fit', async () => {
    const twin = denseClassifier([28, 28]);
    const g = await denseGraph(twin, [-1, 28, 28]);
    const wrong = new TensorDataset(new Float32Array(3 * 100), [10, 10], oneHot([0, 1, 2], 10), [10]);
    const before = tf.memory().numTensors;
    await expect(evaluate(g, wrong)).rejects.toThrow('input samples have shape [10, 10] but the graph model expects [28, 28]');
    expect(tf.memory().numTensors).toBe(before);
    twin.dispose();
    g.dispose();
  });

  it('distill takes a [-1,28,28] graph teacher and a [28,28] student on [28,28,1] MNIST without crashing', async () => {
    const twin = denseClassifier([28, 28], 3);
    const teacher = await denseGraph(twin, [-1, 28, 28]);
    const student = denseClassifier([28, 28], 5);
    const data = loadMnist({ split: 'train', limit: 256 });
    const before = tf.memory().numTensors;
    const r = await distill({ teacher, student, data, epochs: 1, batchSize: 64, validation: test.take(128), temperature: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.history).toHaveLength(1);
    expect(Number.isFinite(r.history[0]!.val_distill_loss)).toBe(true);
    // A [28, 28] model trains on [28, 28, 1] samples through the shared loop too.
    const t = await train(student, data, { epochs: 1, batchSize: 64 });
    expect(Number.isFinite(t.history[0]!.loss)).toBe(true);
    for (const m of [twin, teacher, student]) m.dispose();
  });
});
