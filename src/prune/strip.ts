import type * as tf from '@tensorflow/tfjs';
import { cloneModel } from '../model/clone.js';
import { formatSummary, summary } from '../model/summary.js';
import type { ModelSummary } from '../model/summary.js';
import { applyMasks } from './masks.js';
import type { Masks } from './masks.js';

/**
 * A plain tfjs layers model with the masks' zeros baked in: no wrapper layers or mask variables,
 * so stock `tf.loadLayersModel` loads what it saves (TF-MOT `strip_pruning`).
 *
 * @example
 * const exported = await strip(pruned, masks);
 * await saveLayersModel(exported, 'out/pruned');
 */
export async function strip(model: tf.LayersModel, masks?: Masks): Promise<tf.LayersModel> {
  const copy = await cloneModel(model);
  if (masks) applyMasks(copy, masks);
  return copy;
}

/** Per-layer sparsity report (layers with weights only) from {@link summary}. */
export function sparsityReport(model: tf.LayersModel): ModelSummary {
  const s = summary(model);
  return { ...s, layers: s.layers.filter((l) => l.params > 0) };
}

/** {@link sparsityReport} as an aligned text table. */
export function formatSparsityReport(model: tf.LayersModel): string {
  return formatSummary(sparsityReport(model));
}
