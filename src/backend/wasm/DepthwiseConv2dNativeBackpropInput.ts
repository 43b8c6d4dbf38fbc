import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { dilateAndPad } from './dilate.js';
import { chain, pair } from './kernel_utils.js';

/**
 * DepthwiseConv2dNativeBackpropInput (missing from stock wasm): a depthwise XNNPACK conv of the
 * zero-dilated, padded dy with the spatially rotated filter. With a channel multiplier M > 1, the
 * C*M gradient channels are convolved one-to-one and then summed over M.
 */
function depthwiseBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const [dh, dw] = pair(attrs.dilations, 'dilations');
  if (dh !== 1 || dw !== 1) {
    throw new Error(`wasm DepthwiseConv2dNativeBackpropInput: dilations ${dh}x${dw} are not supported (tfjs defines no dilated conv gradient)`);
  }
  const [kh, kw, c, m] = filter.shape;
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape, [kh, kw, c, m], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, true,
  );
  const [b, h, w] = attrs.inputShape;
  const k = chain(backend);
  const dyp = dilateAndPad(k, dy, info);
  const rotated = k.run('Reverse', { x: filter }, { dims: [0, 1] });
  const f = k.reshape(rotated, [kh, kw, c * m, 1]);
  const conv = k.run('DepthwiseConv2dNative', { x: dyp, filter: f }, { strides: [1, 1], pad: 'valid', dilations: [1, 1], dataFormat: 'NHWC' });
  if (m === 1) return k.keep(conv);
  return k.keep(k.run('Sum', { x: k.reshape(conv, [b, h, w, c, m]) }, { axis: [4], keepDims: false }));
}

/** Kernel config for `DepthwiseConv2dNativeBackpropInput` on wasm. */
export const depthwiseConv2dNativeBackpropInputConfig: tf.KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput as unknown as tf.KernelFunc,
};
