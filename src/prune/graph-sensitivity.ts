import type * as tf from '@tensorflow/tfjs';
import type { TensorDataset } from '../data/dataset.js';
import { loadGraphArtifacts } from '../quantize/graph.js';
import { evaluate } from '../train/evaluate.js';
import { levelPruneGraph } from './graph-level.js';
import type { SensitivityArgs, SensitivityResult, SensitivityRow } from './sensitivity.js';

/** Accuracy and loss of the graph built from `artifacts` (loaded, evaluated, disposed). */
async function evaluateArtifacts(artifacts: tf.io.ModelArtifacts, data: TensorDataset, batchSize?: number): Promise<{ accuracy: number; loss: number }> {
  const m = await loadGraphArtifacts(artifacts);
  try {
    const r = await evaluate(m, data, { batchSize });
    return { accuracy: r.accuracy!, loss: r.loss! };
  } finally {
    m.dispose();
  }
}

/**
 * Per-tensor sensitivity of a graph model, measured on the graph itself (no conversion): each
 * prunable kernel in turn is pruned one-shot ({@link levelPruneGraph}) to each sparsity and the
 * pruned graph is evaluated. Rows are keyed by the op node reading the kernel, so
 * `configFromSensitivity` gives a config list `prune` accepts for the same graph.
 *
 * @example
 * const s = await graphSensitivity(artifacts, loadMnist({ split: 'test', limit: 1000 }));
 */
export async function graphSensitivity(artifacts: tf.io.ModelArtifacts, data: TensorDataset, args: SensitivityArgs = {}): Promise<SensitivityResult> {
  const sparsities = args.sparsities ?? [0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
  for (const s of sparsities) if (!(s >= 0 && s < 1)) throw new Error(`sensitivity: sparsities must be in [0, 1), got ${s}`);
  // Which kernels to sweep: the config list's selection (its sparsities are not used).
  const { tensors } = levelPruneGraph(artifacts, { configList: args.configList, sparsity: 0 });
  const baseline = await evaluateArtifacts(artifacts, data, args.batchSize);
  const rows: SensitivityRow[] = [];
  for (const t of tensors) {
    const params = t.shape.reduce((a, b) => a * b, 1);
    for (const sparsity of sparsities) {
      const pruned = levelPruneGraph(artifacts, { configList: [{ opNames: [t.node], sparsity }] });
      const r = await evaluateArtifacts(pruned.artifacts, data, args.batchSize);
      const row = { layer: t.node, params, sparsity, accuracy: r.accuracy, loss: r.loss, drop: baseline.accuracy - r.accuracy };
      rows.push(row);
      args.onResult?.(row);
    }
  }
  return { baseline, sparsities, rows };
}
