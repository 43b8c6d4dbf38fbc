import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setBackend, currentBackend, requestedThreads } from '../../src/backend/select.js';

describe('setBackend', () => {
  it('auto picks wasm here (tfjs-node is not installed) and says why', async () => {
    const info = await setBackend('auto');
    expect(tf.getBackend()).toBe(info.name);
    // On machines with tfjs-node installed auto must prefer it; here it cannot install.
    expect(['tensorflow', 'wasm']).toContain(info.name);
    if (info.name === 'wasm') {
      expect(info.reason).toMatch(/tfjs-node not installed/);
      // The first wasm initialisation of the process picks the threaded build when asked for >1.
      expect(info.threads).toBe(requestedThreads());
      expect(info.reason).toContain(`${info.threads} XNNPACK thread`);
    }
    expect(currentBackend()).toEqual(info);
  });

  it('validates the thread count from the option and from TFJS_COMPRESS_THREADS', () => {
    expect(requestedThreads({ threads: 3 })).toBe(3);
    expect(() => requestedThreads({ threads: 0 })).toThrow(/threads must be an integer in 1\.\.8, got 0/);
    const saved = process.env.TFJS_COMPRESS_THREADS;
    try {
      process.env.TFJS_COMPRESS_THREADS = '2';
      expect(requestedThreads()).toBe(2);
      process.env.TFJS_COMPRESS_THREADS = 'many';
      expect(() => requestedThreads()).toThrow(/TFJS_COMPRESS_THREADS must be an integer in 1\.\.8, got many/);
    } finally {
      if (saved === undefined) delete process.env.TFJS_COMPRESS_THREADS;
      else process.env.TFJS_COMPRESS_THREADS = saved;
    }
  });

  it('switches to cpu and back, and rejects unknown or unavailable backends clearly', async () => {
    expect((await setBackend('cpu')).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect((await setBackend('wasm')).name).toBe('wasm');
    await expect(setBackend('gpu' as never)).rejects.toThrow(/unknown backend 'gpu': expected one of auto, tensorflow, wasm, cpu/);
    let hasNode = true;
    try {
      await import('@tensorflow/tfjs-node' as string);
    } catch {
      hasNode = false;
    }
    if (!hasNode) await expect(setBackend('tensorflow')).rejects.toThrow(/needs @tensorflow\/tfjs-node/);
  });
});
