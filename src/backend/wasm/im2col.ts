import type * as tf from '@tensorflow/tfjs';

/** Geometry of the padded, channel-major copy of x that {@link im2colT} reads. */
export interface PaddedGeometry {
  /** Padded height/width: exactly the rows/columns the convolution reads. */
  hp: number;
  wp: number;
}

/** The padded extent a conv reads: (O-1)*s + K in each spatial dimension. */
export function paddedGeometry(info: tf.backend_util.Conv2DInfo): PaddedGeometry {
  return {
    hp: (info.outHeight - 1) * info.strideHeight + info.filterHeight,
    wp: (info.outWidth - 1) * info.strideWidth + info.filterWidth,
  };
}

/**
 * Write x (NHWC) as a zero-padded channel-major tensor [CI, B, Hp, Wp] into `dst`. Rows/columns
 * of x the conv never reads (valid padding with a remainder) are dropped.
 */
export function padChannelMajor(x: Float32Array, dst: Float32Array, info: tf.backend_util.Conv2DInfo, g: PaddedGeometry): void {
  const { batchSize: nb, inHeight: h, inWidth: w, inChannels: ci } = info;
  const { top, left } = info.padInfo;
  const { hp, wp } = g;
  dst.fill(0);
  const plane = nb * hp * wp;
  for (let b = 0; b < nb; b++) {
    for (let y = 0; y < h; y++) {
      const py = y + top;
      if (py < 0 || py >= hp) continue;
      for (let xx = 0; xx < w; xx++) {
        const px = xx + left;
        if (px < 0 || px >= wp) continue;
        let s = ((b * h + y) * w + xx) * ci;
        let d = (b * hp + py) * wp + px;
        for (let c = 0; c < ci; c++, s++, d += plane) dst[d] = x[s];
      }
    }
  }
}

/**
 * Number of im2col columns per sample: with stride 1 the columns span the full padded width (the
 * extra Wp-OW columns per row are garbage, cancelled by zero dy columns) so that every row of the
 * matrix is a few long contiguous runs of the padded input; with larger strides exactly OW.
 */
export function colsPerRow(info: tf.backend_util.Conv2DInfo, g: PaddedGeometry): number {
  return info.strideHeight === 1 && info.strideWidth === 1 ? g.wp : info.outWidth;
}

/**
 * Transposed im2col of samples [b0, b0+nb) from the padded channel-major input `xp`, written into
 * `dst` as a [KH*KW*CI, nb*OH*C] row-major matrix (C = {@link colsPerRow}):
 *
 *   dst[(kh*KW + kw)*CI + ci, (b*OH + oh)*C + ow] = xp[ci, b0+b, oh*sh + kh, ow*sw + kw]
 */
export function im2colT(xp: Float32Array, dst: Float32Array, info: tf.backend_util.Conv2DInfo, g: PaddedGeometry, b0: number, nb: number): void {
  const { batchSize, inChannels: ci, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  const { hp, wp } = g;
  const cw = colsPerRow(info, g);
  const cols = nb * oh * cw;
  const img = hp * wp;
  const flat = cw === wp;
  for (let fy = 0; fy < kh; fy++) {
    for (let fx = 0; fx < kw; fx++) {
      for (let c = 0; c < ci; c++) {
        const rowBase = ((fy * kw + fx) * ci + c) * cols;
        for (let b = 0; b < nb; b++) {
          const src0 = (c * batchSize + b0 + b) * img + fy * wp + fx;
          const d0 = rowBase + b * oh * cw;
          if (flat) {
            // One contiguous run; it may spill fx values into the next image, but only into garbage
            // columns (multiplied by zero dy). Clamp at the end of the buffer.
            const len = oh * wp;
            const end = Math.min(src0 + len, xp.length);
            dst.set(xp.subarray(src0, end), d0);
            if (end - src0 < len) dst.fill(0, d0 + end - src0, d0 + len);
          } else {
            for (let y = 0; y < oh; y++) {
              let s = src0 + y * sh * wp;
              const d = d0 + y * ow;
              for (let xo = 0; xo < ow; xo++, s += sw) dst[d + xo] = xp[s];
            }
          }
        }
      }
    }
  }
}

/**
 * Rows of dy [B,OH,OW,CO] for samples [b0, b0+nb) as a [nb*OH*C, CO] matrix matching
 * {@link im2colT}'s columns: zero rows for the garbage columns when C > OW.
 */
export function dyRows(dy: Float32Array, dst: Float32Array, info: tf.backend_util.Conv2DInfo, g: PaddedGeometry, b0: number, nb: number): void {
  const { outHeight: oh, outWidth: ow, outChannels: co } = info;
  const cw = colsPerRow(info, g);
  if (cw === ow) {
    dst.set(dy.subarray(b0 * oh * ow * co, (b0 + nb) * oh * ow * co));
    return;
  }
  for (let r = 0; r < nb * oh; r++) {
    const s = (b0 * oh + r) * ow * co;
    dst.set(dy.subarray(s, s + ow * co), r * cw * co);
    dst.fill(0, r * cw * co + ow * co, (r + 1) * cw * co);
  }
}
