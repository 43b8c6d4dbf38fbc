import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { chain } from './kernel_utils.js';

/** Swap the last two axes (the matmul transpose) with the XNNPACK transpose kernel. */
function swapLast(k: ReturnType<typeof chain>, t: tf.TensorInfo): tf.TensorInfo {
  const r = t.shape.length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return k.transpose(t, perm);
}

/**
 * BatchMatMul override: the stock kernel's transposeA/transposeB path is a naive loop (~45x
 * slower), so transposed operands are materialised first and the fast untransposed path is used.
 * Dense-layer backprop (dW = x^T dy, dx = dy W^T) always hits the flags.
 *
 * For a 2-D `a · b^T` with a small `a` (the input gradient of a Dense layer: dy [batch, units] times
 * W^T), it is computed as `(b · a^T)^T` instead: transposing `a` and the [batch, in] result moves
 * M*(K+N) values, where transposing `b` and then packing it as the GEMM's weights moves 2*N*K
 * (measured 10-25% faster for the zoo mlp's and cnn's dense layers, on-CPU time, one thread).
 */
function batchMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  let { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
  const k = chain(backend);
  if (transposeB && !transposeA && a.shape.length === 2 && b.shape.length === 2) {
    const [m, kk] = a.shape as [number, number];
    const n = b.shape[0]!;
    if (m * (kk + n) < 2 * n * kk) {
      const out = k.run('BatchMatMul', { a: b, b: k.transpose(a, [1, 0]) }, { transposeA: false, transposeB: false });
      return k.keep(k.transpose(out, [1, 0]));
    }
  }
  if (transposeA) a = swapLast(k, a);
  if (transposeB) b = swapLast(k, b);
  return k.keep(k.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false }));
}

/** Kernel config for `BatchMatMul` on wasm (overrides the stock one). */
export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: 'BatchMatMul',
  backendName: 'wasm',
  kernelFunc: batchMatMul as unknown as tf.KernelFunc,
};
