import * as tf from '@tensorflow/tfjs';

/** Per-layer statistics returned by {@link summary}. */
export interface LayerSummary {
  name: string;
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

/** Whole-model statistics returned by {@link summary}. */
export interface ModelSummary {
  layers: LayerSummary[];
  params: number;
  nonZeros: number;
  sparsity: number;
  bytes: number;
}

/**
 * Parameters, non-zeros, sparsity and fp32 bytes per layer and in total.
 *
 * @example
 * console.table(summary(model).layers);
 */
export function summary(model: tf.LayersModel): ModelSummary {
  const layers: LayerSummary[] = [];
  for (const layer of model.layers) {
    let params = 0;
    let nonZeros = 0;
    for (const w of layer.getWeights()) {
      const v = w.dataSync();
      params += v.length;
      for (let i = 0; i < v.length; i++) if (v[i] !== 0) nonZeros++;
    }
    layers.push({
      name: layer.name,
      className: layer.getClassName(),
      params,
      nonZeros,
      sparsity: params ? 1 - nonZeros / params : 0,
      bytes: params * 4,
    });
  }
  const params = layers.reduce((s, l) => s + l.params, 0);
  const nonZeros = layers.reduce((s, l) => s + l.nonZeros, 0);
  return { layers, params, nonZeros, sparsity: params ? 1 - nonZeros / params : 0, bytes: params * 4 };
}

/** Render a {@link ModelSummary} as an aligned text table. */
export function formatSummary(s: ModelSummary): string {
  const rows = [
    ['layer', 'class', 'params', 'non-zeros', 'sparsity', 'bytes'],
    ...s.layers.map((l) => [l.name, l.className, String(l.params), String(l.nonZeros), (l.sparsity * 100).toFixed(1) + '%', String(l.bytes)]),
    ['total', '', String(s.params), String(s.nonZeros), (s.sparsity * 100).toFixed(1) + '%', String(s.bytes)],
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ')).join('\n');
}
