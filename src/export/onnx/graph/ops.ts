import * as tf from '@tensorflow/tfjs';
import { float, int, ints, str, type Attr, type GraphBuilder } from '../builder.js';
import { transpose } from '../tensor-util.js';
import type { GraphDefAttr, GraphDefNode } from '../../../model/graph-to-layers/attrs.js';

/** One GraphDef node as tensorflowjs_converter writes it in model.json (shared with graph-to-layers). */
export type TfNode = GraphDefNode;

/** GraphDef attribute values (JSON form: int64 as strings, strings base64). */
export type TfAttr = GraphDefAttr;

/** What a graph op converter can use. */
export interface GraphOpContext {
  b: GraphBuilder;
  node: TfNode;
  /** ONNX names of the node's data inputs (control inputs removed). */
  inputs: string[];
  /** Constant value of input `i`, if that input is a Const node. */
  constOf(i: number): tf.Tensor | undefined;
  /** NCHW twin of an NHWC value (one Transpose, cached; reuses the conv output it came from). */
  toNchw(name: string): string;
  /** NHWC value from an NCHW one (remembers the pair so the next conv skips the round trip). */
  toNhwc(nchw: string, base: string): string;
}

/** Converts one graph op; returns the ONNX name of its (first) output. */
export type GraphOpConverter = (c: GraphOpContext) => string;

const text = (s?: string) => (s ? Buffer.from(s, 'base64').toString('utf8') : '');
const nums = (a?: { list?: { i?: (string | number)[] } }) => (a?.list?.i ?? []).map(Number);

function attrs(c: GraphOpContext) {
  return c.node.attr ?? {};
}

function requireConst(c: GraphOpContext, i: number, what: string): tf.Tensor {
  const t = c.constOf(i);
  if (!t) throw new Error(`graph node '${c.node.name}' (${c.node.op}): ${what} must be a constant`);
  return t;
}

/** SAME in TensorFlow pads the odd pixel at the end, which is exactly ONNX SAME_UPPER. */
function padAttrs(c: GraphOpContext): Record<string, ReturnType<typeof str>> {
  const p = text(attrs(c).padding?.s);
  if (p === 'SAME') return { auto_pad: str('SAME_UPPER') };
  if (p === 'VALID') return { auto_pad: str('VALID') };
  throw new Error(`graph node '${c.node.name}' (${c.node.op}): padding '${p}' is not supported (SAME, VALID)`);
}

function requireNhwc(c: GraphOpContext): void {
  const f = text(attrs(c).data_format?.s) || 'NHWC';
  if (f !== 'NHWC') throw new Error(`graph node '${c.node.name}' (${c.node.op}): data_format ${f} is not supported`);
}

function activation(c: GraphOpContext, x: string, op: string, name: string): string {
  switch (op) {
    case 'Relu':
      return c.b.node('Relu', [x], {}, name)[0]!;
    case 'Relu6':
      return c.b.node('Clip', [x, c.b.constFloat([0], []), c.b.constFloat([6], [])], {}, name)[0]!;
    case 'Elu':
      return c.b.node('Elu', [x], {}, name)[0]!;
    case 'Sigmoid':
      return c.b.node('Sigmoid', [x], {}, name)[0]!;
    case 'Tanh':
      return c.b.node('Tanh', [x], {}, name)[0]!;
    case 'LeakyRelu':
      return c.b.node('LeakyRelu', [x], { alpha: float(attrs(c).leakyrelu_alpha?.f ?? 0.2) }, name)[0]!;
    default:
      throw new Error(`graph node '${c.node.name}' (${c.node.op}): fused op '${op}' is not supported`);
  }
}

/** Ops after the first (BiasAdd) of a _Fused* node. */
function fusedTail(c: GraphOpContext): string[] {
  const ops = (attrs(c).fused_ops?.list?.s ?? []).map(text);
  if (ops[0] !== 'BiasAdd') throw new Error(`graph node '${c.node.name}' (${c.node.op}): fused_ops [${ops}] not supported (expected BiasAdd first)`);
  return ops.slice(1);
}

function conv(depthwise: boolean, fused: boolean): GraphOpConverter {
  return (c) => {
    requireNhwc(c);
    const w = requireConst(c, 1, 'the filter');
    const s = w.shape as number[];
    const data = w.dataSync() as Float32Array;
    const oihw = depthwise
      ? { data: transpose(data, s, [2, 3, 0, 1]).data, shape: [s[2]! * s[3]!, 1, s[0]!, s[1]!] }
      : transpose(data, s, [3, 2, 0, 1]);
    const wName = c.b.initializer(`${c.node.name}/filter`, 'float32', oihw.shape, oihw.data);
    const strides = nums(attrs(c).strides).slice(1, 3);
    const dil = attrs(c).dilations ? nums(attrs(c).dilations).slice(1, 3) : [1, 1];
    const inputs = [c.toNchw(c.inputs[0]!), wName, ...(fused ? [c.inputs[2]!] : [])];
    const tail = fused ? fusedTail(c) : [];
    let y = c.b.node(
      'Conv',
      inputs,
      { kernel_shape: ints(s.slice(0, 2)), strides: ints(strides), dilations: ints(dil), ...(depthwise ? { group: int(s[2]!) } : {}), ...padAttrs(c) },
      `${c.node.name}/conv`,
    )[0]!;
    for (const op of tail) y = activation(c, y, op, `${c.node.name}/${op}`);
    return c.toNhwc(y, c.node.name);
  };
}

function pool(op: 'MaxPool' | 'AveragePool'): GraphOpConverter {
  return (c) => {
    requireNhwc(c);
    const k = nums(attrs(c).ksize).slice(1, 3);
    const s = nums(attrs(c).strides).slice(1, 3);
    const extra: Record<string, Attr> = op === 'AveragePool' ? { count_include_pad: int(0) } : {};
    const y = c.b.node(op, [c.toNchw(c.inputs[0]!)], { kernel_shape: ints(k), strides: ints(s), ...padAttrs(c), ...extra }, `${c.node.name}/pool`)[0]!;
    return c.toNhwc(y, c.node.name);
  };
}

function matmul(fused: boolean): GraphOpConverter {
  return (c) => {
    const a = attrs(c);
    let y = c.b.node(
      'Gemm',
      [c.inputs[0]!, c.inputs[1]!, ...(fused ? [c.inputs[2]!] : [])],
      { transA: int(a.transpose_a?.b ? 1 : 0), transB: int(a.transpose_b?.b ? 1 : 0) },
      fused ? `${c.node.name}/gemm` : c.node.name,
    )[0]!;
    if (fused) for (const op of fusedTail(c)) y = activation(c, y, op, `${c.node.name}/${op}`);
    return y;
  };
}

const binary = (op: string): GraphOpConverter => (c) => c.b.node(op, [c.inputs[0]!, c.inputs[1]!], {}, c.node.name)[0]!;
const unary = (op: string): GraphOpConverter => (c) => activation(c, c.inputs[0]!, op, c.node.name);

function intConst(c: GraphOpContext, i: number, what: string): number[] {
  return Array.from(requireConst(c, i, what).dataSync(), Number);
}

/** Graph op converters keyed by TensorFlow op name. */
export const graphOps: Record<string, GraphOpConverter> = {
  Identity: (c) => c.inputs[0]!,
  Conv2D: conv(false, false),
  _FusedConv2D: conv(false, true),
  DepthwiseConv2dNative: conv(true, false),
  FusedDepthwiseConv2dNative: conv(true, true),
  MatMul: matmul(false),
  _FusedMatMul: matmul(true),
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AveragePool'),
  BiasAdd: (c) => (requireNhwc(c), binary('Add')(c)),
  Add: binary('Add'),
  AddV2: binary('Add'),
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  RealDiv: binary('Div'),
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  Relu: unary('Relu'),
  Relu6: unary('Relu6'),
  Elu: unary('Elu'),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  LeakyRelu: unary('LeakyRelu'),
  Softmax: (c) => c.b.node('Softmax', [c.inputs[0]!], { axis: int(-1) }, c.node.name)[0]!,
  Reshape: (c) => c.b.node('Reshape', [c.inputs[0]!, c.b.constInt64(intConst(c, 1, 'the shape'))], {}, c.node.name)[0]!,
  Squeeze: (c) => {
    const axes = nums(attrs(c).squeeze_dims);
    if (!axes.length) throw new Error(`graph node '${c.node.name}' (Squeeze): squeeze_dims must be given`);
    return c.b.node('Squeeze', [c.inputs[0]!, c.b.constInt64(axes)], {}, c.node.name)[0]!;
  },
  Mean: (c) =>
    c.b.node('ReduceMean', [c.inputs[0]!], { axes: ints(intConst(c, 1, 'the axes')), keepdims: int(attrs(c).keep_dims?.b ? 1 : 0) }, c.node.name)[0]!,
  Max: (c) =>
    c.b.node('ReduceMax', [c.inputs[0]!], { axes: ints(intConst(c, 1, 'the axes')), keepdims: int(attrs(c).keep_dims?.b ? 1 : 0) }, c.node.name)[0]!,
  ConcatV2: (c) => {
    const n = c.inputs.length - 1;
    return c.b.node('Concat', c.inputs.slice(0, n), { axis: int(intConst(c, n, 'the axis')[0]!) }, c.node.name)[0]!;
  },
  FusedBatchNorm: batchNorm,
  FusedBatchNormV3: batchNorm,
};

/** Inference-mode batch norm folded into Mul + Add on the channels-last axis. */
function batchNorm(c: GraphOpContext): string {
  requireNhwc(c);
  const [scale, offset, mean, variance] = [1, 2, 3, 4].map((i) => requireConst(c, i, 'batch-norm parameters').dataSync() as Float32Array);
  const eps = attrs(c).epsilon?.f ?? 1e-3;
  const n = scale!.length;
  const m = new Float32Array(n);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    m[i] = scale![i]! / Math.sqrt(variance![i]! + eps);
    a[i] = offset![i]! - mean![i]! * m[i]!;
  }
  const y = c.b.node('Mul', [c.inputs[0]!, c.b.initializer(`${c.node.name}/scale`, 'float32', [n], m)], {}, `${c.node.name}/scale`)[0]!;
  return c.b.node('Add', [y, c.b.initializer(`${c.node.name}/shift`, 'float32', [n], a)], {}, c.node.name)[0]!;
}
