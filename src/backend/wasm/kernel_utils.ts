import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type TensorInfo = tf.TensorInfo;
type Attrs = Record<string, unknown>;

/**
 * Kernel functions of the stock wasm backend, captured before we override any of them, so our
 * kernels can compose the fast XNNPACK-backed ones (Conv2D, Transpose, BatchMatMul...) directly
 * on the backend without going through the engine (no tape entries, no engine-tracked tensors).
 */
const stockKernels = new Map<string, tf.KernelFunc>();

/** Remember the stock wasm implementation of `name` (call before overriding it). */
export function captureStock(name: string): void {
  if (stockKernels.has(name)) return;
  const k = tf.getKernel(name, 'wasm');
  if (k) stockKernels.set(name, k.kernelFunc);
}

/** Run the stock wasm kernel `name`; the caller owns (and must free) the returned TensorInfo. */
export function run(backend: BackendWasm, name: string, inputs: Record<string, TensorInfo>, attrs: Attrs = {}): TensorInfo {
  captureStock(name);
  const f = stockKernels.get(name);
  if (!f) throw new Error(`wasm training kernels: stock wasm kernel '${name}' is not registered`);
  const out = f({ inputs, backend, attrs: attrs as tf.NamedAttrMap });
  if (Array.isArray(out)) throw new Error(`wasm training kernels: '${name}' returned several outputs`);
  return out;
}

/**
 * A small builder that runs a chain of stock kernels and frees every intermediate when done:
 * `const k = chain(backend); const y = k.run(...); ...; return k.keep(out)`.
 */
export function chain(backend: BackendWasm) {
  const temps: TensorInfo[] = [];
  return {
    run(name: string, inputs: Record<string, TensorInfo>, attrs: Attrs = {}): TensorInfo {
      const out = run(backend, name, inputs, attrs);
      temps.push(out);
      return out;
    },
    /** Reshape is free on wasm (shares the buffer, bumps a ref count), but still needs freeing. */
    reshape(x: TensorInfo, shape: number[]): TensorInfo {
      return this.run('Reshape', { x }, { shape });
    },
    transpose(x: TensorInfo, perm: number[]): TensorInfo {
      return this.run('Transpose', { x }, { perm });
    },
    /** Free all intermediates except `result`, which is returned to the engine. */
    keep(result: TensorInfo): TensorInfo {
      for (const t of temps) if (t !== result) backend.disposeData(t.dataId);
      temps.length = 0;
      return result;
    },
  };
}

/** Normalise a `[h, w] | n` stride/dilation attribute. */
export function pair(v: number | [number, number] | undefined, name: string): [number, number] {
  if (v === undefined) return [1, 1];
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2) return [v[0], v[1]];
  throw new Error(`wasm training kernels: attribute '${name}' must be a number or [h, w], got ${JSON.stringify(v)}`);
}

/** Throw a clear error for layouts/options our kernels do not implement. */
export function requireNHWC(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new Error(`wasm ${kernel}: dataFormat '${dataFormat}' is not supported; expected 'NHWC'`);
  }
}

/**
 * Chunk sizes of the im2col/col2im kernels (Conv2DBackpropFilter, strided Conv2DBackpropInput).
 * `targetK`: reduction length (samples x output pixels) per XNNPACK GEMM call. XNNPACK does not
 * block the reduction axis, so one call over a whole batch streams its operands from memory; at
 * ~2k the chunk's dy rows (the GEMM's packed weights, 2k x 64 floats for the cnn's conv_2) stay in
 * L2 and the chunk's im2col matrix is consumed while still in cache. Measured on conv_2 of the zoo
 * cnn (CPU time, one thread): 16384 -> 2048 cut the kernel from 112 ms to 86 ms.
 * `minMacs`: but at least this many multiply-adds per GEMM call: with few im2col rows (conv_1 of
 * the cnn has 9) small chunks are all per-call overhead, 3x slower with two threads at 2k.
 * `maxCols`: cap (floats) on one chunk's scratch matrix. Mutable so tests can force many chunks.
 */
export const chunking = { targetK: 2048, minMacs: 1 << 22, maxCols: 1 << 22 };
