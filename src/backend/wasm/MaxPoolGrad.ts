import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type PoolGradAttrs, poolInfo, zeroOutput } from './pool_utils.js';

/**
 * MaxPoolGrad replacement (stock wasm: ~150 ms for the zoo cnn's [128,24,24,64] pool; this: a few
 * ms). A scatter over the heap in plain JS with channel-contiguous inner loops: each output's dy
 * goes to the FIRST maximum of its window in row-major order (strict `>`), exactly the cpu
 * backend's rule, so ties (common after ReLU) route identically.
 */
function maxPoolGrad(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const info = poolInfo(input.shape, args.attrs as unknown as PoolGradAttrs);
  const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const { out, views: [dx, g, x] } = zeroOutput(backend, input.shape, [dy, input]);
  const best = new Float32Array(c);
  const pos = new Int32Array(c);
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const y0 = Math.max(0, oy * sh - top);
      const y1 = Math.min(h, oy * sh - top + fh);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = Math.max(0, ox * sw - left);
        const x1 = Math.min(w, ox * sw - left + fw);
        best.fill(-Infinity);
        pos.fill(-1);
        for (let y = y0; y < y1; y++) {
          for (let xx = x0; xx < x1; xx++) {
            const base = ((b * h + y) * w + xx) * c;
            for (let ch = 0; ch < c; ch++) {
              const v = x[base + ch];
              if (v > best[ch]) {
                best[ch] = v;
                pos[ch] = base + ch;
              }
            }
          }
        }
        const gBase = ((b * oh + oy) * ow + ox) * c;
        for (let ch = 0; ch < c; ch++) if (pos[ch] >= 0) dx[pos[ch]] += g[gBase + ch];
      }
    }
  }
  return out;
}

/** Kernel config for `MaxPoolGrad` on wasm (overrides the stock one). */
export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};
