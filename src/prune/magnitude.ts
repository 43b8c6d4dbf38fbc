import type * as tf from '@tensorflow/tfjs';
import type { TensorDataset } from '../data/dataset.js';
import { cloneModel } from '../model/clone.js';
import { train } from '../train/loop.js';
import type { TrainArgs, TrainResult } from '../train/types.js';
import { PruningCallback } from './callback.js';
import type { ScheduleSpec } from './callback.js';
import type { ConfigEntryInput } from './config.js';
import type { Masks, Ranking } from './masks.js';

/** Options of {@link magnitudePrune}: the config list, schedule, and any {@link TrainArgs}. */
export interface MagnitudePruneArgs extends TrainArgs {
  configList: ConfigEntryInput[];
  schedule?: ScheduleSpec;
  ranking?: Ranking;
}

/** What {@link magnitudePrune} returns. */
export interface MagnitudePruneResult {
  /** Fine-tuned, pruned copy of the input model (zeros baked in, no wrappers). */
  model: tf.LayersModel;
  /** Final masks (caller disposes). */
  masks: Masks;
  train: TrainResult;
}

/**
 * Gradual magnitude pruning during fine-tuning (TF-MOT style) of a copy of `model`.
 *
 * @example
 * const r = await magnitudePrune(model, data, {
 *   epochs: 2, configList: [{ opTypes: ['Conv2D', 'Dense'], sparsity: 0.8 }],
 *   schedule: (s) => new PolynomialDecay({ initialSparsity: 0.5, finalSparsity: s, beginStep: 0, endStep: 844 }),
 * });
 */
export async function magnitudePrune(model: tf.LayersModel, data: TensorDataset, args: MagnitudePruneArgs): Promise<MagnitudePruneResult> {
  const copy = await cloneModel(model);
  const { configList, schedule, ranking, ...trainArgs } = args;
  const cb = new PruningCallback(copy, { configList, schedule, ranking });
  try {
    const result = await train(copy, data, { ...trainArgs, callbacks: [cb, ...(trainArgs.callbacks ?? [])] });
    return { model: copy, masks: cb.takeMasks(), train: result };
  } finally {
    cb.dispose();
  }
}
