import { describe, expect, it, vi } from 'vitest';

// A machine where the native binary cannot load (e.g. a missing shared library).
vi.mock('onnxruntime-node', () => {
  throw new Error('libonnxruntime.so.1: cannot open shared object file: No such file or directory');
});

describe('loadOnnxRuntime', () => {
  it('reports a failed load in one line naming the package, and retries on the next call', async () => {
    const { loadOnnxRuntime } = await import('../../src/util/onnxruntime.js');
    const first = await loadOnnxRuntime().catch((e: Error) => e);
    expect(first).toBeInstanceOf(Error);
    // (vitest wraps the factory's error in its own first line; Node's import error would be quoted the same way)
    expect((first as Error).message).toMatch(/^cannot load onnxruntime-node \(needed to run ONNX models\): .+; reinstall it with npm install onnxruntime-node$/);
    expect((first as Error).message).not.toContain('\n');
    const second = await loadOnnxRuntime().catch((e: Error) => e);
    expect(second).not.toBe(first);
    expect((second as Error).message).toMatch(/^cannot load onnxruntime-node/);
  });
});
