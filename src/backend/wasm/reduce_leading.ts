import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * If `axis` reduces exactly the leading axes of `shape` (what bias and BatchNorm gradients do:
 * sum over [0,1,2] of NHWC), return the [rows, cols] view and the output shape.
 */
export function leadingSplit(shape: number[], axis: number | number[] | undefined, keepDims: boolean): { rows: number; cols: number; outShape: number[] } | undefined {
  if (shape.length === 0) return undefined;
  const axes = (axis === undefined ? shape.map((_, i) => i) : Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + shape.length : a));
  const sorted = [...new Set(axes)].sort((a, b) => a - b);
  if (!sorted.every((a, i) => a === i)) return undefined;
  const k = sorted.length;
  const rows = shape.slice(0, k).reduce((a, b) => a * b, 1);
  const cols = shape.slice(k).reduce((a, b) => a * b, 1);
  const rest = shape.slice(k);
  return { rows, cols, outShape: keepDims ? [...shape.slice(0, k).map(() => 1), ...rest] : rest };
}

/**
 * Column sums of a float32 [rows, cols] view, accumulated in float64 (as the cpu backend does),
 * times `scale`, written to a new output of `outShape`.
 */
export function columnSums(backend: BackendWasm, x: tf.TensorInfo, rows: number, cols: number, outShape: number[], scale: number): tf.TensorInfo {
  const out = backend.makeOutput(outShape, 'float32');
  const src = backend.typedArrayFromHeap(x) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) acc[c] += src[base + c];
  }
  for (let c = 0; c < cols; c++) dst[c] = acc[c] * scale;
  return out;
}

