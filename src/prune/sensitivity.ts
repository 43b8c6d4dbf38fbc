import * as tf from '@tensorflow/tfjs';
import type { TensorDataset } from '../data/dataset.js';
import { evaluate } from '../train/evaluate.js';
import { resolveTargets } from './config.js';
import type { ConfigEntryInput, PruneTarget } from './config.js';
import { applyMasks, computeMasks, disposeMasks } from './masks.js';

/** Options of {@link sensitivityAnalysis}. */
export interface SensitivityArgs {
  /** Sparsities tried per layer (default 0.5, 0.6, 0.7, 0.8, 0.9, 0.95). */
  sparsities?: number[];
  /** Which layers to analyse (default: every layer with prunable weights). */
  configList?: ConfigEntryInput[];
  /** Evaluation batch size (default 256). */
  batchSize?: number;
  /** Called after each evaluation, e.g. to print progress. */
  onResult?: (row: SensitivityRow) => void;
}

/** Accuracy of the model with one layer pruned to one sparsity. */
export interface SensitivityRow {
  layer: string;
  /** Prunable weight values of the layer. */
  params: number;
  sparsity: number;
  accuracy: number;
  loss: number;
  /** Baseline accuracy minus this accuracy. */
  drop: number;
}

/** Result of {@link sensitivityAnalysis}; JSON-serialisable. */
export interface SensitivityResult {
  baseline: { accuracy: number; loss: number };
  sparsities: number[];
  rows: SensitivityRow[];
}

/**
 * Per-layer sensitivity: prune one layer at a time (level pruning, smallest |w|) to each
 * sparsity, evaluate on `data`, restore the weights. The model is unchanged afterwards.
 *
 * @example
 * const s = await sensitivityAnalysis(model, loadMnist({ split: 'test', limit: 2000 }));
 * console.log(formatSensitivity(s));
 */
export async function sensitivityAnalysis(model: tf.LayersModel, data: TensorDataset, args: SensitivityArgs = {}): Promise<SensitivityResult> {
  const sparsities = args.sparsities ?? [0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
  for (const s of sparsities) if (!(s >= 0 && s < 1)) throw new Error(`sensitivity: sparsities must be in [0, 1), got ${s}`);
  const configList = args.configList ?? [{ opNamesRe: '.*', sparsity: 0 }];
  const targets = resolveTargets(model, configList);
  const base = await evaluate(model, data, { batchSize: args.batchSize });
  const baseline = { accuracy: base.accuracy!, loss: base.loss! };
  const byLayer = new Map<string, PruneTarget[]>();
  for (const t of targets) byLayer.set(t.path, [...(byLayer.get(t.path) ?? []), t]);
  const rows: SensitivityRow[] = [];
  for (const [layer, ts] of byLayer) {
    const saved = ts.map((t) => tf.keep(t.variable.read().clone()));
    const params = ts.reduce((s, t) => s + t.variable.read().size, 0);
    try {
      for (const sparsity of sparsities) {
        const masks = computeMasks(ts, () => sparsity);
        applyMasks(model, masks);
        disposeMasks(masks);
        const r = await evaluate(model, data, { batchSize: args.batchSize });
        const row = { layer, params, sparsity, accuracy: r.accuracy!, loss: r.loss!, drop: baseline.accuracy - r.accuracy! };
        rows.push(row);
        args.onResult?.(row);
        ts.forEach((t, i) => t.variable.write(saved[i]!));
      }
    } finally {
      ts.forEach((t, i) => t.variable.write(saved[i]!));
      tf.dispose(saved);
    }
  }
  return { baseline, sparsities, rows };
}

/** A sensitivity result as a text table: one row per layer, one column per sparsity (accuracy %). */
export function formatSensitivity(r: SensitivityResult): string {
  const layers = [...new Set(r.rows.map((x) => x.layer))];
  const header = ['layer', 'params', ...r.sparsities.map((s) => `${Math.round(s * 100)}%`)];
  const rows = layers.map((l) => {
    const mine = r.rows.filter((x) => x.layer === l);
    return [l, String(mine[0]!.params), ...r.sparsities.map((s) => (mine.find((x) => x.sparsity === s)!.accuracy * 100).toFixed(2))];
  });
  const all = [header, ...rows, ['baseline', '', (r.baseline.accuracy * 100).toFixed(2)]];
  const widths = header.map((_, c) => Math.max(...all.map((row) => (row[c] ?? '').length)));
  return all.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

/** Options of {@link configFromSensitivity}. */
export interface SensitivityConfigArgs {
  /** Overall sparsity wanted over the analysed layers' prunable weights (param-weighted). */
  targetSparsity: number;
}

/**
 * Turn a sensitivity sweep into a per-layer config list reaching `targetSparsity` overall:
 * find the smallest accuracy drop `d` such that giving each layer the highest swept sparsity
 * whose drop is <= d reaches the target (Distiller-style thresholding).
 *
 * @example
 * const configList = configFromSensitivity(s, { targetSparsity: 0.8 });
 */
export function configFromSensitivity(r: SensitivityResult, args: SensitivityConfigArgs): { opNames: string[]; sparsity: number }[] {
  const t = args.targetSparsity;
  if (!(t > 0 && t < 1)) throw new Error(`targetSparsity must be in (0, 1), got ${t}`);
  const layers = [...new Set(r.rows.map((x) => x.layer))];
  const params = new Map(r.rows.map((x) => [x.layer, x.params]));
  const total = layers.reduce((s, l) => s + params.get(l)!, 0);
  const choose = (d: number) =>
    new Map(layers.map((l) => [l, Math.max(0, ...r.rows.filter((x) => x.layer === l && x.drop <= d).map((x) => x.sparsity))]));
  const overall = (m: Map<string, number>) => layers.reduce((s, l) => s + params.get(l)! * m.get(l)!, 0) / total;
  const drops = [...new Set(r.rows.map((x) => x.drop))].sort((a, b) => a - b);
  const d = drops.find((x) => overall(choose(x)) >= t);
  if (d === undefined) {
    throw new Error(`target sparsity ${t} is out of reach: the highest swept sparsities give ${overall(choose(Infinity)).toFixed(3)} overall; sweep higher sparsities`);
  }
  const chosen = choose(d);
  return layers.filter((l) => chosen.get(l)! > 0).map((l) => ({ opNames: [l], sparsity: chosen.get(l)! }));
}
