import * as tf from '@tensorflow/tfjs';
import type * as ort from 'onnxruntime-node';
import { loadOnnxRuntime } from '../../../util/onnxruntime.js';
import { toCfPerm } from '../context.js';

/** Graph optimization levels of onnxruntime sessions. */
export type OrtLevel = 'disabled' | 'basic' | 'extended' | 'all';

/** Model inputs in the ONNX graph's physical layout, for one batch of samples. */
export interface PhysicalBatch {
  feeds: Record<string, ort.Tensor>;
  size: number;
}

/**
 * Slice samples [start, end) of tfjs-layout inputs into onnxruntime feeds (transposed to
 * channels-first where the graph input is, as the exporter recorded in `inputLayouts`).
 */
export async function physicalBatch(xs: tf.Tensor[], names: string[], layouts: ('tf' | 'cf')[], start: number, end: number): Promise<PhysicalBatch> {
  const o = await loadOnnxRuntime();
  const feeds: Record<string, ort.Tensor> = {};
  xs.forEach((x, i) => {
    const t = tf.tidy(() => {
      const s = x.slice([start], [end - start]);
      return layouts[i] === 'cf' ? tf.transpose(s, toCfPerm(s.rank)) : s;
    });
    feeds[names[i]!] = new o.Tensor('float32', Float32Array.from(t.dataSync()), t.shape);
    t.dispose();
  });
  return { feeds, size: end - start };
}

/** An onnxruntime session on the CPU provider with the given optimization level (and options). */
export async function ortSession(bytes: Uint8Array, level: OrtLevel, extra: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
  const o = await loadOnnxRuntime();
  return o.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: level, ...extra });
}

/**
 * Run a session over all samples in batches and return the first output of each batch
 * concatenated (flat), with its per-sample size.
 */
export async function runBatched(session: ort.InferenceSession, xs: tf.Tensor[], names: string[], layouts: ('tf' | 'cf')[], batch = 64): Promise<{ data: Float32Array; perSample: number }> {
  const n = xs[0]!.shape[0]!;
  const parts: Float32Array[] = [];
  for (let s = 0; s < n; s += batch) {
    const { feeds } = await physicalBatch(xs, names, layouts, s, Math.min(n, s + batch));
    const out = await session.run(feeds);
    parts.push(Float32Array.from(out[session.outputNames[0]!]!.data as Float32Array));
  }
  const data = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) (data.set(p, at), (at += p.length));
  return { data, perSample: n > 0 ? data.length / n : 0 };
}

/** Index of the largest value of each row. */
export function argmaxRows(data: Float32Array, perSample: number): Int32Array {
  const n = perSample > 0 ? data.length / perSample : 0;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < perSample; j++) if (data[i * perSample + j]! > data[i * perSample + best]!) best = j;
    out[i] = best;
  }
  return out;
}

/** Fraction of rows whose argmax equals `labels`. */
export function accuracyOf(data: Float32Array, perSample: number, labels: ArrayLike<number>): number {
  const pred = argmaxRows(data, perSample);
  let ok = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === labels[i]) ok++;
  return pred.length ? ok / pred.length : NaN;
}
