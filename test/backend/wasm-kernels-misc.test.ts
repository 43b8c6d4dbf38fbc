import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { gradDiffs, maxRelDiff, onBothBackends, rand } from './helpers.js';

const TOL = 1e-4;

function expectClose(diffs: Record<string, number>, label: string) {
  for (const [k, v] of Object.entries(diffs)) expect(v, `${label} ${k}`).toBeLessThan(TOL);
}

describe('wasm pooling / reduction / tile kernels vs cpu backend', () => {
  for (const [size, stride] of [[2, 2], [3, 2], [2, 1], [3, 1]]) {
    for (const pad of ['same', 'valid'] as const) {
      it(`maxPool + avgPool gradients, window ${size}, stride ${stride}, ${pad}`, async () => {
        for (const [i, shape] of [[1, 5, 5, 3], [3, 8, 7, 4], [2, 9, 6, 1]].entries()) {
          // relu makes many exact ties (zeros): the gradient must go to the first max like on cpu.
          expectClose(await gradDiffs([shape], (x) => tf.maxPool(x as tf.Tensor4D, size, stride, pad), 10 + i, (t) => tf.relu(t)), `maxPool ${shape}`);
          expectClose(await gradDiffs([shape], (x) => tf.avgPool(x as tf.Tensor4D, size, stride, pad), 20 + i), `avgPool ${shape}`);
        }
      });
    }
  }

  it('maxPool gradient with disjoint windows: exactly tiled, strides larger than the window, non-square', async () => {
    // [2,8,6,3] with 2x2/2 valid is covered exactly (no zero pass); stride 3 > window 2 leaves gaps;
    // [2,3] windows with stride [2,3] are disjoint but not 2x2 (the generic loop).
    const cases: Array<[number[], [number, number], [number, number], 'same' | 'valid']> = [
      [[2, 8, 6, 3], [2, 2], [2, 2], 'valid'],
      [[1, 8, 8, 5], [2, 2], [3, 3], 'valid'],
      [[2, 7, 8, 2], [2, 2], [3, 2], 'same'],
      [[2, 6, 9, 3], [2, 3], [2, 3], 'valid'],
    ];
    for (const [i, [shape, size, stride, pad]] of cases.entries()) {
      expectClose(await gradDiffs([shape], (x) => tf.maxPool(x as tf.Tensor4D, size, stride, pad), 60 + i, (t) => tf.relu(t)), `maxPool ${shape} ${size}/${stride} ${pad}`);
    }
  });

  it('sum and mean over leading, trailing, middle and all axes, with and without keepDims', async () => {
    const shape = [3, 4, 5, 6];
    for (const axis of [[0], [0, 1], [0, 1, 2], [1, 0], [-4, -3], [3], [1, 2], [0, 2], undefined]) {
      for (const keepDims of [false, true]) {
        expectClose(await gradDiffs([shape], (x) => tf.sum(x, axis, keepDims), 30), `sum ${axis} ${keepDims}`);
        expectClose(await gradDiffs([shape], (x) => tf.mean(x, axis, keepDims), 31), `mean ${axis} ${keepDims}`);
      }
    }
  });

  it('tile: whole-tensor repeats along leading unit axes and the general case', async () => {
    for (const [shape, reps] of [[[1, 1, 1, 5], [3, 4, 2, 1]], [[1, 6], [7, 1]], [[1, 1, 3], [2, 5, 1]], [[2, 3], [2, 2]], [[1, 3, 1], [2, 1, 4]], [[4], [3]]]) {
      expectClose(await gradDiffs([shape], (x) => tf.tile(x, reps), 40), `tile ${shape} x ${reps}`);
    }
    const res = await onBothBackends(() => [tf.tile(tf.tensor([[1, 2, 3]], [1, 3], 'int32'), [3, 1]).toFloat()]);
    expect(maxRelDiff(res.cpu[0], res.wasm[0])).toBe(0);
  });

  it('batchNorm gradients (rank-1 mean/variance, the Tile + Sum path)', async () => {
    const f = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => tf.batchNorm(x, m, v, o, s, 1e-3);
    expectClose(
      await gradDiffs([[4, 5, 3, 6], [6], [6], [6], [6]], f as (...xs: tf.Tensor[]) => tf.Tensor, 50, (t) => (t.rank === 1 ? tf.add(tf.abs(t), 0.5) : t)),
      'batchNorm',
    );
  });

  it('pool and reduction kernels do not leak tensors or wasm buffers', async () => {
    await setBackend('wasm');
    const x = rand([2, 8, 8, 3], 5) as tf.Tensor4D;
    const step = () => tf.tidy(() => {
      const g = tf.grad((a: tf.Tensor) => tf.add(tf.maxPool(a as tf.Tensor4D, 2, 2, 'same').sum([0, 1, 2]).sum(), tf.avgPool(a as tf.Tensor4D, 3, 1, 'valid').mean([0, 1])).sum().add(tf.tile(a.slice([0, 0, 0, 0], [1, 1, 1, 3]), [2, 3, 3, 1]).sum()))(x);
      return g.sum();
    }).dispose();
    step();
    const tensors = tf.memory().numTensors;
    const buffers = tf.engine().backend.numDataIds();
    for (let i = 0; i < 4; i++) step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(buffers);
    x.dispose();
  });
});
