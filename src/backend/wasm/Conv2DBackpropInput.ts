import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { col2im } from './col2im.js';
import { dilateAndPad } from './dilate.js';
import { chain, chunking, requireNHWC } from './kernel_utils.js';

/**
 * Conv2DBackpropInput replacement (the stock wasm kernel is a naive loop, ~8x slower).
 *  - stride 1: a forward XNNPACK conv of the padded dy with the filter rotated 180 degrees and its
 *    in/out channels swapped ([KH,KW,CO,CI]).
 *  - stride > 1: the zero-dilated dy would make that conv waste (s^2-1)/s^2 of its work (4x for
 *    the keras-kd teacher), so instead column gradients dy [M,CO] x W^T [CO,KH*KW*CI] come from
 *    one XNNPACK matmul per chunk of samples and are scatter-added into dx (col2im, plain JS).
 */
function conv2DBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  requireNHWC('Conv2DBackpropInput', attrs.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
  );
  const k = chain(backend);
  if (info.strideHeight === 1 && info.strideWidth === 1) {
    const dyp = dilateAndPad(k, dy, info);
    const rotated = k.run('Reverse', { x: filter }, { dims: [0, 1] });
    const swapped = k.transpose(rotated, [0, 1, 3, 2]);
    return k.keep(k.run('Conv2D', { x: dyp, filter: swapped }, { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] }));
  }
  const { batchSize, filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co, outHeight: oh, outWidth: ow } = info;
  const rowLen = kh * kw * ci;
  const perSample = oh * ow;
  const chunk = Math.max(1, Math.min(batchSize, Math.floor(chunking.maxCols / (rowLen * perSample))));
  // W^T: [CO, KH*KW*CI], so the matmul needs no transpose flag (the stock flag path is slow).
  const wt = k.transpose(k.reshape(filter, [rowLen, co]), [1, 0]);
  const dx = backend.makeOutput(attrs.inputShape, 'float32');
  (backend.typedArrayFromHeap(dx) as Float32Array).fill(0);
  for (let b0 = 0; b0 < batchSize; b0 += chunk) {
    const nb = Math.min(chunk, batchSize - b0);
    let rows: tf.TensorInfo;
    if (nb === batchSize) {
      rows = k.reshape(dy, [nb * perSample, co]);
    } else {
      rows = backend.makeOutput([nb * perSample, co], 'float32');
      const src = backend.typedArrayFromHeap(dy) as Float32Array;
      (backend.typedArrayFromHeap(rows) as Float32Array).set(src.subarray(b0 * perSample * co, (b0 + nb) * perSample * co));
    }
    const cols = k.run('BatchMatMul', { a: rows, b: wt }, { transposeA: false, transposeB: false });
    // Views after all allocations of this chunk (wasm memory growth detaches older views).
    col2im(backend.typedArrayFromHeap(cols) as Float32Array, backend.typedArrayFromHeap(dx) as Float32Array, info, b0, nb);
    backend.disposeData(cols.dataId);
    if (nb !== batchSize) backend.disposeData(rows.dataId); // the whole-batch reshape is freed by keep()
  }
  return k.keep(dx);
}

/** Kernel config for `Conv2DBackpropInput` on wasm (overrides the stock one). */
export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as tf.KernelFunc,
};
