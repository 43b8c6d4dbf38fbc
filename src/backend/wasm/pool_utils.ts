import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** Pooling attributes shared by MaxPoolGrad and AvgPoolGrad. */
export interface PoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Pool geometry for an NHWC input. */
export function poolInfo(xShape: number[], a: PoolGradAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computePool2DInfo(xShape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
}

/** A zero-filled float32 output on the wasm heap plus fresh views of it and of `inputs`. */
export function zeroOutput(backend: BackendWasm, shape: number[], inputs: tf.TensorInfo[]): { out: tf.TensorInfo; views: Float32Array[] } {
  const out = backend.makeOutput(shape, 'float32');
  // Views after the allocation: growing wasm memory detaches older ones.
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  dst.fill(0);
  return { out, views: [dst, ...inputs.map((t) => backend.typedArrayFromHeap(t) as Float32Array)] };
}
