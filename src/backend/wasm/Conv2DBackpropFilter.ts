import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { colsPerRow, dyRows, im2colT, padChannelMajor, paddedGeometry } from './im2col.js';
import { chain, chunking, requireNHWC } from './kernel_utils.js';

/**
 * Conv2DBackpropFilter (missing from stock wasm):
 *
 *   dW[(kh,kw,ci), co] = sum_{b,oh,ow} cols^T[(kh,kw,ci), (b,oh,ow)] * dy[(b,oh,ow), co]
 *
 * computed per chunk of samples: a JS-built transposed im2col chunk (long memcpy runs of a padded
 * channel-major copy of x) times the matching rows of dy (the stock XNNPACK matmul, no transpose
 * flags), partial results summed with AddN (chunk sizes: {@link chunking}). Measured ~2x
 * faster than expressing it as one XNNPACK convolution of x^T with dy^T (big-kernel indirect
 * GEMM), see docs/backends.md.
 */
function conv2DBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  requireNHWC('Conv2DBackpropFilter', attrs.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
  );
  const { batchSize, filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co, outHeight: oh } = info;
  const rows = kh * kw * ci;
  const g = paddedGeometry(info);
  const perSample = oh * colsPerRow(info, g);
  // ~targetK reduction length per GEMM, but at least minMacs of work per call (a 9-row GEMM, the
  // 1-channel conv_1, is all per-call overhead in small chunks), within the scratch cap.
  const byK = Math.max(Math.floor(chunking.targetK / perSample), Math.ceil(chunking.minMacs / (rows * co * perSample)));
  const chunk = Math.max(1, Math.min(batchSize, byK, Math.floor(chunking.maxCols / (rows * perSample))));
  const k = chain(backend);
  const xp = backend.makeOutput([ci, batchSize, g.hp, g.wp], 'float32');
  padChannelMajor(backend.typedArrayFromHeap(x) as Float32Array, backend.typedArrayFromHeap(xp) as Float32Array, info, g);
  const parts: tf.TensorInfo[] = [];
  for (let b0 = 0; b0 < batchSize; b0 += chunk) {
    const nb = Math.min(chunk, batchSize - b0);
    const cols = nb * perSample;
    const a = backend.makeOutput([rows, cols], 'float32');
    const d = backend.makeOutput([cols, co], 'float32');
    // Views are taken after the allocations: growing wasm memory detaches older views.
    const heap = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    dyRows(heap(dy), heap(d), info, g, b0, nb);
    im2colT(heap(xp), heap(a), info, g, b0, nb);
    parts.push(k.run('BatchMatMul', { a, b: d }, { transposeA: false, transposeB: false }));
    backend.disposeData(a.dataId);
    backend.disposeData(d.dataId);
  }
  backend.disposeData(xp.dataId);
  // AddN takes its inputs as an array.
  const sum = parts.length === 1 ? parts[0] : k.run('AddN', parts as unknown as Record<string, tf.TensorInfo>);
  return k.keep(k.reshape(sum, [kh, kw, ci, co]));
}

/** Kernel config for `Conv2DBackpropFilter` on wasm. */
export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
};
