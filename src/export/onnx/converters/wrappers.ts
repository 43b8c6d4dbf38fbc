import type * as tf from '@tensorflow/tfjs';
import { int } from '../builder.js';
import type { OnnxValue } from '../context.js';
import { getOnnxConverter, registerOnnxConverter, type ConverterArgs } from '../registry.js';
import { desc, staticShape } from './core.js';
import { reverseAxis } from './recurrent.js';

/*
 * Wrapper layers hold a sub-layer that never appears in the model's graph: Bidirectional (two
 * recurrent copies, the second with go_backwards flipped) and TimeDistributed (one layer applied
 * to every step). Both are exported by running the sub-layer's own converter.
 */

/** Convert one call of a wrapped sub-layer on `inputs` (whose tfjs shape is `inputShape`). */
function convertInner(a: ConverterArgs, layer: tf.layers.Layer, inputs: OnnxValue[], inputShape: (number | null)[]): OnnxValue[] {
  const conv = getOnnxConverter(layer.getClassName());
  if (!conv) throw new Error(`${desc(a.layer)}: wrapped layer '${layer.name}' (${layer.getClassName()}) has no ONNX converter`);
  const shape = layer.computeOutputShape(inputShape) as (number | null)[] | (number | null)[][];
  const outputShapes = Array.isArray(shape[0]) ? (shape as (number | null)[][]) : [shape as (number | null)[]];
  const out = conv({ layer, config: layer.getConfig() as Record<string, unknown>, inputs, outputShapes, ctx: a.ctx });
  return Array.isArray(out) ? out : [out];
}

registerOnnxConverter('Bidirectional', (a) => {
  const { ctx, layer } = a;
  const w = layer as unknown as { forwardLayer: tf.layers.Layer; backwardLayer: tf.layers.Layer; mergeMode: string | null };
  const x = ctx.toLayout(a.inputs[0]!, 'tf');
  const states = a.inputs.slice(1);
  // tfjs hands the first half of the initial states to the forward layer, the rest to the backward one.
  const half = states.length / 2;
  const fwd = convertInner(a, w.forwardLayer, [x, ...states.slice(0, half)], x.shape);
  const bwd = convertInner(a, w.backwardLayer, [x, ...states.slice(half)], x.shape);
  const cfg = w.forwardLayer.getConfig();
  let yRev = bwd[0]!;
  // The backward copy returns its steps last-to-first; tfjs flips them back before merging.
  if (cfg.returnSequences) yRev = reverseAxis(ctx, yRev, 1, `${layer.name}/backward_in_time_order`);
  const y = fwd[0]!;
  const outShape = staticShape(a);
  const like = { shape: outShape, layout: 'tf' as const, dtype: 'float32' as const };
  const n = layer.name;
  let merged: OnnxValue[];
  switch (w.mergeMode) {
    case 'concat':
      merged = [ctx.op('Concat', [y.name, yRev.name], { axis: int(y.shape.length - 1) }, n, like)];
      break;
    case 'sum':
      merged = [ctx.op('Add', [y.name, yRev.name], {}, n, like)];
      break;
    case 'mul':
      merged = [ctx.op('Mul', [y.name, yRev.name], {}, n, like)];
      break;
    case 'ave':
      merged = [ctx.op('Mul', [ctx.op('Add', [y.name, yRev.name], {}, `${n}/sum`, like).name, ctx.b.constFloat([0.5], [])], {}, n, like)];
      break;
    case null:
    case undefined:
      merged = [y, yRev];
      break;
    default:
      throw new Error(`${desc(layer)}: merge mode '${w.mergeMode}' cannot be exported`);
  }
  return [...merged, ...fwd.slice(1), ...bwd.slice(1)];
});

registerOnnxConverter('TimeDistributed', (a) => {
  const { ctx, layer } = a;
  const inner = (layer as unknown as { layer: tf.layers.Layer }).layer;
  const x = ctx.toLayout(a.inputs[0]!, 'tf');
  const steps = x.shape[1];
  const rest = x.shape.slice(2);
  const out = staticShape(a);
  if (steps == null || rest.some((d) => d == null) || out.slice(2).some((d) => d == null)) {
    throw new Error(`${desc(layer)}: the time and feature dims must be static to export, got input [${x.shape}]`);
  }
  // Fold time into the batch, run the sub-layer once, unfold: what tfjs computes step by step.
  const folded = ctx.op('Reshape', [x.name, ctx.b.constInt64([-1, ...(rest as number[])], `${layer.name}/fold_shape`)], {}, `${layer.name}/fold`, { ...x, shape: [null, ...rest] });
  const [y0] = convertInner(a, inner, [folded], folded.shape);
  const y = ctx.toLayout(y0!, 'tf');
  return ctx.op('Reshape', [y.name, ctx.b.constInt64([-1, steps, ...(out.slice(2) as number[])], `${layer.name}/unfold_shape`)], {}, layer.name, { shape: out, layout: 'tf', dtype: y.dtype });
});
