import * as tf from '@tensorflow/tfjs';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { seededRandom } from '../../src/data/dataset.js';

/** A GraphDef node as tensorflowjs_converter writes it. */
export interface GNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
/** Attribute builders in the converter's JSON form. */
export const A = {
  f32: { type: 'DT_FLOAT' },
  i32: { type: 'DT_INT32' },
  type: (t: string) => ({ type: t }),
  ints: (a: number[]) => ({ list: { i: a.map(String) } }),
  strs: (a: string[]) => ({ list: { s: a.map(b64) } }),
  s: (v: string) => ({ s: b64(v) }),
  f: (v: number) => ({ f: v }),
  b: (v: boolean) => ({ b: v }),
  i: (v: number) => ({ i: String(v) }),
};

/** Common conv attributes: NHWC, strides, padding, dilations 1. */
export const convAttr = (strides: number, padding: 'SAME' | 'VALID', extra: Record<string, unknown> = {}) => ({
  T: A.f32,
  data_format: A.s('NHWC'),
  dilations: A.ints([1, 1, 1, 1]),
  strides: A.ints([1, strides, strides, 1]),
  padding: A.s(padding),
  ...extra,
});
/** fused_ops attributes of _FusedConv2D / FusedDepthwiseConv2dNative / _FusedMatMul. */
export const fused = (ops: string[], extra: Record<string, unknown> = {}) => ({ fused_ops: A.strs(ops), num_args: A.i(1), ...extra });

/** A Placeholder node. */
export function placeholder(name: string, shape: number[], dtype = 'DT_FLOAT'): GNode {
  return { name, op: 'Placeholder', attr: { dtype: A.type(dtype), shape: { shape: { dim: shape.map((d) => ({ size: String(d) })) } } } };
}

/** Seeded constant: normal(0, scale) floats, or given values. */
export function rnd(shape: number[], seed: number, scale = 0.5): tf.Tensor {
  return tf.randomNormal(shape, 0, scale, 'float32', seed);
}

/**
 * Load a hand-written graph with stock tfjs (`loadGraphModel(fromMemory)`): `consts` become Const
 * nodes with their weights (the tensors are disposed).
 */
export async function graphModel(nodes: GNode[], consts: Record<string, tf.Tensor>): Promise<GraphModel> {
  const constNodes = Object.entries(consts).map(([name, t]) => {
    const dtype = t.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT';
    return { name, op: 'Const', attr: { dtype: A.type(dtype), value: { tensor: { dtype, tensorShape: { dim: t.shape.map((d) => ({ size: String(d) })) } } } } };
  });
  const { data, specs } = await tf.io.encodeWeights(Object.entries(consts).map(([name, tensor]) => ({ name, tensor })));
  Object.values(consts).forEach((t) => t.dispose());
  return loadGraphModel(
    tf.io.fromMemory({ modelTopology: { node: [...nodes, ...constNodes], versions: { producer: 1 }, library: {} }, format: 'graph-model', weightSpecs: specs, weightData: data }),
  );
}

/** Seeded inputs for a graph (floats in [-2, 2], ids in [0, intHi)), drawn independently of the converter. */
export function graphInputs(graph: GraphModel, n: number, seed = 5, intHi = 6): tf.Tensor[] {
  const rand = seededRandom(seed);
  return graph.inputs.map((info) => {
    const shape = [n, ...info.shape!.slice(1).map((d) => (d < 0 ? 1 : d))];
    const size = shape.reduce((a, b) => a * b, 1);
    return info.dtype === 'int32'
      ? tf.tensor(Int32Array.from({ length: size }, () => Math.floor(rand() * intHi)), shape, 'int32')
      : tf.tensor(Float32Array.from({ length: size }, () => rand() * 4 - 2), shape);
  });
}
