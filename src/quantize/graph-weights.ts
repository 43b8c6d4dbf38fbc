import * as tf from '@tensorflow/tfjs';
import type { GraphNode } from '../model/graph-info.js';
import { depthwiseAxes } from './channels.js';

/*
 * A graph model's weights are the values of its Const nodes. Compressing them without training
 * needs two things: the weights as plain typed arrays (and back), and which Consts are the
 * kernels of which ops, with their output-channel axis. Pure data, no I/O: quantize, prune and
 * the container all work on tfjs ModelArtifacts through these helpers.
 */

/** Element types a weight may hold once decoded. */
export type WeightDtype = 'float32' | 'int32' | 'bool';

/** One weight of tfjs model artifacts, decoded (converter quantization undone). */
export interface NamedWeight {
  name: string;
  shape: number[];
  dtype: WeightDtype;
  values: Float32Array | Int32Array | Uint8Array;
}

const WIDTH: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Number of elements of a shape. */
const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * The weights of model artifacts as typed arrays, in manifest order. Weights stored with
 * tensorflowjs_converter's `quantization` (uint8/uint16/float16) are decoded by tfjs itself, so the
 * values are exactly what stock `loadGraphModel` computes.
 *
 * @example
 * const weights = splitWeights(artifacts); // [{ name: 'StatefulPartitionedCall/conv/Conv2D/ReadVariableOp', values: Float32Array, ... }]
 */
export function splitWeights(artifacts: tf.io.ModelArtifacts): NamedWeight[] {
  const specs = artifacts.weightSpecs ?? [];
  const data = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  const out: NamedWeight[] = [];
  let offset = 0;
  for (const spec of specs) {
    const stored = spec.quantization?.dtype ?? spec.dtype;
    const width = WIDTH[stored];
    if (width === undefined || !['float32', 'int32', 'bool'].includes(spec.dtype)) {
      throw new Error(`weight '${spec.name}': dtype ${spec.dtype}${spec.quantization ? ` stored as ${stored}` : ''} is not supported (float32, int32 and bool are)`);
    }
    const bytes = count(spec.shape) * width;
    if (offset + bytes > data.byteLength) throw new Error(`weight '${spec.name}': the weight data ends before this weight`);
    const slice = data.slice(offset, offset + bytes);
    offset += bytes;
    const dtype = spec.dtype as WeightDtype;
    let values: NamedWeight['values'];
    if (spec.quantization) {
      const t = tf.io.decodeWeights(slice, [spec])[spec.name]!;
      values = t.dataSync().slice() as Float32Array | Int32Array;
      t.dispose();
    } else {
      values = dtype === 'float32' ? new Float32Array(slice) : dtype === 'int32' ? new Int32Array(slice) : new Uint8Array(slice);
    }
    out.push({ name: spec.name, shape: [...spec.shape], dtype, values });
  }
  if (offset !== data.byteLength) throw new Error(`weight data holds ${data.byteLength} bytes but the weight specs describe ${offset}`);
  return out;
}

/** A weight ready for a manifest: its spec (maybe with `quantization`) and stored bytes. */
export interface StoredWeight {
  spec: tf.io.WeightsManifestEntry;
  bytes: Uint8Array;
}

/** The plain (unquantized) stored form of a decoded weight. */
export function storeWeight(w: NamedWeight): StoredWeight {
  return { spec: { name: w.name, shape: [...w.shape], dtype: w.dtype }, bytes: new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength) };
}

/**
 * New artifacts: the topology and metadata of `base` with `weights` as the weight specs and data.
 *
 * @example
 * const pruned = withWeights(artifacts, splitWeights(artifacts).map(storeWeight));
 */
export function withWeights(base: tf.io.ModelArtifacts, weights: StoredWeight[]): tf.io.ModelArtifacts {
  const total = weights.reduce((s, w) => s + w.bytes.byteLength, 0);
  const data = new Uint8Array(total);
  let at = 0;
  for (const w of weights) {
    data.set(w.bytes, at);
    at += w.bytes.byteLength;
  }
  const { weightSpecs: _specs, weightData: _data, ...rest } = base;
  return { ...rest, weightSpecs: weights.map((w) => w.spec), weightData: data.buffer };
}

/** How an op reads its kernel: the input index of the weight and that weight's output-channel axis. */
interface KernelInput {
  input: number;
  channelAxis: (node: GraphNode, rank: number) => number;
}

const attrBool = (node: GraphNode, key: string) => (node.attr?.[key] as { b?: boolean } | undefined)?.b === true;

const conv: KernelInput = { input: 1, channelAxis: () => 3 };
// Depthwise filters are [kh, kw, C, multiplier]: the channel axis is C (2), not the multiplier.
const depthwise: KernelInput = { input: 1, channelAxis: () => 2 };
const matmul: KernelInput = { input: 1, channelAxis: (n) => (attrBool(n, 'transpose_b') ? 0 : 1) };

/**
 * Ops whose weight input is a kernel that one-shot magnitude pruning may sparsify (convolutions
 * and matrix products, plain and fused). Biases, batch-norm constants and shape constants are
 * never kernels.
 */
export const PRUNABLE_GRAPH_OPS: Readonly<Record<string, KernelInput>> = {
  Conv2D: conv,
  _FusedConv2D: conv,
  DepthwiseConv2dNative: depthwise,
  FusedDepthwiseConv2dNative: depthwise,
  MatMul: matmul,
  _FusedMatMul: matmul,
};

/** Kernel inputs quantization also treats as kernels: the prunable ones, transposed convolutions, embedding tables. */
const KERNEL_GRAPH_OPS: Readonly<Record<string, KernelInput>> = {
  ...PRUNABLE_GRAPH_OPS,
  // Conv2DBackpropInput(input_sizes, filter [kh, kw, out, in], out_backprop): output channels on axis 2.
  Conv2DBackpropInput: { input: 1, channelAxis: () => 2 },
  BatchMatMulV2: { input: 1, channelAxis: (n, rank) => (attrBool(n, 'adj_y') ? rank - 2 : rank - 1) },
  // Embedding tables are quantized per row (each token's vector), as layers models' Embedding.
  GatherV2: { input: 0, channelAxis: () => 0 },
};

/** A Const that is the kernel of an op. */
export interface GraphKernel {
  /** The Const node (= weight) name. */
  name: string;
  /** The consuming node and its op. */
  consumer: string;
  op: string;
  /** Output-channel axis of the weight (per-channel quantization). */
  channelAxis: number;
  /** Consecutive axes from `channelAxis` forming the channel: 2 for a depthwise filter [kh, kw, C, M>1], else 1. */
  channelAxisCount: number;
  /** Input-feature axis for N:M sparsity, `null` where it makes no sense (depthwise). */
  inputAxis: number | null;
  /** True for the ops of {@link PRUNABLE_GRAPH_OPS}. */
  prunable: boolean;
}

/** `name:1` -> `name`; control inputs (`^name`) give undefined. */
function refNode(ref: string): string | undefined {
  if (ref.startsWith('^')) return undefined;
  const m = /^(.*?)(?::\d+)?$/.exec(ref)!;
  return m[1]!;
}

/**
 * The float32 kernels of a graph: every Const weight read (directly or through Identity nodes)
 * at the kernel input of a convolution, matrix product or gather. A weight shared by several
 * ops is listed once, for its first consumer.
 *
 * @example
 * graphKernels(nodes, weights); // [{ name: 'conv/kernel', consumer: 'conv/Conv2D', op: '_FusedConv2D', channelAxis: 3, ... }]
 */
export function graphKernels(nodes: readonly GraphNode[], weights: readonly NamedWeight[]): GraphKernel[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const floatWeights = new Map(weights.filter((w) => w.dtype === 'float32').map((w) => [w.name, w]));
  const constOf = (ref: string): string | undefined => {
    let name = refNode(ref);
    for (let hops = 0; name !== undefined && hops < 16; hops++) {
      if (floatWeights.has(name)) return name;
      const n = byName.get(name);
      if (n?.op !== 'Identity') return undefined;
      name = refNode(n.input?.[0] ?? '^');
    }
    return undefined;
  };
  const out = new Map<string, GraphKernel>();
  for (const node of nodes) {
    const k = KERNEL_GRAPH_OPS[node.op];
    if (!k) continue;
    const data = (node.input ?? []).filter((i) => !i.startsWith('^'));
    const ref = data[k.input];
    const name = ref === undefined ? undefined : constOf(ref);
    if (name === undefined || out.has(name)) continue;
    const rank = floatWeights.get(name)!.shape.length;
    const prunable = node.op in PRUNABLE_GRAPH_OPS;
    const isDepthwise = node.op.includes('Depthwise');
    const shape = floatWeights.get(name)!.shape;
    const channels = isDepthwise && rank === 4 ? depthwiseAxes(shape) : { axis: rank > 1 ? k.channelAxis(node, rank) : 0, count: 1 };
    const channelAxis = channels.axis;
    const inputAxis = !prunable || isDepthwise || rank < 2 ? null : node.op.includes('MatMul') ? 1 - channelAxis : 2;
    out.set(name, { name, consumer: node.name, op: node.op, channelAxis, channelAxisCount: channels.count, inputAxis, prunable });
  }
  return [...out.values()];
}
