import * as tf from '@tensorflow/tfjs';
import type { Granularity, PruneTarget } from './config.js';
import { leafLayers } from '../model/summary.js';
import { findWeight } from './registry.js';

/**
 * Pruning masks in NNI style: `masks[layerName][weightName]` is a 0/1 tensor of the weight's
 * shape (inside nested models the key is the layer's path, `outer/inner/name`). The caller owns the tensors ({@link disposeMasks}).
 */
export type Masks = Record<string, Record<string, tf.Tensor>>;

/** How targets are ranked: each on its own, or all targets with the same sparsity together. */
export type Ranking = 'layer' | 'global';

/** Round half to even, as `tf.math.round` does in TF-MOT's `_update_mask`. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** TF-MOT's kept count: `max(round(n * (1 - sparsity)), 1)`. */
export function keptCount(n: number, sparsity: number): number {
  return Math.max(roundHalfEven(n * (1 - sparsity)), 1);
}

/**
 * Mark the `k` largest scores (ties broken by lower index, so exactly `k` are kept — TF-MOT's
 * `>= threshold` would keep every tied value).
 */
export function topKMask(scores: Float32Array, k: number): Uint8Array {
  const keep = new Uint8Array(scores.length);
  if (k >= scores.length) return keep.fill(1);
  if (k <= 0) return keep;
  const sorted = Float32Array.from(scores).sort();
  const threshold = sorted[scores.length - k]!;
  let above = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i]! > threshold) above++;
  let ties = k - above;
  for (let i = 0; i < scores.length; i++) {
    if (scores[i]! > threshold) keep[i] = 1;
    else if (scores[i] === threshold && ties > 0) {
      keep[i] = 1;
      ties--;
    }
  }
  return keep;
}

/** A weight as a 2-D [rows, cols] matrix for block pruning: cols is the last axis. */
function as2d(shape: number[]): [number, number] {
  const cols = shape[shape.length - 1] ?? 1;
  return [shape.length > 1 ? shape.slice(0, -1).reduce((a, b) => a * b, 1) : 1, cols];
}

/** Scores of the ranking units of one weight, and how to expand kept units to an element mask. */
interface Units {
  scores: Float32Array;
  expand(keep: Uint8Array): Float32Array;
}

function elementUnits(values: Float32Array): Units {
  const scores = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) scores[i] = Math.abs(values[i]!);
  return { scores, expand: (keep) => Float32Array.from(keep) };
}

function blockUnits(values: Float32Array, shape: number[], g: Extract<Granularity, { type: 'block' }>): Units {
  const [rows, cols] = as2d(shape);
  const [br, bc] = g.shape;
  const nbr = Math.ceil(rows / br);
  const nbc = Math.ceil(cols / bc);
  const scores = new Float32Array(nbr * nbc);
  const counts = new Float32Array(nbr * nbc);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const b = Math.floor(r / br) * nbc + Math.floor(c / bc);
      const a = Math.abs(values[r * cols + c]!);
      scores[b] = g.reduce === 'max' ? Math.max(scores[b]!, a) : scores[b]! + a;
      counts[b]!++;
    }
  }
  // Edge blocks are smaller; 'mean' ranks them fairly, 'l1' penalises them.
  if (g.reduce === 'mean') for (let b = 0; b < scores.length; b++) scores[b]! /= counts[b]!;
  return {
    scores,
    expand: (keep) => {
      const mask = new Float32Array(values.length);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mask[r * cols + c] = keep[Math.floor(r / br) * nbc + Math.floor(c / bc)]!;
      return mask;
    },
  };
}

/** N:M mask: in every run of `m` consecutive weights along `axis`, keep the `n` largest |w|. */
export function nmMask(values: Float32Array, shape: number[], axis: number, n: number, m: number): Float32Array {
  const size = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const mask = new Float32Array(values.length);
  const group = new Float32Array(m);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      for (let g0 = 0; g0 < size; g0 += m) {
        const idx = (t: number) => (o * size + g0 + t) * inner + j;
        for (let t = 0; t < m; t++) group[t] = Math.abs(values[idx(t)]!);
        const keep = topKMask(group, n);
        for (let t = 0; t < m; t++) mask[idx(t)] = keep[t]!;
      }
    }
  }
  return mask;
}

/** One weight to mask, as plain values (see {@link computeValueMasks}). */
export interface MaskTarget {
  values: Float32Array;
  shape: number[];
  granularity: Granularity;
  /** Input-feature axis, needed by N:M granularity. */
  inputAxis: number | null;
  /** Target sparsity (ignored for N:M, whose sparsity is 1 - n/m). */
  sparsity: number;
}

/**
 * 0/1 masks for plain weight values: each target goes to its sparsity (TF-MOT count
 * `max(round(n (1 - s)), 1)` of kept units, smallest |w| pruned first). With `ranking: 'global'`,
 * element/block targets sharing a sparsity are ranked together. Masks come back in target order.
 */
export function computeValueMasks(targets: readonly MaskTarget[], ranking: Ranking = 'layer'): Float32Array[] {
  const out: Float32Array[] = new Array(targets.length);
  const ranked: { i: number; units: Units; s: number }[] = [];
  targets.forEach((t, i) => {
    if (t.granularity.type === 'nm') {
      out[i] = nmMask(t.values, t.shape, t.inputAxis!, t.granularity.n, t.granularity.m);
      return;
    }
    const units = t.granularity.type === 'block' ? blockUnits(t.values, t.shape, t.granularity) : elementUnits(t.values);
    ranked.push({ i, units, s: t.sparsity });
  });
  if (ranking === 'layer') {
    for (const r of ranked) out[r.i] = r.units.expand(topKMask(r.units.scores, keptCount(r.units.scores.length, r.s)));
    return out;
  }
  const bySparsity = new Map<number, typeof ranked>();
  for (const r of ranked) bySparsity.set(r.s, [...(bySparsity.get(r.s) ?? []), r]);
  for (const [s, group] of bySparsity) {
    const total = group.reduce((a, r) => a + r.units.scores.length, 0);
    const all = new Float32Array(total);
    let off = 0;
    for (const r of group) {
      all.set(r.units.scores, off);
      off += r.units.scores.length;
    }
    const keep = topKMask(all, keptCount(total, s));
    off = 0;
    for (const r of group) {
      out[r.i] = r.units.expand(keep.subarray(off, off + r.units.scores.length));
      off += r.units.scores.length;
    }
  }
  return out;
}

/**
 * Compute masks for `targets` from their current values: each target goes to `sparsityOf(t)`
 * ({@link computeValueMasks} on the variables' values).
 */
export function computeMasks(targets: PruneTarget[], sparsityOf: (t: PruneTarget) => number, ranking: Ranking = 'layer'): Masks {
  const plain = targets.map((t) => ({
    values: t.variable.read().dataSync() as Float32Array,
    shape: t.variable.shape as number[],
    granularity: t.granularity,
    inputAxis: t.inputAxis,
    sparsity: t.granularity.type === 'nm' ? 0 : sparsityOf(t),
  }));
  const values = computeValueMasks(plain, ranking);
  const masks: Masks = {};
  targets.forEach((t, i) => {
    (masks[t.path] ??= {})[t.weight] = tf.tensor(values[i]!, t.variable.shape as number[]);
  });
  return masks;
}

/**
 * The layer a mask key names: a leaf layer's path (`outer/inner/name` inside nested models) or,
 * when unique, its bare name.
 *
 * @example
 * layerOfKey(tm, 'sequential_1/model1/Conv1').getClassName(); // 'Conv2D'
 */
export function layerOfKey(model: tf.LayersModel, key: string): tf.layers.Layer {
  const leaves = leafLayers(model);
  const hit = leaves.find((l) => l.path === key) ?? (() => {
    const byName = leaves.filter((l) => l.layer.name === key);
    if (byName.length > 1) throw new Error(`mask '${key}': ${byName.length} nested layers have that name (${byName.map((l) => l.path).join(', ')}); key masks by path`);
    return byName[0];
  })();
  if (!hit) throw new Error(`mask '${key}': model '${model.name}' has no such layer`);
  return hit.layer;
}

/** Multiply each masked weight of `model` by its mask, in place (pruned weights become exactly 0). */
export function applyMasks(model: tf.LayersModel, masks: Masks): void {
  for (const [layerName, weights] of Object.entries(masks)) {
    const layer = layerOfKey(model, layerName);
    for (const [weight, mask] of Object.entries(weights)) {
      const v = findWeight(layer, weight);
      if (v.shape.join() !== mask.shape.join()) {
        throw new Error(`mask of '${layerName}/${weight}' has shape [${mask.shape}] but the weight has shape [${v.shape}]`);
      }
      // `+ 0` turns the -0 of negative weights into +0: same value, but all-zero bytes compress better.
      const masked = tf.tidy(() => tf.add(tf.mul(v.read(), mask), 0));
      v.write(masked);
      masked.dispose();
    }
  }
}

/** Dispose every mask tensor. */
export function disposeMasks(masks: Masks): void {
  for (const weights of Object.values(masks)) tf.dispose(Object.values(weights));
}

/** Fraction of zeros in each mask: `{layer: {weight: sparsity}}`. */
export function maskSparsity(masks: Masks): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [l, ws] of Object.entries(masks)) {
    out[l] = {};
    for (const [w, m] of Object.entries(ws)) {
      const v = m.dataSync();
      let zeros = 0;
      for (let i = 0; i < v.length; i++) if (v[i] === 0) zeros++;
      out[l]![w] = zeros / v.length;
    }
  }
  return out;
}
