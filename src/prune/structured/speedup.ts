import * as tf from '@tensorflow/tfjs';
import { cloneModel } from '../../model/clone.js';
import { applyMasks } from '../masks.js';
import type { Masks } from '../masks.js';
import { shortWeightName } from '../registry.js';
import { keptIndices, PRODUCERS } from './graph.js';
import type { LayerInfo } from './graph.js';
import type { StructuredPlan } from './plan.js';
import { expandMultiplier, weightAxes } from './slicing.js';

function groupSizeOf(plan: StructuredPlan) {
  const sizes = new Map(plan.graph.groups.map((g) => [g.id, g.size]));
  return (g: number) => sizes.get(g)!;
}

/** Kept input-feature indices of a weight's input axis, or undefined when all are kept. */
function inputIndices(plan: StructuredPlan, li: LayerInfo, multiplier: boolean): Int32Array | undefined {
  const layout = li.inputs[0];
  if (!layout || !layout.segments.some((s) => plan.keep.has(s.group))) return undefined;
  let idx = keptIndices(layout, plan.keep, groupSizeOf(plan));
  if (multiplier) idx = expandMultiplier(idx, Number((li.layer.getConfig() as { depthMultiplier?: number }).depthMultiplier ?? 1));
  return idx;
}

/** Kept output channels of a producer, or undefined when all are kept. */
function outputIndices(plan: StructuredPlan, li: LayerInfo): Int32Array | undefined {
  if (li.role !== 'producer') return undefined;
  return plan.keep.get(li.output.segments[0]!.group);
}

/**
 * Build the physically smaller model of a plan: layer configs get fewer filters/units and the
 * surviving weights are copied in (consumers lose the matching input rows, batch norms and
 * depthwise kernels the matching channels). Before fine-tuning its outputs equal those of
 * {@link maskedReference}.
 *
 * @example
 * const plan = planStructured(model, { ratio: 0.5 });
 * const small = await speedup(model, plan);
 */
export async function speedup(model: tf.LayersModel, plan: StructuredPlan): Promise<tf.LayersModel> {
  // A nested model was planned on its flattened copy: the smaller model is built flat too.
  const source = plan.flat?.model ?? model;
  const json = source.toJSON(null, false) as unknown as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
  for (const entry of json.config.layers) {
    const li = plan.graph.info.get(String(entry.config.name));
    if (!li) continue;
    const out = outputIndices(plan, li);
    if (out) entry.config[PRODUCERS[entry.class_name]!] = out.length;
  }
  const small = await tf.models.modelFromJSON(json as unknown as tf.io.ModelJSON['modelTopology'] as never);
  (small as { name: string }).name = source.name;
  for (const li of plan.graph.layers) {
    if (li.layer.weights.length === 0) continue;
    const cls = li.layer.getClassName();
    const values = li.layer.weights.map((v) =>
      tf.tidy(() => {
        let t = v.read() as tf.Tensor;
        const axes = weightAxes(cls, shortWeightName(v));
        if (axes?.in !== undefined) {
          const idx = inputIndices(plan, li, axes.inMultiplier === true);
          if (idx) t = tf.gather(t, Array.from(idx), axes.in);
        }
        if (axes?.out !== undefined) {
          const idx = outputIndices(plan, li);
          if (idx) t = tf.gather(t, Array.from(idx), axes.out);
        }
        // A fresh tensor, not a view: on wasm a gather result can share its data id with an
        // intermediate of another rank, which fused kernels then reject ("rank-1 bias").
        return tf.tensor(t.dataSync() as Float32Array, t.shape, t.dtype);
      }),
    );
    const target = small.getLayer(li.layer.name);
    try {
      target.setWeights(values);
    } catch (err) {
      throw new Error(`speedup: cannot copy the weights of layer '${li.layer.name}' (${cls}): ${(err as Error).message}`);
    } finally {
      tf.dispose(values);
    }
  }
  return small;
}

/**
 * Masks that remove the effect of a plan's removed channels without changing shapes: every
 * weight that reads channels (Conv/Dense kernels, SeparableConv2D pointwise rows, Dense rows
 * behind a Flatten) gets zeros on the removed input channels. Producers' own filters, biases and
 * batch-norm parameters are left alone: whatever the removed channels compute, nothing reads it.
 */
export function structuredMasks(plan: StructuredPlan): Masks {
  // Keys are the layers' paths in the planned model (flattened nested models map back).
  const key = (name: string) => plan.flat?.paths.get(name) ?? name;
  const masks: Masks = {};
  for (const li of plan.graph.layers) {
    if (li.role !== 'producer') continue;
    const cls = li.layer.getClassName();
    for (const v of li.layer.weights) {
      const name = shortWeightName(v);
      const axes = weightAxes(cls, name);
      if (axes?.in === undefined || name === 'depthwise_kernel') continue;
      const idx = inputIndices(plan, li, axes.inMultiplier === true);
      if (!idx) continue;
      const shape = v.shape as number[];
      const keepRow = new Uint8Array(shape[axes.in]!);
      idx.forEach((i) => (keepRow[i] = 1));
      const inner = shape.slice(axes.in + 1).reduce((a, b) => a * b, 1);
      const size = shape[axes.in]!;
      const mask = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let i = 0; i < mask.length; i++) mask[i] = keepRow[Math.floor(i / inner) % size]!;
      (masks[key(li.layer.name)] ??= {})[name] = tf.tensor(mask, shape);
    }
  }
  return masks;
}

/**
 * The reference a speed-up must match: a copy of `model` with {@link structuredMasks} applied
 * (a nested model stays nested: its masks are keyed by path).
 */
export async function maskedReference(model: tf.LayersModel, plan: StructuredPlan): Promise<tf.LayersModel> {
  const copy = await cloneModel(model);
  const masks = structuredMasks(plan);
  try {
    applyMasks(copy, masks);
  } finally {
    for (const ws of Object.values(masks)) tf.dispose(Object.values(ws));
  }
  return copy;
}
