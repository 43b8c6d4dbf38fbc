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
  if (info.strideHeight >= info.filterHeight && info.strideWidth >= info.filterWidth) return disjointWindows(backend, dy, input, info);
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

/**
 * Windows that never overlap (stride >= pool size, e.g. the usual 2x2/2): every input element has
 * at most one window, so dx is written once per element (the window's first maximum gets dy, the
 * rest 0) with the maximum kept in locals, instead of a zero pass, per-window scratch arrays and a
 * scatter-add; elements no window covers are zeroed first only when there are any.
 */
function disjointWindows(backend: BackendWasm, dy: tf.TensorInfo, input: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const covered = sh === fh && sw === fw && top === 0 && left === 0 && oh * sh === h && ow * sw === w;
  const out = backend.makeOutput(input.shape, 'float32');
  // Views after the allocation: growing wasm memory detaches older ones.
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  const x = backend.typedArrayFromHeap(input) as Float32Array;
  if (!covered) dx.fill(0);
  const offs = new Int32Array(fh * fw);
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const y0 = Math.max(0, oy * sh - top);
      const y1 = Math.min(h, oy * sh - top + fh);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = Math.max(0, ox * sw - left);
        const x1 = Math.min(w, ox * sw - left + fw);
        let n = 0;
        for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) offs[n++] = ((b * h + y) * w + xx) * c;
        const gBase = ((b * oh + oy) * ow + ox) * c;
        if (n === 4) {
          // The common 2x2 window, unrolled: same comparisons in the same order as the loop below.
          const o0 = offs[0]!;
          const o1 = offs[1]!;
          const o2 = offs[2]!;
          const o3 = offs[3]!;
          for (let ch = 0; ch < c; ch++) {
            const v0 = x[o0 + ch]!;
            const v1 = x[o1 + ch]!;
            const v2 = x[o2 + ch]!;
            const v3 = x[o3 + ch]!;
            let best = -Infinity;
            let at = -1;
            if (v0 > best) { best = v0; at = 0; }
            if (v1 > best) { best = v1; at = 1; }
            if (v2 > best) { best = v2; at = 2; }
            if (v3 > best) at = 3;
            const gv = g[gBase + ch]!;
            dx[o0 + ch] = at === 0 ? gv : 0;
            dx[o1 + ch] = at === 1 ? gv : 0;
            dx[o2 + ch] = at === 2 ? gv : 0;
            dx[o3 + ch] = at === 3 ? gv : 0;
          }
          continue;
        }
        for (let ch = 0; ch < c; ch++) {
          // First maximum in row-major order (strict >), the cpu backend's rule.
          let best = -Infinity;
          let at = -1;
          for (let p = 0; p < n; p++) {
            const v = x[offs[p]! + ch]!;
            if (v > best) {
              best = v;
              at = p;
            }
          }
          const gv = g[gBase + ch]!;
          for (let p = 0; p < n; p++) dx[offs[p]! + ch] = p === at ? gv : 0;
        }
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
