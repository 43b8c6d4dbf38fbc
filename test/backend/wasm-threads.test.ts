import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { initWasmThreads } from '../../src/backend/wasm/index.js';
import { maxRelDiff, onBothBackends, rand } from './helpers.js';

// Own test file: the threaded module must be the first wasm backend this process initialises.
describe('threaded wasm backend in Node', () => {
  it('initialises XNNPACK with 2 threads and our gradient kernels still match the cpu backend', async () => {
    const writes = vi.spyOn(fs, 'writeFileSync');
    expect(await initWasmThreads({ threads: 2 })).toBe(2);
    // The pool's 8 workers start while the glue asks for their script: writing it more than once
    // let a starting worker read an empty file and hang initialisation.
    expect(writes.mock.calls.filter(([file]) => String(file).includes('worker.cjs'))).toHaveLength(1);
    writes.mockRestore();
    // setBackend keeps the threaded module initialised above and reports its thread count.
    expect((await setBackend('wasm', { threads: 1 })).threads).toBe(2);
    const res = await onBothBackends(() => {
      const x = rand([4, 12, 12, 8], 1);
      const w = rand([3, 3, 8, 16], 2);
      const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
      const dy = rand(y.shape, 3);
      return [y, ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))([x, w], dy)];
    });
    res.cpu.forEach((c, i) => expect(maxRelDiff(c, res.wasm[i])).toBeLessThan(1e-4));
    await expect(initWasmThreads({ threads: 2 })).rejects.toThrow(/already initialised/);
    await expect(initWasmThreads({ threads: 0 })).rejects.toThrow(/1\.\.8/);
  });
});
