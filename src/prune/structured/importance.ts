import type * as tf from '@tensorflow/tfjs';
import { findWeight } from '../registry.js';
import type { ChannelGroup } from './graph.js';
import { weightAxes } from './slicing.js';

/**
 * Importance of each channel of a coupled group (higher = keep). `normalized` asks for scores
 * comparable across layers of different fan-in, used by global ranking.
 */
export interface Importance {
  readonly name: string;
  score(group: ChannelGroup, normalized: boolean): Float32Array;
}

/** The weight of a producer that holds its output channels (pointwise kernel for SeparableConv2D). */
function outputKernel(layer: tf.layers.Layer): { values: Float32Array; shape: number[]; axis: number } {
  const cls = layer.getClassName();
  const name = cls === 'SeparableConv2D' ? 'pointwise_kernel' : 'kernel';
  const v = findWeight(layer, name);
  return { values: v.read().dataSync() as Float32Array, shape: v.shape as number[], axis: weightAxes(cls, name)!.out! };
}

/** Per-output-channel reduction of a producer's kernel: sum of f(w) and fan-in count. */
function reduceKernel(layer: tf.layers.Layer, f: (w: number) => number): { sums: Float64Array; fanIn: number } {
  const { values, shape, axis } = outputKernel(layer);
  const size = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const sums = new Float64Array(size);
  for (let i = 0; i < values.length; i++) sums[Math.floor(i / inner) % size]! += f(values[i]!);
  return { sums, fanIn: values.length / size };
}

function kernelNorm(name: string, f: (w: number) => number, finish: (sum: number, fanIn: number, normalized: boolean) => number): Importance {
  return {
    name,
    score(group, normalized) {
      if (group.producers.length === 0) throw new Error(`importance '${name}': channel group ${group.id} has no producing layer`);
      const out = new Float32Array(group.size);
      // Coupled producers (e.g. both branches of a residual Add) vote by summing their scores.
      for (const layer of group.producers) {
        const { sums, fanIn } = reduceKernel(layer, f);
        for (let c = 0; c < group.size; c++) out[c]! += finish(sums[c]!, fanIn, normalized);
      }
      return out;
    },
  };
}

const registry = new Map<string, Importance>();

/** Register an importance criterion under its name. */
export function registerImportance(imp: Importance): void {
  registry.set(imp.name, imp);
}

/** L1 norm of each filter (Li et al. 2017); normalised: mean |w|. */
export const l1Importance = kernelNorm('l1', Math.abs, (s, n, norm) => (norm ? s / n : s));
/** L2 norm of each filter; normalised: RMS. */
export const l2Importance = kernelNorm('l2', (w) => w * w, (s, n, norm) => Math.sqrt(norm ? s / n : s));
/** |gamma| of the batch norm(s) after the channels (network slimming, Liu et al. 2017). */
export const bnImportance: Importance = {
  name: 'bn',
  score(group) {
    if (group.batchNorms.length === 0) {
      const who = group.producers.map((l) => l.name).join(', ');
      throw new Error(`importance 'bn': channels of '${who}' are not followed by a BatchNormalization layer; use 'l1' or 'l2'`);
    }
    const out = new Float32Array(group.size);
    for (const { layer, offset } of group.batchNorms) {
      const cfg = layer.getConfig() as { scale?: boolean };
      if (cfg.scale === false) throw new Error(`importance 'bn': batch norm '${layer.name}' has no gamma (scale: false)`);
      const gamma = findWeight(layer, 'gamma').read().dataSync();
      for (let c = 0; c < group.size; c++) out[c]! += Math.abs(gamma[offset + c]!);
    }
    return out;
  },
};
[l1Importance, l2Importance, bnImportance].forEach(registerImportance);

/** Names of registered importance criteria. */
export function importanceNames(): string[] {
  return [...registry.keys()];
}

/** Look an importance criterion up by name. */
export function getImportance(name: string): Importance {
  const imp = registry.get(name);
  if (!imp) throw new Error(`unknown importance '${name}': expected one of ${importanceNames().join(', ')}`);
  return imp;
}
