import type { TensorDataset } from '../data/dataset.js';
import { loadModel, type LoadedModel } from '../model/load.js';
import { evaluate } from '../train/evaluate.js';
import { evaluateQuality } from './quality.js';
import { openOnnxRunner } from './runner-onnx.js';

/** Loss, accuracy and top-5 accuracy of a model on a dataset. */
export interface ModelScore {
  loss: number;
  /** Per sample (per pixel for segmentation). */
  accuracy: number;
  /** NaN for segmentation outputs. */
  top5: number;
}

/**
 * Score any model argument (or an already loaded model, which the caller keeps and disposes) on
 * a dataset: tfjs layers and graph models (folders, model.json, `.tfjsc`, `zoo:`) with
 * {@link evaluate}, `.onnx` files on onnxruntime-node. Softmax outputs are read as probabilities.
 *
 * @example
 * const { accuracy } = await evaluateModel('fixtures/web_model2', scaleInputs(test, inputScaling({ range: '-1..1' })));
 */
export async function evaluateModel(spec: string | LoadedModel, data: TensorDataset, command = 'eval'): Promise<ModelScore> {
  const owned = typeof spec === 'string';
  const m = owned ? await loadModel(spec, { command, accept: ['layers', 'graph', 'onnx'] }) : spec;
  if (m.kind === 'onnx') {
    const runner = await openOnnxRunner(m.path);
    try {
      const q = await evaluateQuality(runner, data, { topK: 5 });
      if (q.task !== 'classification') return { loss: q.loss, accuracy: q.pixelAccuracy, top5: NaN };
      return { loss: q.loss, accuracy: q.accuracy, top5: q.topK.accuracy };
    } finally {
      runner.dispose();
    }
  }
  try {
    const r = await evaluate(m.model, data, { topK: 5 });
    return { loss: r.loss!, accuracy: r.accuracy!, top5: r.top5! };
  } finally {
    if (owned) m.model.dispose();
  }
}
