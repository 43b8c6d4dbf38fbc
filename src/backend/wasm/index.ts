import * as tf from '@tensorflow/tfjs';
import { avgPoolGradConfig } from './AvgPoolGrad.js';
import { batchMatMulConfig } from './BatchMatMul.js';
import { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter.js';
import { conv2DBackpropInputConfig } from './Conv2DBackpropInput.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from './DepthwiseConv2dNativeBackpropFilter.js';
import { depthwiseConv2dNativeBackpropInputConfig } from './DepthwiseConv2dNativeBackpropInput.js';
import { captureStock } from './kernel_utils.js';
import { maxPoolGradConfig } from './MaxPoolGrad.js';
import { meanConfig } from './Mean.js';
import { sumConfig } from './Sum.js';
import { tileConfig } from './Tile.js';

export { initWasmThreads } from './threads.js';
export type { WasmThreadsArgs } from './threads.js';
export { chunking } from './kernel_utils.js';

/**
 * Kernels this module registers on the wasm backend: missing gradient kernels, and replacements
 * for stock kernels that are correct but much slower than composing fast XNNPACK kernels.
 */
export const wasmTrainingKernels: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  batchMatMulConfig,
  maxPoolGradConfig,
  avgPoolGradConfig,
  sumConfig,
  meanConfig,
  tileConfig,
];

/** Names of the kernels in {@link wasmTrainingKernels}. */
export function wasmTrainingKernelNames(): string[] {
  return wasmTrainingKernels.map((k) => k.kernelName);
}

/**
 * Register the wasm training kernels (see docs/backends.md). Idempotent: calling it again is a
 * no-op. Stock kernels that get replaced are captured first, because our kernels delegate to them.
 * Needs `@tensorflow/tfjs-backend-wasm` to be imported; `setBackend('wasm')` calls this for you.
 *
 * @example
 * await import('@tensorflow/tfjs-backend-wasm');
 * await tf.setBackend('wasm');
 * registerWasmTrainingKernels();
 * tf.grad((x: tf.Tensor4D) => tf.conv2d(x, w, 1, 'same').sum())(x); // now works on wasm
 */
export function registerWasmTrainingKernels(): void {
  for (const config of wasmTrainingKernels) {
    const existing = tf.getKernel(config.kernelName, 'wasm');
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (existing) {
      captureStock(config.kernelName);
      tf.unregisterKernel(config.kernelName, 'wasm');
    }
    tf.registerKernel(config);
  }
}
