import type * as tf from '@tensorflow/tfjs';
import { planStructured } from './plan.js';
import type { StructuredPlan, StructuredPlanArgs } from './plan.js';
import { speedup } from './speedup.js';

/** What {@link structuredPrune} returns. */
export interface StructuredPruneResult {
  /** The physically smaller model (input untouched). */
  model: tf.LayersModel;
  plan: StructuredPlan;
  /** Channels before/after for each pruned group, named by its producers. */
  table: { layers: string; before: number; after: number }[];
  paramsBefore: number;
  paramsAfter: number;
}

/**
 * Remove whole filters/channels/units and rebuild a smaller model ({@link planStructured} +
 * {@link speedup}). Fine-tune the result with `train`.
 *
 * @example
 * const { model: small, paramsAfter } = await structuredPrune(model, { ratio: 0.5, importance: 'l1' });
 */
export async function structuredPrune(model: tf.LayersModel, args: StructuredPlanArgs): Promise<StructuredPruneResult> {
  const plan = planStructured(model, args);
  const small = await speedup(model, plan);
  return {
    model: small,
    plan,
    table: plan.groups.map((g) => ({ layers: g.group.producers.map((l) => l.name).join('+'), before: g.group.size, after: g.keep.length })),
    paramsBefore: model.countParams(),
    paramsAfter: small.countParams(),
  };
}
