import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { initWasmThreads } from '../../src/backend/wasm/index.js';
import { maxRelDiff, onBothBackends, rand } from './helpers.js';

// Own test file: the threaded module must not have been initialised in this process yet.
describe('threaded wasm initialisation that does not finish in time', () => {
  it('rejects bad timeouts, then falls back to single-threaded wasm that still computes correctly', async () => {
    await expect(initWasmThreads({ threads: 2, timeoutMs: 0 })).rejects.toThrow(/timeoutMs must be a positive number, got 0/);
    // 1 ms is far shorter than compiling the module and starting its 8 pool workers.
    const info = await setBackend('wasm', { threads: 2, threadsInitTimeoutMs: 1 });
    expect(info.threads).toBe(1);
    expect(info.reason).toMatch(/threaded wasm failed \(.*did not finish initialising within 1 ms\), single-threaded/);
    const res = await onBothBackends(() => [tf.matMul(rand([5, 7], 1), rand([7, 3], 2))]);
    expect(maxRelDiff(res.cpu[0], res.wasm[0])).toBeLessThan(1e-5);
  });
});
