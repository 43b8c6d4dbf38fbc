import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { chain, pair } from './kernel_utils.js';

/**
 * DepthwiseConv2dNativeBackpropFilter (missing from stock wasm) as one depthwise XNNPACK conv:
 * folding the batch into the channels (x -> [1,H,W,B*C], dy -> filter [OH,OW,B*C,M]) turns the
 * per-channel correlation into a depthwise conv at dilation = stride; the [KH,KW,B,C*M] result is
 * then summed over B.
 */
function depthwiseBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const [dh, dw] = pair(attrs.dilations, 'dilations');
  if (dh !== 1 || dw !== 1) {
    throw new Error(`wasm DepthwiseConv2dNativeBackpropFilter: dilations ${dh}x${dw} are not supported (tfjs defines no dilated conv gradient)`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, true,
  );
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  const [b, h, w, c] = x.shape;
  const m = attrs.filterShape[3];
  const { top, left } = info.padInfo;
  const k = chain(backend);
  let xs = x;
  let bottom = kh + (oh - 1) * sh - h - top;
  let right = kw + (ow - 1) * sw - w - left;
  if (bottom < 0 || right < 0) {
    xs = k.run('Slice', { x }, { begin: [0, 0, 0, 0], size: [-1, h + Math.min(bottom, 0), w + Math.min(right, 0), -1] });
    bottom = Math.max(bottom, 0);
    right = Math.max(right, 0);
  }
  const [hs, ws] = [xs.shape[1], xs.shape[2]];
  // Batch 1 needs no transpose: [1,H,W,C] already is [1,H,W,B*C].
  const xt = b === 1 ? xs : k.reshape(k.transpose(xs, [1, 2, 0, 3]), [1, hs, ws, b * c]);
  const dyt = b === 1 ? k.reshape(dy, [oh, ow, c, m]) : k.reshape(k.transpose(k.reshape(dy, [b, oh, ow, c * m]), [1, 2, 0, 3]), [oh, ow, b * c, m]);
  const pad = [[0, 0], [top, bottom], [left, right], [0, 0]];
  const conv = k.run('DepthwiseConv2dNative', { x: xt, filter: dyt }, { strides: [1, 1], pad, dilations: [sh, sw], dataFormat: 'NHWC' });
  const out = b === 1 ? conv : k.run('Sum', { x: k.reshape(conv, [kh, kw, b, c * m]) }, { axis: [2], keepDims: false });
  return k.keep(k.reshape(out, [kh, kw, c, m]));
}

/** Kernel config for `DepthwiseConv2dNativeBackpropFilter` on wasm. */
export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter as unknown as tf.KernelFunc,
};
