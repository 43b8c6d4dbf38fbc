import * as tf from '@tensorflow/tfjs';
import { chain } from './kernel_utils.js';

type Chain = ReturnType<typeof chain>;

/**
 * Prepare dy [B,OH,OW,C] for a "transposed" convolution done as a forward stride-1 conv: insert
 * (stride - 1) zeros between rows/columns (zero-insertion via reshape + pad, no scatter kernel
 * needed), then pad/crop so a KH x KW valid conv yields exactly [B,H,W,*].
 *
 * @returns dy ready to convolve with pad 'valid'.
 */
export function dilateAndPad(
  k: Chain, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w } = info;
  const [b, oh, ow, c] = dy.shape;
  let t = dy;
  let dh = oh;
  let dw = ow;
  if (sh > 1 || sw > 1) {
    // [B,OH,1,OW,1,C] -> pad the unit axes to the stride -> [B,OH*sh,OW*sw,C]; the last (s-1)
    // rows/cols are spurious trailing zeros that the padding below accounts for.
    const r = k.reshape(t, [b, oh, 1, ow, 1, c]);
    const p = k.run('PadV2', { x: r }, { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 });
    t = k.reshape(p, [b, oh * sh, ow * sw, c]);
    dh = oh * sh;
    dw = ow * sw;
  }
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const bottom = h + kh - 1 - dh - top;
  const right = w + kw - 1 - dw - left;
  // Negative amounts mean crop (e.g. the spurious trailing zeros, or explicit pads > KH-1).
  const crop = [Math.max(-top, 0), Math.max(-bottom, 0), Math.max(-left, 0), Math.max(-right, 0)];
  if (crop.some((v) => v > 0)) {
    t = k.run('Slice', { x: t }, { begin: [0, crop[0], crop[2], 0], size: [b, dh - crop[0] - crop[1], dw - crop[2] - crop[3], c] });
  }
  const pads = [Math.max(top, 0), Math.max(bottom, 0), Math.max(left, 0), Math.max(right, 0)];
  if (pads.some((v) => v > 0)) {
    t = k.run('PadV2', { x: t }, { paddings: [[0, 0], [pads[0], pads[1]], [pads[2], pads[3]], [0, 0]], constantValue: 0 });
  }
  return t;
}
