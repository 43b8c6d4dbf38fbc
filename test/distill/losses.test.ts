import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import {
  distillLossNames,
  featureMseLoss,
  getDistillLoss,
  klDivergenceLoss,
  logitMseLoss,
  makeProjection,
  parseFeaturePair,
  softCrossEntropyLoss,
} from '../../src/distill/index.js';

// Plain-JS reference maths, independent of tfjs.
function softmax(z: number[], T: number): number[] {
  const m = Math.max(...z.map((v) => v / T));
  const e = z.map((v) => Math.exp(v / T - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
function jsKl(s: number[][], t: number[][], T: number): number {
  let total = 0;
  s.forEach((row, i) => {
    const p = softmax(t[i]!, T);
    const q = softmax(row, T);
    total += p.reduce((acc, pj, j) => acc + pj * Math.log(pj / q[j]!), 0);
  });
  return (total / s.length) * T * T;
}
function jsSoftCe(s: number[][], t: number[][], T: number): number {
  let total = 0;
  s.forEach((row, i) => {
    const p = softmax(t[i]!, T);
    const q = softmax(row, T);
    total -= p.reduce((acc, pj, j) => acc + pj * Math.log(q[j]!), 0);
  });
  return (total / s.length) * T * T;
}
const val = (t: tf.Tensor) => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};

describe('distillation losses', () => {
  beforeAll(async () => {
    await setBackend('wasm');
  });

  it('KL x T^2 matches values worked out by hand', () => {
    // p = softmax([ln 3, 0]) = [0.75, 0.25], q = [0.5, 0.5]: KL = 0.75 ln 1.5 + 0.25 ln 0.5.
    const kl1 = val(klDivergenceLoss(tf.tensor2d([[0, 0]]), tf.tensor2d([[Math.log(3), 0]]), 1));
    expect(kl1).toBeCloseTo(0.75 * Math.log(1.5) + 0.25 * Math.log(0.5), 6);
    expect(kl1).toBeCloseTo(0.130812, 5);
    // Identical logits: zero at any temperature.
    expect(val(klDivergenceLoss(tf.tensor2d([[1, -2, 3]]), tf.tensor2d([[1, -2, 3]]), 7))).toBeCloseTo(0, 6);
  });

  it('soft-target CE x T^2 matches values worked out by hand', () => {
    // q uniform over 2 classes: -sum p log q = ln 2 for any p; times T^2 = 4 at T = 2.
    expect(val(softCrossEntropyLoss(tf.tensor2d([[0, 0]]), tf.tensor2d([[Math.log(3), 0]]), 2))).toBeCloseTo(4 * Math.log(2), 5);
  });

  it('KL and soft-CE match plain-JS maths on a batch, and differ by T^2 x teacher entropy', () => {
    const s = [[1, 2, 3], [0, -1, 0.5], [2.5, 0.1, -0.7]];
    const t = [[2, 1, 0], [0.3, 0.3, -1], [4, -2, 1]];
    for (const T of [1, 2, 4, 20]) {
      const kl = val(klDivergenceLoss(tf.tensor2d(s), tf.tensor2d(t), T));
      const ce = val(softCrossEntropyLoss(tf.tensor2d(s), tf.tensor2d(t), T));
      expect(kl).toBeCloseTo(jsKl(s, t, T), 4);
      expect(ce).toBeCloseTo(jsSoftCe(s, t, T), 4);
      const entropy = t.reduce((acc, row) => acc - softmax(row, T).reduce((a, p) => a + p * Math.log(p), 0), 0) / t.length;
      expect(ce - kl).toBeCloseTo(entropy * T * T, 3);
    }
  });

  it('mse is the mean squared logit difference', () => {
    expect(val(logitMseLoss(tf.tensor2d([[1, 2]]), tf.tensor2d([[0, 4]])))).toBeCloseTo(2.5, 6);
    expect(val(logitMseLoss(tf.tensor2d([[1, 2], [3, 3]]), tf.tensor2d([[0, 4], [3, 1]])))).toBeCloseTo((1 + 4 + 0 + 4) / 4, 6);
  });

  it('feature loss is the weighted sum of per-pair MSEs', () => {
    const loss = featureMseLoss([
      { student: tf.tensor2d([[1, 2]]), teacher: tf.tensor2d([[0, 4]]), weight: 1 }, // 2.5
      { student: tf.tensor1d([1, 1, 1, 1]), teacher: tf.tensor1d([3, 1, 1, 1]), weight: 0.5 }, // 1 * 0.5
    ]);
    expect(val(loss)).toBeCloseTo(3, 6);
  });

  it('the registry resolves names and lists them on a typo', () => {
    expect(distillLossNames()).toEqual(expect.arrayContaining(['logits', 'soft-ce', 'mse', 'feature']));
    const s = tf.tensor2d([[0, 0]]);
    const t = tf.tensor2d([[Math.log(3), 0]]);
    const inputs = { student: s, teacher: t, temperature: 1, targets: t, features: [] };
    expect(val(getDistillLoss('logits').compute(inputs))).toBeCloseTo(0.130812, 5);
    expect(val(getDistillLoss('soft-ce').compute(inputs))).toBeCloseTo(Math.log(2), 5);
    expect(() => getDistillLoss('kl')).toThrow(/unknown distillation loss 'kl': expected one of logits, soft-ce, mse, feature/);
  });

  it('projections: identity on equal widths, dense for 2-D, 1x1 conv for 4-D', () => {
    const id = makeProjection({ teacher: 't', student: 's' }, [1, 8], [1, 8], 0);
    expect(id.variables).toHaveLength(0);

    const dense = makeProjection({ teacher: 't', student: 's' }, [1, 3], [1, 2], 0);
    expect(dense.variables.map((v) => v.shape)).toEqual([[3, 2], [2]]);
    const [k] = dense.variables;
    dense.variables[1]!.assign(tf.tensor1d([0.5, -1]));
    const x = [[1, 2, 3]];
    const kv = k!.arraySync() as number[][];
    const expected = [0, 1].map((j) => x[0]!.reduce((a, xi, i) => a + xi * kv[i]![j]!, 0) + [0.5, -1][j]!);
    const got = dense.apply(tf.tensor2d(x)).arraySync() as number[][];
    expect(got[0]![0]).toBeCloseTo(expected[0]!, 5);
    expect(got[0]![1]).toBeCloseTo(expected[1]!, 5);

    const conv = makeProjection({ teacher: 't', student: 's' }, [1, 7, 7, 4], [1, 7, 7, 16], 0);
    expect(conv.variables.map((v) => v.shape)).toEqual([[1, 1, 4, 16], [16]]);
    expect(conv.apply(tf.zeros([2, 7, 7, 4])).shape).toEqual([2, 7, 7, 16]);

    expect(() => makeProjection({ teacher: 'pool', student: 'conv' }, [1, 14, 14, 4], [1, 7, 7, 16], 0)).toThrow(
      /student layer 'conv' outputs \[14, 14, 4\] per sample, teacher layer 'pool' \[7, 7, 16\]; all dims but the last/,
    );
    tf.dispose([...dense.variables, ...conv.variables]);
  });

  it('parses CLI feature specs and rejects malformed ones', () => {
    expect(parseFeaturePair('dense_1:hidden')).toEqual({ teacher: 'dense_1', student: 'hidden' });
    expect(parseFeaturePair('a:b:0.5')).toEqual({ teacher: 'a', student: 'b', weight: 0.5 });
    expect(() => parseFeaturePair('dense_1')).toThrow(/expected teacher_layer:student_layer/);
    expect(() => parseFeaturePair('a:b:x')).toThrow(/weight must be a number > 0/);
  });
});
