import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { run } from './kernel_utils.js';
import { columnSums, leadingSplit } from './reduce_leading.js';

/**
 * Mean override for leading-axis reductions (BatchNorm moments over N,H,W during training): one
 * column-sum pass instead of the stock transpose + reduce. Other cases use the stock kernel.
 */
function mean(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as tf.MeanAttrs;
  const split = x.dtype === 'float32' ? leadingSplit(x.shape, axis, keepDims) : undefined;
  if (!split || split.cols === 0 || split.rows === 0) return run(backend, 'Mean', { x }, args.attrs ?? {});
  return columnSums(backend, x, split.rows, split.cols, split.outShape, 1 / split.rows);
}

/** Kernel config for `Mean` on wasm (overrides the stock one). */
export const meanConfig: tf.KernelConfig = {
  kernelName: 'Mean',
  backendName: 'wasm',
  kernelFunc: mean as unknown as tf.KernelFunc,
};
