import type * as tf from '@tensorflow/tfjs';
import type { GraphNode } from '../model/graph-info.js';
import { PRUNABLE_GRAPH_OPS, graphKernels, splitWeights, storeWeight, withWeights, type GraphKernel } from '../quantize/graph-weights.js';
import { parseConfigList, selectItems, type ConfigEntryInput, type Granularity } from './config.js';
import { computeValueMasks, type Ranking } from './masks.js';

/** Options of {@link levelPruneGraph}. */
export interface GraphLevelPruneArgs {
  /**
   * NNI-style config list over the graph's kernel-reading op nodes: `opTypes` are graph ops
   * (`Conv2D`, `_FusedConv2D`, `DepthwiseConv2dNative`, `FusedDepthwiseConv2dNative`, `MatMul`,
   * `_FusedMatMul`), `opNames`/`opNamesRe` match the op node's name. Default: every prunable op at `sparsity`.
   */
  configList?: ConfigEntryInput[];
  /** Sparsity of the default config list (default 0.5). */
  sparsity?: number;
  /** Granularity of the default config list (default element). */
  granularity?: ConfigEntryInput['granularity'];
  /** Rank each tensor on its own (default) or all tensors sharing a sparsity together. */
  ranking?: Ranking;
}

/** One pruned kernel of a graph. */
export interface GraphPrunedTensor {
  /** The Const (weight) name. */
  name: string;
  /** The op node reading it, and its op. */
  node: string;
  op: string;
  shape: number[];
  /** Requested sparsity (1 - n/m for N:M). */
  target: number;
  /** Fraction of exact zeros before and after. */
  sparsityBefore: number;
  sparsity: number;
}

/** What {@link levelPruneGraph} returns: new artifacts (the input is untouched) and per-tensor figures. */
export interface GraphLevelPruneResult {
  artifacts: tf.io.ModelArtifacts;
  tensors: GraphPrunedTensor[];
}

function zeros(v: Float32Array): number {
  let z = 0;
  for (let i = 0; i < v.length; i++) if (v[i] === 0) z++;
  return v.length ? z / v.length : 0;
}

/** The GraphDef nodes of graph model artifacts, or a clear error for a layers model. */
export function artifactNodes(artifacts: tf.io.ModelArtifacts): GraphNode[] {
  const nodes = (artifacts.modelTopology as { node?: GraphNode[] } | undefined)?.node;
  if (!Array.isArray(nodes)) throw new Error('not a graph model: modelTopology has no GraphDef node list');
  return nodes;
}

/** Which kernels a config list selects, with their granularity and sparsity. */
function selectKernels(kernels: GraphKernel[], shapes: Map<string, number[]>, args: GraphLevelPruneArgs) {
  const prunable = kernels.filter((k) => k.prunable);
  const ops = Object.keys(PRUNABLE_GRAPH_OPS);
  if (!prunable.length) throw new Error(`the graph has no prunable kernels (weights read by ${ops.join(', ')})`);
  const list = args.configList ?? [{ opTypes: [...new Set(prunable.map((k) => k.op))], sparsity: args.sparsity ?? 0.5, granularity: args.granularity ?? 'element' }];
  const entries = parseConfigList(list);
  entries.forEach((e, i) => {
    if (e.weights) throw new Error(`configList[${i}].weights: graph models have one kernel per op node; drop 'weights'`);
    if (e.schedule) throw new Error(`configList[${i}].schedule: one-shot graph pruning has no schedule (fine-tune with --epochs to use one)`);
  });
  const items = prunable.map((k) => ({ name: k.consumer, type: k.op, kernel: k }));
  const { chosen } = selectItems(items, entries, (t) => (ops.includes(t) ? undefined : `'${t}' reads no prunable kernel; prunable graph ops: ${ops.join(', ')}`), 'graph');
  if (!chosen.size) throw new Error('the config list selects no prunable kernel of the graph');
  return [...chosen.values()].map(({ item, entry }) => {
    const granularity = (entry.granularity ?? { type: 'element' }) as Granularity;
    if (granularity.type === 'nm') {
      const axis = item.kernel.inputAxis;
      if (axis === null) throw new Error(`node '${item.name}' (${item.type}): N:M granularity is not defined for this kernel (no input-feature axis)`);
      const size = shapes.get(item.kernel.name)![axis]!;
      if (size % granularity.m !== 0) {
        throw new Error(`node '${item.name}' (${item.type}): input dimension ${size} is not a multiple of m=${granularity.m} for ${granularity.n}:${granularity.m} sparsity`);
      }
    }
    const target = granularity.type === 'nm' ? 1 - granularity.n / granularity.m : (entry.sparsity ?? 0);
    return { kernel: item.kernel, granularity, target };
  });
}

/**
 * One-shot magnitude pruning of a graph model, without training: the smallest-|w| entries of
 * the kernels read by convolutions and matrix products (plain and fused) are set to exactly 0.
 * Biases, batch-norm constants and int32 shape constants are never touched.
 *
 * @example
 * const { artifacts: pruned, tensors } = levelPruneGraph(artifacts, { sparsity: 0.5 });
 * await fileHandler('out/pruned').save(pruned); // a graph model folder stock tfjs loads
 */
export function levelPruneGraph(artifacts: tf.io.ModelArtifacts, args: GraphLevelPruneArgs = {}): GraphLevelPruneResult {
  const weights = splitWeights(artifacts);
  const targets = selectKernels(graphKernels(artifactNodes(artifacts), weights), new Map(weights.map((w) => [w.name, w.shape])), args);
  const byName = new Map(weights.map((w) => [w.name, w]));
  const masks = computeValueMasks(
    targets.map((t) => {
      const w = byName.get(t.kernel.name)!;
      return { values: w.values as Float32Array, shape: w.shape, granularity: t.granularity, inputAxis: t.kernel.inputAxis, sparsity: t.target };
    }),
    args.ranking ?? 'layer',
  );
  const pruned = new Map<string, Float32Array>();
  const tensors: GraphPrunedTensor[] = targets.map((t, i) => {
    const w = byName.get(t.kernel.name)!;
    const before = w.values as Float32Array;
    const mask = masks[i]!;
    // Kept values are copied, pruned ones set to +0 (not -0: all-zero bytes compress better).
    const after = Float32Array.from(before, (v, j) => (mask[j] ? v : 0));
    pruned.set(w.name, after);
    return { name: w.name, node: t.kernel.consumer, op: t.kernel.op, shape: [...w.shape], target: t.target, sparsityBefore: zeros(before), sparsity: zeros(after) };
  });
  const stored = weights.map((w) => storeWeight(pruned.has(w.name) ? { ...w, values: pruned.get(w.name)! } : w));
  return { artifacts: withWeights(artifacts, stored), tensors };
}

/** One line per pruned tensor: node, op, shape and sparsity. */
export function formatGraphPruning(tensors: readonly GraphPrunedTensor[]): string {
  const rows = tensors.map((t) => [t.node, t.op, `[${t.shape.join('x')}]`, `${(t.sparsityBefore * 100).toFixed(1)}% -> ${(t.sparsity * 100).toFixed(1)}%`]);
  const w = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length), 0));
  return rows.map((r) => `  ${r.map((cell, c) => cell.padEnd(w[c]!)).join('  ')}`).join('\n');
}
