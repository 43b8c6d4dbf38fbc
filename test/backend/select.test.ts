import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setBackend, currentBackend } from '../../src/backend/select.js';

describe('setBackend', () => {
  it('auto picks wasm here (tfjs-node is not installed) and says why', async () => {
    const info = await setBackend('auto');
    expect(tf.getBackend()).toBe(info.name);
    // On machines with tfjs-node installed auto must prefer it; here it cannot install.
    expect(['tensorflow', 'wasm']).toContain(info.name);
    if (info.name === 'wasm') expect(info.reason).toMatch(/tfjs-node not installed/);
    expect(currentBackend()).toEqual(info);
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
