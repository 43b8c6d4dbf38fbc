import type * as tf from '@tensorflow/tfjs';
import { cloneModel } from '../model/clone.js';
import { resolveTargets } from './config.js';
import type { ConfigEntryInput } from './config.js';
import { applyMasks, computeMasks } from './masks.js';
import type { Masks, Ranking } from './masks.js';

/** Options of {@link levelPrune}. */
export interface LevelPruneArgs {
  /** NNI-style config list, e.g. `[{opTypes: ['Dense'], sparsity: 0.9}]`. */
  configList: ConfigEntryInput[];
  /** Rank each target on its own (default) or all targets with the same sparsity together. */
  ranking?: Ranking;
  /** Prune `model` itself instead of a copy (default false). */
  inPlace?: boolean;
}

/** What {@link levelPrune} returns. */
export interface LevelPruneResult {
  /** The pruned model (a copy unless `inPlace`), zeros baked in. */
  model: tf.LayersModel;
  /** The masks applied; the caller disposes them ({@link disposeMasks}). */
  masks: Masks;
}

/**
 * One-shot level pruner (NNI `LevelPruner`): zero the smallest-|w| weights of each target to its
 * sparsity, without training.
 *
 * @example
 * const { model: pruned, masks } = await levelPrune(model, { configList: [{ opTypes: ['Dense'], sparsity: 0.8 }] });
 */
export async function levelPrune(model: tf.LayersModel, args: LevelPruneArgs): Promise<LevelPruneResult> {
  const out = args.inPlace ? model : await cloneModel(model);
  const targets = resolveTargets(out, args.configList);
  const masks = computeMasks(targets, (t) => t.sparsity ?? 0, args.ranking ?? 'layer');
  applyMasks(out, masks);
  return { model: out, masks };
}
