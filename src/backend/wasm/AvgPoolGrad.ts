import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type PoolGradAttrs, poolInfo, zeroOutput } from './pool_utils.js';

/**
 * AvgPoolGrad replacement: a plain-JS scatter over the heap, channel-contiguous inner loop. Each
 * output spreads dy / (filterHeight * filterWidth) over the in-image part of its window, the
 * same constant divisor the cpu backend's gradient uses.
 */
function avgPoolGrad(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const info = poolInfo(input.shape, args.attrs as unknown as PoolGradAttrs);
  const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const scale = 1 / (fh * fw);
  const { out, views: [dx, g] } = zeroOutput(backend, input.shape, [dy]);
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const y0 = Math.max(0, oy * sh - top);
      const y1 = Math.min(h, oy * sh - top + fh);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = Math.max(0, ox * sw - left);
        const x1 = Math.min(w, ox * sw - left + fw);
        const gBase = ((b * oh + oy) * ow + ox) * c;
        for (let y = y0; y < y1; y++) {
          for (let xx = x0; xx < x1; xx++) {
            const base = ((b * h + y) * w + xx) * c;
            for (let ch = 0; ch < c; ch++) dx[base + ch] += g[gBase + ch] * scale;
          }
        }
      }
    }
  }
  return out;
}

/** Kernel config for `AvgPoolGrad` on wasm (overrides the stock one). */
export const avgPoolGradConfig: tf.KernelConfig = {
  kernelName: 'AvgPoolGrad',
  backendName: 'wasm',
  kernelFunc: avgPoolGrad as unknown as tf.KernelFunc,
};
