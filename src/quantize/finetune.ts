import * as tf from '@tensorflow/tfjs';
import type { TensorDataset } from '../data/dataset.js';
import { adaptBatch, modelInputShape } from '../model/input-shape.js';
import type { CodebookTensor } from './types.js';

/** Options for centroid fine-tuning after weight sharing (Deep Compression, section 3.3). */
export interface FineTuneArgs {
  /** Training data (inputs and one-hot targets). */
  data: TensorDataset;
  /** Optimisation steps (mini-batches). Default 100. */
  steps?: number;
  /** Mini-batch size. Default 64. */
  batchSize?: number;
  /** SGD learning rate applied to the summed cluster gradient. Default 1e-3. */
  learningRate?: number;
  /** Shuffle seed. Default 0. */
  seed?: number;
}

/** A shared-weight tensor bound to the model variable it drives. */
export interface SharedWeight {
  variable: tf.LayerVariable;
  tensor: CodebookTensor;
}

/** Loss and step count of a fine-tuning run. */
export interface FineTuneReport {
  steps: number;
  /** Mean loss over the first and last 10 steps. */
  lossStart: number;
  lossEnd: number;
}

function outputsSoftmax(model: tf.LayersModel): boolean {
  const last = model.layers[model.layers.length - 1]!;
  const cfg = last.getConfig() as { activation?: unknown };
  return cfg.activation === 'softmax' || last.getClassName() === 'Softmax';
}

function writeShared(w: SharedWeight): void {
  const { centroids, assignments, shape } = w.tensor;
  const values = new Float32Array(assignments.length);
  for (let i = 0; i < values.length; i++) {
    const a = assignments[i]!;
    values[i] = a < 0 ? 0 : centroids[a]!;
  }
  const t = tf.tensor(values, shape, 'float32');
  w.variable.write(t);
  t.dispose();
}

/**
 * Fine-tune shared centroids on training data: each step takes the gradient of a softmax
 * cross-entropy loss w.r.t. the shared weights, sums it over each cluster (the gradient of a
 * centroid is the sum of its members' gradients), takes an SGD step on the centroids and writes
 * the shared values back. Assignments and zeros never change, so sparsity survives. Updates the
 * `tensor.centroids` in place and the model variables.
 */
export function fineTuneCentroids(model: tf.LayersModel, shared: SharedWeight[], args: FineTuneArgs): FineTuneReport {
  const steps = args.steps ?? 100;
  const batchSize = args.batchSize ?? 64;
  const lr = args.learningRate ?? 1e-3;
  if (!(Number.isInteger(steps) && steps >= 0)) throw new Error(`fine-tune: steps must be a non-negative integer, got ${steps}`);
  if (!(lr > 0)) throw new Error(`fine-tune: learningRate must be > 0, got ${lr}`);
  if (args.data.size === 0) throw new Error('fine-tune: the training dataset is empty');
  if (shared.length === 0 || steps === 0) return { steps: 0, lossStart: NaN, lossEnd: NaN };
  const softmaxOut = outputsSoftmax(model);
  const inShape = modelInputShape(model);
  const vars = shared.map((s) => s.variable.read() as tf.Variable);
  const losses: number[] = [];
  let step = 0;
  for (let epoch = 0; step < steps; epoch++) {
    for (const batch of args.data.batches({ batchSize, shuffle: true, seed: args.seed ?? 0, epoch })) {
      if (step >= steps) {
        tf.dispose([batch.xs, batch.ys]);
        continue;
      }
      const { value, grads } = tf.variableGrads(() => {
        // [28, 28] vs [28, 28, 1] samples: the same reshape evaluate and training use.
        const out = model.apply(adaptBatch(batch.xs, inShape, `model '${model.name}'`), { training: false }) as tf.Tensor;
        // A softmax head already gives probabilities; otherwise the output is logits.
        return softmaxOut
          ? tf.mean(tf.metrics.categoricalCrossentropy(batch.ys, out)).asScalar()
          : tf.losses.softmaxCrossEntropy(batch.ys, out).asScalar();
      }, vars);
      losses.push(value.dataSync()[0]!);
      shared.forEach((s, k) => {
        const g = grads[vars[k]!.name];
        if (!g) return;
        const gv = g.dataSync();
        const sums = new Float64Array(s.tensor.centroids.length);
        const a = s.tensor.assignments;
        for (let i = 0; i < a.length; i++) if (a[i]! >= 0) sums[a[i]!] += gv[i]!;
        for (let c = 0; c < sums.length; c++) s.tensor.centroids[c] = s.tensor.centroids[c]! - lr * sums[c]!;
        writeShared(s);
      });
      tf.dispose([value, batch.xs, batch.ys, ...Object.values(grads).filter((g): g is tf.Tensor => g != null)]);
      step++;
    }
  }
  const mean = (xs: number[]) => xs.reduce((p, q) => p + q, 0) / xs.length;
  return { steps: step, lossStart: mean(losses.slice(0, 10)), lossEnd: mean(losses.slice(-10)) };
}
