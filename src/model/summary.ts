import * as tf from '@tensorflow/tfjs';

/** Per-layer statistics returned by {@link summary}. */
export interface LayerSummary {
  /** Layer name; inside nested models the path `outer/inner/layer`. */
  name: string;
  /** Nesting depth: 0 for a top-level layer, 1 inside a nested model, ... */
  depth: number;
  className: string;
  /** Total weight values in the layer. */
  params: number;
  /** Weight values that are not exactly zero. */
  nonZeros: number;
  /** Fraction of weight values that are exactly zero (0 when the layer has no weights). */
  sparsity: number;
  /** Dense fp32 bytes of the layer's weights. */
  bytes: number;
}

/** An input or output of a model: name, shape (batch first, -1 = any) and dtype. */
export interface TensorSignature {
  name: string;
  shape?: number[];
  dtype?: string;
}

/** Whole-model statistics returned by {@link summary}. */
export interface ModelSummary {
  layers: LayerSummary[];
  /** The model's inputs and outputs, in feed / predict order. */
  inputs: TensorSignature[];
  outputs: TensorSignature[];
  params: number;
  nonZeros: number;
  sparsity: number;
  bytes: number;
}

/**
 * Count values that are not exactly zero (the one non-zero counter: summaries, bench, ONNX).
 *
 * @example
 * countNonZeros([0, 1.5, 0, -2]); // 2
 */
export function countNonZeros(values: ArrayLike<number | bigint>): number {
  let nz = 0;
  // Loose comparison: 0n == 0 for int64 initializers.
  for (let i = 0; i < values.length; i++) if (values[i] != 0) nz++;
  return nz;
}

/**
 * Every leaf layer of a model with its path: nested models (a Sequential inside a Sequential, a
 * functional MobileNet inside a Sequential, as Teachable Machine writes them) are walked into,
 * and a layer reached twice (shared) is listed once.
 *
 * @example
 * leafLayers(tm).map((l) => l.path); // ['sequential_1/model1/input_1', 'sequential_1/model1/Conv1', ...]
 */
export function leafLayers(model: tf.LayersModel): Array<{ path: string; depth: number; layer: tf.layers.Layer }> {
  const out: Array<{ path: string; depth: number; layer: tf.layers.Layer }> = [];
  const seen = new Set<tf.layers.Layer>();
  const walk = (m: tf.LayersModel, prefix: string, depth: number) => {
    for (const layer of m.layers) {
      if (seen.has(layer)) continue;
      seen.add(layer);
      if (layer instanceof tf.LayersModel) walk(layer, `${prefix}${layer.name}/`, depth + 1);
      else out.push({ path: prefix + layer.name, depth, layer });
    }
  };
  walk(model, '', 0);
  return out;
}

/**
 * Parameters, non-zeros, sparsity and fp32 bytes per leaf layer (nested models walked into, see
 * {@link leafLayers}) and in total; the total equals `model.countParams()`.
 *
 * @example
 * console.table(summary(model).layers);
 */
export function summary(model: tf.LayersModel): ModelSummary {
  const layers: LayerSummary[] = [];
  for (const { path, depth, layer } of leafLayers(model)) {
    let params = 0;
    let nonZeros = 0;
    // layer.weights (not getWeights()) reads values without cloning them into new tensors.
    for (const w of layer.weights) {
      const v = w.read().dataSync();
      params += v.length;
      nonZeros += countNonZeros(v as ArrayLike<number>);
    }
    layers.push({
      name: path,
      depth,
      className: layer.getClassName(),
      params,
      nonZeros,
      sparsity: params ? 1 - nonZeros / params : 0,
      bytes: params * 4,
    });
  }
  const params = layers.reduce((s, l) => s + l.params, 0);
  const nonZeros = layers.reduce((s, l) => s + l.nonZeros, 0);
  const sig = (list: tf.SymbolicTensor[]): TensorSignature[] =>
    list.map((t) => ({ name: t.name, shape: t.shape.map((d) => d ?? -1), dtype: t.dtype }));
  return { layers, inputs: sig(model.inputs), outputs: sig(model.outputs), params, nonZeros, sparsity: params ? 1 - nonZeros / params : 0, bytes: params * 4 };
}

/** `[?, 28, 28, 1]` for a shape with unknown (-1) dims. */
export const signatureShapeText = (s?: number[]): string => (s ? `[${s.map((d) => (d < 0 ? '?' : d)).join(', ')}]` : '[?]');

/** `input  name [?, 28, 28, 1] float32` lines of a model's signature. */
export function formatSignature(inputs: TensorSignature[], outputs: TensorSignature[]): string[] {
  const io = (label: string, list: TensorSignature[]) => list.map((t) => `${label} ${t.name} ${signatureShapeText(t.shape)}${t.dtype ? ` ${t.dtype}` : ''}`);
  return [...io('input ', inputs), ...io('output', outputs)];
}

/**
 * Align rows of cells as a plain-text table: the first `textColumns` columns left-aligned,
 * the rest (numbers) right-aligned.
 *
 * @example
 * textTable([['name', 'n'], ['a', '1']], 1);
 */
export function textTable(rows: string[][], textColumns = 1): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c >= textColumns ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n');
}

/** A fraction as a percentage with one decimal, e.g. `12.5%`. */
export function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** Render a {@link ModelSummary}: its inputs/outputs, then an aligned per-layer table. */
export function formatSummary(s: ModelSummary): string {
  const sig = s.inputs && s.outputs ? formatSignature(s.inputs, s.outputs) : [];
  return [...sig, ...(sig.length ? [''] : [])].join('\n') + textTable(
    [
      ['layer', 'class', 'params', 'non-zeros', 'sparsity', 'bytes'],
      ...s.layers.map((l) => [l.name, l.className, String(l.params), String(l.nonZeros), percent(l.sparsity), String(l.bytes)]),
      ['total', '', String(s.params), String(s.nonZeros), percent(s.sparsity), String(s.bytes)],
    ],
    2,
  );
}
