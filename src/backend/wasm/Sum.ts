import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { run } from './kernel_utils.js';
import { columnSums, leadingSplit } from './reduce_leading.js';

/**
 * Sum override for the reductions training does most (bias / BatchNorm gradients: sum over the
 * leading N,H,W axes). Stock wasm transposes the reduced axes to the end first (~50 ms for the zoo
 * cnn's [128,24,24,64]); a column-sum over the [N*H*W, C] view is one pass. Other reductions and
 * non-float32 inputs go to the stock kernel.
 */
function sum(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
  const split = x.dtype === 'float32' ? leadingSplit(x.shape, axis, keepDims) : undefined;
  if (!split || split.cols === 0 || split.rows === 0) return run(backend, 'Sum', { x }, args.attrs ?? {});
  return columnSums(backend, x, split.rows, split.cols, split.outShape, 1);
}

/** Kernel config for `Sum` on wasm (overrides the stock one). */
export const sumConfig: tf.KernelConfig = {
  kernelName: 'Sum',
  backendName: 'wasm',
  kernelFunc: sum as unknown as tf.KernelFunc,
};
