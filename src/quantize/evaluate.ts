import * as tf from '@tensorflow/tfjs';
import type { TensorDataset } from '../data/dataset.js';

/** Options for {@link evaluateAccuracy}. */
export interface AccuracyArgs {
  /** Samples per forward pass (default 256). */
  batchSize?: number;
}

/**
 * Top-1 accuracy (fraction in [0, 1]) of a classifier on a dataset: argmax of the model output
 * against the dataset's integer labels (or the argmax of its one-hot targets).
 *
 * @example
 * const acc = evaluateAccuracy(model, loadMnist({ split: 'test', limit: 2000 }));
 */
export function evaluateAccuracy(model: tf.LayersModel, data: TensorDataset, args: AccuracyArgs = {}): number {
  if (data.size === 0) throw new Error('evaluateAccuracy: the dataset is empty');
  let correct = 0;
  for (const batch of data.batches({ batchSize: args.batchSize ?? 256 })) {
    const [pred, truth] = tf.tidy(() => {
      const out = model.predict(batch.xs) as tf.Tensor;
      if (out.shape.length !== 2) {
        throw new Error(`evaluateAccuracy: expected a [batch, classes] output, got shape [${out.shape.join(', ')}]`);
      }
      return [out.argMax(-1), batch.ys.argMax(-1)] as const;
    });
    const p = pred.dataSync();
    const labels = data.labels;
    const t = truth.dataSync();
    for (let i = 0; i < p.length; i++) {
      const label = labels ? labels[batch.indices[i]!]! : t[i]!;
      if (p[i] === label) correct++;
    }
    tf.dispose([pred, truth, batch.xs, batch.ys]);
  }
  return correct / data.size;
}
