import * as tf from '@tensorflow/tfjs';
import type { TensorDataset } from '../data/dataset.js';
import { countCorrect, countTopK, crossEntropyFor } from './metrics.js';
import type { Logs, ValidationFn } from './types.js';

/** Options of {@link evaluate}. */
export interface EvaluateArgs {
  /** Samples per forward pass (default 256). */
  batchSize?: number;
  /** Also report top-k accuracy as `top<k>`. */
  topK?: number;
  /** Extra per-batch figures, averaged over samples. */
  extra?: ValidationFn;
}

/**
 * Loss and accuracy of a model over a dataset, in inference mode (dropout off, batch-norm
 * moving statistics). Accuracy is per sample, or per pixel for dense outputs.
 *
 * @example
 * const { loss, accuracy } = await evaluate(model, loadMnist({ split: 'test' }));
 */
export async function evaluate(model: tf.LayersModel, data: TensorDataset, args: EvaluateArgs = {}): Promise<Logs> {
  const batchSize = args.batchSize ?? 256;
  const ce = crossEntropyFor(model);
  let loss = 0;
  let correct = 0;
  let topk = 0;
  let positions = 0;
  const extras: Record<string, number> = {};
  for (const batch of data.batches({ batchSize })) {
    const figures = tf.tidy(() => {
      const out = model.apply(batch.xs, { training: false }) as tf.Tensor;
      if (out.shape.slice(1).join() !== batch.ys.shape.slice(1).join()) {
        throw new Error(
          `model '${model.name}' outputs shape [${out.shape.slice(1)}] per sample but the dataset targets have shape [${batch.ys.shape.slice(1)}]`,
        );
      }
      const n = batch.indices.length;
      const r: Record<string, tf.Scalar> = {
        loss: tf.mul(ce(batch.ys, out), n) as tf.Scalar,
        correct: countCorrect(batch.ys, out),
      };
      if (args.topK) r.topk = countTopK(batch.ys, out, args.topK);
      if (args.extra) {
        for (const [k, v] of Object.entries(args.extra(model, batch, out))) r[`x_${k}`] = tf.mul(v, n) as tf.Scalar;
      }
      return r;
    });
    tf.dispose([batch.xs, batch.ys]);
    const n = batch.indices.length;
    loss += figures.loss!.dataSync()[0]!;
    correct += figures.correct!.dataSync()[0]!;
    if (figures.topk) topk += figures.topk.dataSync()[0]!;
    for (const [k, v] of Object.entries(figures)) {
      if (k.startsWith('x_')) extras[k.slice(2)] = (extras[k.slice(2)] ?? 0) + v.dataSync()[0]!;
    }
    tf.dispose(Object.values(figures));
    positions += n;
  }
  // Dense outputs (segmentation) count every pixel position for accuracy.
  const perSample = data.yShape.slice(0, -1).reduce((a, b) => a * b, 1);
  const logs: Logs = { loss: loss / positions, accuracy: correct / (positions * perSample) };
  if (args.topK) logs[`top${args.topK}`] = topk / (positions * perSample);
  for (const [k, v] of Object.entries(extras)) logs[k] = v / positions;
  return logs;
}
