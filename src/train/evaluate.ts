import * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import type { TensorDataset } from '../data/dataset.js';
import { graphOutputsProbabilities } from '../model/graph-info.js';
import { adaptBatch, modelInputShape } from '../model/input-shape.js';
import { countCorrect, countTopK, crossEntropyFor, probabilityCrossEntropy, softmaxCrossEntropy } from './metrics.js';
import type { Logs, ValidationFn } from './types.js';
import { checkDataFitsModel } from '../model/validate/data-fit.js';

/** Options of {@link evaluate}. */
export interface EvaluateArgs {
  /** Samples per forward pass (default 256). */
  batchSize?: number;
  /** Also report top-k accuracy as `top<k>`. */
  topK?: number;
  /** Extra per-batch figures, averaged over samples (layers models only). */
  extra?: ValidationFn;
}

/** A model {@link evaluate} can run: a layers model, or a graph model (its first output is scored). */
export type EvaluableModel = tf.LayersModel | GraphModel;

/** Inference-mode forward pass and matching cross-entropy of either model kind. */
function forwardOf(model: EvaluableModel): { name: string; run: (xs: tf.Tensor) => tf.Tensor; ce: (t: tf.Tensor, o: tf.Tensor) => tf.Scalar } {
  const inShape = modelInputShape(model);
  if (model instanceof tf.LayersModel) {
    const who = `model '${model.name}'`;
    return { name: model.name, run: (xs) => model.apply(adaptBatch(xs, inShape, who), { training: false }) as tf.Tensor, ce: crossEntropyFor(model) };
  }
  const output = model.outputNodes[0]!;
  return {
    name: 'graph model',
    run: (xs) => model.execute(adaptBatch(xs, inShape, 'the graph model'), output) as tf.Tensor,
    ce: graphOutputsProbabilities(model, output) ? probabilityCrossEntropy : softmaxCrossEntropy,
  };
}

/**
 * Loss and accuracy of a layers or graph model over a dataset, in inference mode (dropout off,
 * batch-norm moving statistics). Accuracy is per sample, or per pixel for dense outputs; the
 * loss reads softmax outputs as probabilities (a graph's through its Identity output). Samples
 * that differ from the model's input only by unit dims are reshaped ({@link adaptBatch}).
 *
 * @example
 * const { loss, accuracy } = await evaluate(model, loadMnist({ split: 'test' }));
 */
export async function evaluate(model: EvaluableModel, data: TensorDataset, args: EvaluateArgs = {}): Promise<Logs> {
  const batchSize = args.batchSize ?? 256;
  checkDataFitsModel(model, data);
  const { name, run, ce } = forwardOf(model);
  const extra = args.extra;
  if (extra && !(model instanceof tf.LayersModel)) throw new Error('evaluate: extra validation figures need a layers model');
  let loss = 0;
  let correct = 0;
  let topk = 0;
  let positions = 0;
  const extras: Record<string, number> = {};
  for (const batch of data.batches({ batchSize })) {
    let figures: Record<string, tf.Scalar>;
    try {
      figures = tf.tidy(() => {
        const out = run(batch.xs);
        if (out.shape.slice(1).join() !== batch.ys.shape.slice(1).join()) {
          throw new Error(
            `model '${name}' outputs shape [${out.shape.slice(1)}] per sample but the dataset targets have shape [${batch.ys.shape.slice(1)}]`,
          );
        }
        const n = batch.indices.length;
        const r: Record<string, tf.Scalar> = {
          loss: tf.mul(ce(batch.ys, out), n) as tf.Scalar,
          correct: countCorrect(batch.ys, out),
        };
        if (args.topK) r.topk = countTopK(batch.ys, out, args.topK);
        if (extra) {
          for (const [k, v] of Object.entries(extra(model as tf.LayersModel, batch, out))) r[`x_${k}`] = tf.mul(v, n) as tf.Scalar;
        }
        return r;
      });
    } finally {
      // Also on a shape error: the batch must not outlive the failed pass.
      tf.dispose([batch.xs, batch.ys]);
    }
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
