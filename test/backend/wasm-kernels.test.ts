import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { registerWasmTrainingKernels, wasmTrainingKernelNames } from '../../src/backend/wasm/index.js';
import { chunking } from '../../src/backend/wasm/kernel_utils.js';
import { maxRelDiff, onBothBackends, rand } from './helpers.js';

const TOL = 1e-4;

/** Compare forward + gradients of `f(x, w)` (with a random upstream gradient) between cpu and wasm. */
async function checkOp(xShape: number[], wShape: number[], f: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor, seed: number) {
  const res = await onBothBackends(() => {
    const x = rand(xShape, seed);
    const w = rand(wShape, seed + 1);
    const y = f(x, w);
    const dy = rand(y.shape, seed + 2);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a, b))([x, w], dy);
    if (tf.getBackend() === "wasm") expect(tf.getKernel("Conv2DBackpropFilter", "wasm")).toBeDefined();
    return [y, dx, dw];
  });
  ['forward', 'dx', 'dw'].forEach((name, i) => {
    expect(maxRelDiff(res.cpu[i], res.wasm[i]), `${name} ${JSON.stringify(res.shapes[i])}`).toBeLessThan(TOL);
  });
}

const convCases: { x: number[]; k: number[] }[] = [
  { x: [1, 5, 5, 2], k: [3, 3, 2, 3] },
  { x: [3, 7, 6, 3], k: [3, 3, 3, 4] },
  { x: [2, 8, 8, 4], k: [2, 2, 4, 5] },
  { x: [2, 9, 7, 3], k: [1, 1, 3, 6] },
  { x: [2, 11, 9, 2], k: [5, 4, 2, 3] },
];

describe('wasm training kernels vs cpu backend', () => {
  it('registers idempotently and replaces the stock kernels', async () => {
    await setBackend('wasm');
    const before = wasmTrainingKernelNames().map((n) => tf.getKernel(n, 'wasm')?.kernelFunc);
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
    const after = wasmTrainingKernelNames().map((n) => tf.getKernel(n, 'wasm')?.kernelFunc);
    expect(after).toEqual(before);
    expect(after.every((f) => typeof f === 'function')).toBe(true);
  });

  for (const stride of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) {
      it(`conv2d forward + dx + dW, stride ${stride}, ${pad}`, async () => {
        let seed = 10 * stride + (pad === 'same' ? 1 : 0);
        for (const c of convCases) {
          await checkOp(c.x, c.k, (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad), (seed += 100));
        }
      });

      it(`conv2dTranspose forward + grads, stride ${stride}, ${pad}`, async () => {
        let seed = 7 * stride + (pad === 'same' ? 3 : 0);
        for (const c of convCases) {
          const [kh, kw, ci, co] = c.k;
          // conv2dTranspose filter is [KH,KW,outC,inC]; pick the output size a stride-s conv maps back from.
          const [b, h, w] = c.x;
          const outH = pad === 'same' ? h * stride : (h - 1) * stride + kh;
          const outW = pad === 'same' ? w * stride : (w - 1) * stride + kw;
          await checkOp([b, h, w, co], [kh, kw, ci, co], (x, f) => tf.conv2dTranspose(x as tf.Tensor4D, f as tf.Tensor4D, [b, outH, outW, ci], stride, pad), (seed += 100));
        }
      });

      it(`depthwiseConv2d forward + grads (multiplier 1 and 2), stride ${stride}, ${pad}`, async () => {
        let seed = 3 * stride + (pad === 'same' ? 5 : 0);
        for (const c of convCases) {
          for (const m of [1, 2]) {
            const k = [c.k[0], c.k[1], c.x[3], m];
            await checkOp(c.x, k, (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad), (seed += 100));
          }
        }
      });
    }
  }

  it('conv2d gradients are unchanged when split into many chunks (one sample per GEMM)', async () => {
    const saved = { ...chunking };
    Object.assign(chunking, { targetK: 1, maxCols: 1 });
    try {
      for (const stride of [1, 2]) {
        await checkOp([4, 9, 7, 3], [3, 3, 3, 5], (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, 'same'), 700 + stride);
        await checkOp([3, 8, 8, 2], [2, 3, 2, 4], (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, 'valid'), 710 + stride);
      }
    } finally {
      Object.assign(chunking, saved);
    }
  });

  it('conv2d and depthwise with explicit asymmetric padding', async () => {
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 2], [2, 0], [0, 0]];
    await checkOp([2, 7, 8, 3], [3, 3, 3, 2], (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, pad), 901);
    await checkOp([2, 6, 5, 3], [3, 2, 3, 4], (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, pad), 902);
    await checkOp([2, 7, 8, 3], [3, 3, 3, 1], (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, pad), 903);
  });

  it('separableConv2d gradients (depthwise + pointwise) match', async () => {
    const pw: [number, number, number, number] = [1, 1, 6, 5];
    await checkOp([2, 9, 9, 3], [3, 3, 3, 2], (x, w) => tf.separableConv2d(x as tf.Tensor4D, w as tf.Tensor4D, tf.ones(pw) as tf.Tensor4D, 2, 'same'), 950);
  });

  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    it(`matMul transposeA=${ta} transposeB=${tb}, rank 2 and batched`, async () => {
      const shapeOf = (rows: number, cols: number, t: boolean) => (t ? [cols, rows] : [rows, cols]);
      await checkOp(shapeOf(7, 5, ta), shapeOf(5, 3, tb), (a, b) => tf.matMul(a, b, ta, tb), 1000);
      await checkOp([4, ...shapeOf(6, 9, ta)], [4, ...shapeOf(9, 2, tb)], (a, b) => tf.matMul(a, b, ta, tb), 1001);
      // Dense-layer shapes: a short batch against a wide matrix takes the (b a^T)^T route for a b^T
      // (forward here when tb, and the input gradient dy W^T in every case).
      await checkOp(shapeOf(3, 20, ta), shapeOf(20, 30, tb), (a, b) => tf.matMul(a, b, ta, tb), 1002);
    });
  }

  it('kernels reject what they do not implement with a clear error', async () => {
    await setBackend('wasm');
    const x = tf.ones([1, 6, 6, 2]);
    const dy = tf.ones([1, 2, 2, 2]);
    expect(() => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { strides: 1, dilations: 2, pad: 'valid', filterShape: [3, 3, 2, 1] })).toThrow(/dilations 2x2/);
    expect(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'valid', dataFormat: 'NCHW', filterShape: [3, 3, 2, 2] })).toThrow(/NHWC/);
    tf.dispose([x, dy]);
  });

  it('does not leak tensors or wasm buffers', async () => {
    await setBackend('wasm');
    const x = rand([2, 9, 9, 3], 5) as tf.Tensor4D;
    const w = rand([3, 3, 3, 4], 6) as tf.Tensor4D;
    const dw = rand([3, 3, 4, 1], 7) as tf.Tensor4D;
    const step = () => tf.tidy(() => {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.depthwiseConv2d(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), c as tf.Tensor4D, 2, 'same').sum())([x, w, dw]);
      const m = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, true, true).sum())([x.reshape([27, 18]) as tf.Tensor2D, w.reshape([4, 27]) as tf.Tensor2D]);
      return [...g, ...m].map((t) => t.sum()).reduce((a, b) => a.add(b));
    }).dispose();
    step();
    const tensors = tf.memory().numTensors;
    const buffers = tf.engine().backend.numDataIds();
    const saved = { ...chunking };
    try {
      for (let i = 0; i < 5; i++) step();
      Object.assign(chunking, { targetK: 1, maxCols: 1 }); // many chunks: every chunk's buffers freed
      for (let i = 0; i < 2; i++) step();
    } finally {
      Object.assign(chunking, saved);
    }
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(buffers);
    tf.dispose([x, w, dw]);
  });
});
