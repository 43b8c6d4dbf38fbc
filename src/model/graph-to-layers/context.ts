import * as tf from '@tensorflow/tfjs';
import { dataInputs, parseRef, type GraphDefNode } from './attrs.js';
import type { GraphDef } from './graph.js';
import { UnsupportedOp, type ConstValue, type TensorValue, type Value } from './values.js';

/** A Const node's tensor as a ConstValue (values read once, on first use). */
export function constFromTensor(t: tf.Tensor): ConstValue {
  let cache: ArrayLike<number> | undefined;
  return { kind: 'const', shape: t.shape.slice(), dtype: t.dtype, data: () => (cache ??= t.dataSync() as ArrayLike<number>) };
}

/** A weight for a new layer: values and shape, in the layer's `getWeights()` order. */
export interface WeightInit {
  data: Float32Array;
  shape: number[];
}

/**
 * State of one conversion: converted values by graph tensor, the layers created so far (so a
 * failed conversion can dispose them), unique layer names, and look-ahead for op fusion.
 */
export class BuildContext {
  readonly layers: tf.layers.Layer[] = [];
  /** Graph input node -> exclusive upper bound of valid integer ids (set when it feeds an Embedding). */
  readonly intRanges = new Map<string, number>();
  private readonly values = new Map<string, Value>();
  private readonly names = new Set<string>();

  constructor(
    readonly def: GraphDef,
    /** True when a Placeholder has a fixed batch of 1 (a leading 1 in a Reshape then means the batch). */
    readonly fixedBatch1: boolean,
  ) {}

  /** A unique, Keras-style layer name derived from a graph node name. */
  layerName(nodeName: string, suffix = ''): string {
    const base = (nodeName.replace(/^(StatefulPartitionedCall\/)+/, '').replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '') || 'layer') + suffix;
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  /**
   * Apply a new layer to symbolic inputs and give it `weights` (in `layer.getWeights()` order).
   * The weight tensors are temporary: the layer's variables keep their own copies.
   */
  apply(layer: tf.layers.Layer, inputs: TensorValue | TensorValue[], weights: WeightInit[] = [], dtype: 'float32' | 'int32' = 'float32'): TensorValue {
    this.layers.push(layer);
    const xs = Array.isArray(inputs) ? inputs.map((v) => v.t) : inputs.t;
    const out = layer.apply(xs) as tf.SymbolicTensor;
    if (weights.length) {
      const ts = weights.map((w) => tf.tensor(w.data, w.shape, 'float32'));
      try {
        layer.setWeights(ts);
      } finally {
        ts.forEach((t) => t.dispose());
      }
    }
    return { kind: 'tensor', t: out, dtype };
  }

  /** Record the value of output `index` of `node`. */
  set(node: string, value: Value, index = 0): void {
    this.values.set(`${node}:${index}`, value);
  }

  /** Value of a tensor reference such as `conv/Relu` or `split:1`, if already converted. */
  get(ref: string): Value | undefined {
    const { node, index } = parseRef(ref);
    return this.values.get(`${node}:${index}`);
  }

  /** True once a node has a value (converted, or absorbed into an earlier layer). */
  done(node: string): boolean {
    return this.values.has(`${node}:0`);
  }

  /**
   * The only node consuming `name`'s output 0, if exactly one does and `name` is not a model
   * output: the condition for folding that consumer into the layer built for `name`.
   */
  soleConsumer(name: string): GraphDefNode | undefined {
    const uses = this.def.usesOf(name);
    if (uses.length !== 1 || this.def.isOutput(name)) return undefined;
    const ref = dataInputs(uses[0]!.node)[uses[0]!.input]!;
    return parseRef(ref).index === 0 ? uses[0]!.node : undefined;
  }

  /**
   * Input `i` of `node` as a constant when it is one (already converted, or a Const node not yet
   * visited): look-ahead fusion inspects consumers whose inputs have not been converted yet.
   */
  peekConst(node: GraphDefNode, i: number): ConstValue | undefined {
    const ref = dataInputs(node)[i];
    if (ref === undefined) return undefined;
    const v = this.get(ref);
    if (v) return v.kind === 'const' ? v : undefined;
    const t = this.def.constTensor(parseRef(ref).node);
    return t ? constFromTensor(t) : undefined;
  }

  /** Input `i` of `node`, converted. */
  input(node: GraphDefNode, i: number): Value {
    const ref = dataInputs(node)[i];
    if (ref === undefined) throw new UnsupportedOp(node.op, `node '${node.name}' has no input ${i}`);
    const v = this.get(ref);
    if (!v) throw new Error(`internal: input '${ref}' of '${node.name}' used before conversion`);
    return v;
  }

  /** Input `i` as a layers tensor (refusing constants and batch-expanded values). */
  tensorInput(node: GraphDefNode, i: number): TensorValue {
    const v = this.input(node, i);
    if (v.kind === 'tensor') return v;
    throw new UnsupportedOp(node.op, v.kind === 'const' ? `input ${i} is a constant` : 'input has an extra leading axis (ExpandDims at axis 0)');
  }

  /** Input `i` as a conversion-time constant. */
  constInput(node: GraphDefNode, i: number, what: string): ConstValue {
    const v = this.input(node, i);
    if (v.kind !== 'const') throw new UnsupportedOp(node.op, `${what} must be a constant`);
    return v;
  }
}
