import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { chain, requireNHWC } from './kernel_utils.js';

/**
 * Conv2DBackpropFilter (missing from stock wasm) as ONE forward XNNPACK convolution:
 *
 *   dW[kh,kw,ci,co] = sum_{b,oh,ow} xpad[b, oh*s+kh, ow*s+kw, ci] * dy[b,oh,ow,co]
 *
 * is a stride-1 convolution of x^T ([CI,H,W,B]: input channels become the batch, the batch becomes
 * the channels) with dy^T ([OH,OW,B,CO] used as the filter) at dilation = the forward stride. The
 * output [CI,KH,KW,CO] is transposed back to HWIO. This never materialises im2col columns and runs
 * on XNNPACK's GEMM (measured faster than im2col + matmul, see docs/backends.md).
 */
function conv2DBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  requireNHWC('Conv2DBackpropFilter', attrs.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
  );
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  const k = chain(backend);
  let xs = x;
  // Bottom/right padding that makes the correlation output exactly KH x KW; negative means rows of x
  // the forward conv never read (valid padding with a remainder), which we crop.
  let bottom = kh + (oh - 1) * sh - x.shape[1] - top;
  let right = kw + (ow - 1) * sw - x.shape[2] - left;
  if (bottom < 0 || right < 0) {
    xs = k.run('Slice', { x }, { begin: [0, 0, 0, 0], size: [-1, x.shape[1] + Math.min(bottom, 0), x.shape[2] + Math.min(right, 0), -1] });
    bottom = Math.max(bottom, 0);
    right = Math.max(right, 0);
  }
  const xt = k.transpose(xs, [3, 1, 2, 0]);
  const dyt = k.transpose(dy, [1, 2, 0, 3]);
  const pad = [[0, 0], [top, bottom], [left, right], [0, 0]];
  const conv = k.run('Conv2D', { x: xt, filter: dyt }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [sh, sw] });
  return k.keep(k.transpose(conv, [1, 2, 0, 3]));
}

/** Kernel config for `Conv2DBackpropFilter` on wasm. */
export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
};
