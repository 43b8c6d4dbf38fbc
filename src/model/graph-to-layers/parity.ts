import * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { seededRandom } from '../../data/dataset.js';
import type { BuiltModel } from './build.js';

/** Outcome of {@link checkParity}. */
export interface ParityResult {
  samples: number;
  maxAbsDiff: number;
  perOutput: number[];
  tolerance: number;
}

/**
 * Seeded parity inputs, one tensor per graph input: floats uniform in [-1, 1]; integer inputs get
 * ids in [0, table rows) when they feed an Embedding, else in [0, 10).
 */
export function parityInputs(graph: GraphModel, built: BuiltModel, samples: number, seed = 1): tf.Tensor[] {
  const rand = seededRandom(seed);
  return graph.inputs.map((info, i) => {
    const shape = [samples, ...(info.shape ?? []).slice(1).map((d) => (d < 0 ? 1 : d))];
    const n = shape.reduce((a, b) => a * b, 1);
    if (info.dtype === 'int32') {
      const hi = built.intRanges[i] ?? 10;
      return tf.tensor(Int32Array.from({ length: n }, () => Math.floor(rand() * hi)), shape, 'int32');
    }
    return tf.tensor(Float32Array.from({ length: n }, () => rand() * 2 - 1), shape, 'float32');
  });
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Run both models on one batch; max |difference| per output. */
function compareBatch(graph: GraphModel, model: tf.LayersModel, xs: tf.Tensor[]): number[] {
  const ref = graph.execute(xs.length === 1 ? xs[0]! : xs, graph.outputs.map((o) => o.name));
  const refs = Array.isArray(ref) ? ref : [ref];
  try {
    // tidy must return tensors: it walks typed arrays element by element (too slow and too large for 224x224 maps).
    const outs = tf.tidy(() => {
      const y = model.predict(xs.length === 1 ? xs[0]! : xs);
      return Array.isArray(y) ? y : [y];
    });
    try {
      return refs.map((r, i) => maxAbs(r.dataSync(), outs[i]!.dataSync()));
    } finally {
      tf.dispose(outs);
    }
  } finally {
    refs.forEach((t) => t.dispose());
  }
}

/**
 * Compare the rebuilt layers model with `graph.execute` on `inputs` (a graph with a fixed batch of
 * 1 is fed one sample at a time). Never throws on a mismatch: the caller decides.
 */
export function checkParity(graph: GraphModel, built: BuiltModel, inputs: tf.Tensor[], tolerance: number): ParityResult {
  const samples = inputs[0]?.shape[0] ?? 0;
  const perOutput = new Array<number>(graph.outputs.length).fill(0);
  const batches = built.fixedBatch1 ? Array.from({ length: samples }, (_, i) => i) : [-1];
  for (const i of batches) {
    const xs = i < 0 ? inputs : inputs.map((x) => tf.slice(x, i, 1));
    try {
      compareBatch(graph, built.model, xs).forEach((d, k) => (perOutput[k] = Math.max(perOutput[k]!, d)));
    } finally {
      if (i >= 0) xs.forEach((x) => x.dispose());
    }
  }
  return { samples, maxAbsDiff: Math.max(0, ...perOutput), perOutput, tolerance };
}
