import * as tf from '@tensorflow/tfjs';
import { countNonZeros } from '../model/summary.js';
import { gzipSize } from '../util/gzip.js';
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';

/** Size of one artifact file. */
export interface FileSize {
  /** File name (no folder). */
  name: string;
  /** Absolute or given path. */
  path: string;
  /** Bytes on disk. */
  bytes: number;
  /** Bytes after gzip at level 9 (pako), header and trailer included. */
  gzipBytes: number;
}

/** Sizes of every file of one model artifact. */
export interface SizeReport {
  files: FileSize[];
  /** Sum of `bytes`. */
  totalBytes: number;
  /** Sum of per-file `gzipBytes`: what a server sending each file gzipped would transfer. */
  totalGzipBytes: number;
}

/**
 * Measure bytes on disk and gzipped bytes of each file, plus totals.
 *
 * @example
 * const s = measureFiles(['out/model.json', 'out/weights.bin']);
 * console.log(s.totalBytes, s.totalGzipBytes);
 */
export function measureFiles(paths: string[]): SizeReport {
  const files = paths.map((path): FileSize => {
    let bytes: number;
    try {
      bytes = statSync(path).size;
    } catch {
      throw new Error(`size: artifact file ${path} does not exist`);
    }
    const data = readFileSync(path);
    return { name: basename(path), path, bytes, gzipBytes: gzipSize(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) };
  });
  return {
    files,
    totalBytes: files.reduce((s, f) => s + f.bytes, 0),
    totalGzipBytes: files.reduce((s, f) => s + f.gzipBytes, 0),
  };
}

/** Parameter counts of one layer (or weight group). */
export interface LayerParams {
  name: string;
  /** Layer class, e.g. `Dense` (or `weights` for graph models). */
  className: string;
  params: number;
  nonZero: number;
  /** Fraction of exact zeros, 0..1. */
  sparsity: number;
  /** Bytes of the weights in memory at their dtype (4 per float32 value). */
  bytes: number;
}

/** Parameter counts of a whole model. */
export interface ParamStats {
  params: number;
  nonZero: number;
  sparsity: number;
  /** Sum of per-layer `bytes`. */
  bytes: number;
  layers: LayerParams[];
}

function bytesPerValue(dtype: string): number {
  return dtype === 'bool' ? 1 : dtype === 'complex64' ? 8 : 4;
}

function finish(layers: LayerParams[]): ParamStats {
  const params = layers.reduce((s, l) => s + l.params, 0);
  const nonZero = layers.reduce((s, l) => s + l.nonZero, 0);
  return {
    params,
    nonZero,
    sparsity: params ? 1 - nonZero / params : 0,
    bytes: layers.reduce((s, l) => s + l.bytes, 0),
    layers,
  };
}

/**
 * Parameters, non-zeros, sparsity and bytes per layer of a tfjs layers model (layers without
 * weights are left out).
 *
 * @example
 * const p = paramStats(model); // p.layers[0] -> { name: 'dense_1', params: 628000, sparsity: 0.9, ... }
 */
export function paramStats(model: tf.LayersModel): ParamStats {
  const layers: LayerParams[] = [];
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (weights.length === 0) continue;
    let params = 0;
    let nonZero = 0;
    let bytes = 0;
    for (const w of weights) {
      params += w.size;
      nonZero += countNonZeros(w.dataSync());
      bytes += w.size * bytesPerValue(w.dtype);
    }
    layers.push({ name: layer.name, className: layer.getClassName(), params, nonZero, sparsity: params ? 1 - nonZero / params : 0, bytes });
  }
  return finish(layers);
}

/** Float dtypes whose values are parameters (integer initializers are shapes, axes and indices). */
const FLOAT_DTYPES = new Set(['float32', 'float16', 'float64']);

/**
 * Parameter counts from decoded weight tensors (e.g. an `.onnx` file's initializers, as
 * `onnxSummary` lists them): one entry per float tensor.
 *
 * @example
 * paramStatsFromSummary(onnxSummary('out/model.onnx').weights);
 */
export function paramStatsFromSummary(weights: ReadonlyArray<{ name: string; dtype: string; params: number; nonZeros: number; bytes: number }>): ParamStats {
  const layers = weights
    .filter((w) => FLOAT_DTYPES.has(w.dtype) && w.params > 0)
    .map((w) => ({ name: w.name, className: 'initializer', params: w.params, nonZero: w.nonZeros, sparsity: 1 - w.nonZeros / w.params, bytes: w.bytes }));
  return finish(layers);
}

/**
 * Same counts for named weight tensors (e.g. a graph model's `weights` map), grouped by the
 * name's prefix before the last `/` so `dense/kernel` and `dense/bias` form one layer.
 */
export function paramStatsFromWeights(weights: Record<string, tf.Tensor | tf.Tensor[]>): ParamStats {
  const groups = new Map<string, LayerParams>();
  for (const [name, value] of Object.entries(weights)) {
    const key = name.includes('/') ? name.slice(0, name.lastIndexOf('/')) : name;
    const g = groups.get(key) ?? { name: key, className: 'weights', params: 0, nonZero: 0, sparsity: 0, bytes: 0 };
    for (const t of Array.isArray(value) ? value : [value]) {
      // Integer tensors in a graph are usually shapes/indices, not parameters.
      if (t.dtype !== 'float32') continue;
      g.params += t.size;
      g.nonZero += countNonZeros(t.dataSync());
      g.bytes += t.size * 4;
    }
    groups.set(key, g);
  }
  const layers = [...groups.values()].filter((g) => g.params > 0);
  for (const l of layers) l.sparsity = 1 - l.nonZero / l.params;
  return finish(layers);
}
