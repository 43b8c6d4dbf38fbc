import type * as tf from '@tensorflow/tfjs';

/**
 * Scatter-add column gradients back to an NHWC image (the adjoint of im2col), for samples
 * [b0, b0+nb) of `dx`:
 *
 *   dx[b0+b, oh*sh - top + kh, ow*sw - left + kw, ci] += cols[(b*OH + oh)*OW + ow, (kh*KW + kw)*CI + ci]
 *
 * Inner loops run over CI contiguously on both sides. `dx` must be zeroed by the caller.
 */
export function col2im(cols: Float32Array, dx: Float32Array, info: tf.backend_util.Conv2DInfo, b0: number, nb: number): void {
  const { inHeight: h, inWidth: w, inChannels: ci, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  const rowLen = kh * kw * ci;
  for (let b = 0; b < nb; b++) {
    const img = (b0 + b) * h * w * ci;
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const src = ((b * oh + y) * ow + x) * rowLen;
        for (let fy = 0; fy < kh; fy++) {
          const iy = y * sh - top + fy;
          if (iy < 0 || iy >= h) continue;
          for (let fx = 0; fx < kw; fx++) {
            const ix = x * sw - left + fx;
            if (ix < 0 || ix >= w) continue;
            const d = img + (iy * w + ix) * ci;
            const s = src + (fy * kw + fx) * ci;
            for (let c = 0; c < ci; c++) dx[d + c] += cols[s + c];
          }
        }
      }
    }
  }
}
