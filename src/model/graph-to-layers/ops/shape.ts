import * as tf from '@tensorflow/tfjs';
import { attrs, dataInputs, type GraphDefNode } from '../attrs.js';
import type { BuildContext } from '../context.js';
import { UnsupportedOp, constOf, sizeOf, staticDims, type ConstValue, type TensorValue, type Value } from '../values.js';

const FLOAT_TYPES = ['DT_FLOAT', 'DT_HALF', 'DT_DOUBLE', 'DT_BFLOAT16'];
const INT_TYPES = ['DT_INT32', 'DT_INT64', 'DT_INT16', 'DT_INT8', 'DT_UINT8', 'DT_UINT16'];

/** Shape of a tensor as a constant; the batch size is NaN (known only at run time). */
export function shapeOp(node: GraphDefNode, c: BuildContext): Value {
  const x = c.input(node, 0);
  if (x.kind === 'const') return constOf(x.shape);
  if (x.kind === 'batch0') throw new UnsupportedOp(node.op, 'input has an extra leading axis');
  return constOf([NaN, ...staticDims(x, node.op)]);
}

/** 1-D StridedSlice of a constant (begin/end/shrink masks), as in Keras's Flatten pattern. */
export function stridedSlice(node: GraphDefNode, c: BuildContext): Value {
  const a = attrs(node);
  const x = c.input(node, 0);
  if (x.kind !== 'const' || x.shape.length !== 1) throw new UnsupportedOp(node.op, 'only 1-D slices of constants or shapes convert');
  if (a.int('ellipsis_mask') || a.int('new_axis_mask')) throw new UnsupportedOp(node.op, 'ellipsis/new-axis masks');
  const [b0, e0, s0] = [1, 2, 3].map((i) => Number(c.constInput(node, i, 'begin/end/strides').data()[0])) as [number, number, number];
  const d = Array.from(x.data());
  const n = d.length;
  const norm = (v: number) => (v < 0 ? v + n : v);
  if (a.int('shrink_axis_mask') & 1) return constOf([d[norm(b0)]!], [], x.dtype);
  const begin = a.int('begin_mask') & 1 ? (s0 > 0 ? 0 : n - 1) : Math.min(Math.max(norm(b0), 0), n);
  const end = a.int('end_mask') & 1 ? (s0 > 0 ? n : -1) : Math.min(Math.max(norm(e0), -1), n);
  const out: number[] = [];
  for (let i = begin; s0 > 0 ? i < end : i > end; i += s0) out.push(d[i]!);
  return constOf(out, [out.length], x.dtype);
}

/** Pack (stack) of constants along axis 0. */
export function pack(node: GraphDefNode, c: BuildContext): Value {
  if (attrs(node).int('axis') !== 0) throw new UnsupportedOp(node.op, 'axis other than 0');
  const parts = dataInputs(node).map((_, i) => c.input(node, i));
  if (parts.some((p) => p.kind !== 'const')) throw new UnsupportedOp(node.op, 'only packs constants (shape arithmetic)');
  const ks = parts as ConstValue[];
  return constOf(ks.flatMap((k) => Array.from(k.data())), [ks.length, ...ks[0]!.shape], ks[0]!.dtype);
}

/** Prod of a constant over all its elements (shape arithmetic). */
export function prod(node: GraphDefNode, c: BuildContext): Value {
  const x = c.input(node, 0);
  if (x.kind !== 'const' || x.shape.length > 1) throw new UnsupportedOp(node.op, 'only reduces 1-D constants');
  const p = Array.from(x.data()).reduce((s, v) => s * v, 1);
  return constOf([p], attrs(node).bool('keep_dims') ? [1] : [], x.dtype);
}

/** ConcatV2 of constants (shape arithmetic); tensors go through {@link concat}. */
export function concatConsts(node: GraphDefNode, ks: ConstValue[]): ConstValue {
  if (ks.some((k) => k.shape.length !== 1)) throw new UnsupportedOp(node.op, 'concatenation of constants beyond 1-D');
  return constOf(ks.flatMap((k) => Array.from(k.data())), undefined, ks[0]!.dtype);
}

/** Reshape a tensor to `dims` (non-batch): pass-through, Flatten or Reshape. */
function reshapeTo(c: BuildContext, name: string, x: TensorValue, dims: number[]): TensorValue {
  const inDims = staticDims(x, 'Reshape');
  if (inDims.join() === dims.join()) return x;
  if (dims.length === 1 && inDims.length > 1) return { ...c.apply(tf.layers.flatten({ name: c.layerName(name) }), x), dtype: x.dtype, origin: x.origin };
  return { ...c.apply(tf.layers.reshape({ targetShape: dims, name: c.layerName(name) }), x), dtype: x.dtype, origin: x.origin };
}

/** Reshape with a static target whose first entry is the batch (-1, the Shape-derived batch, or 1 in a batch-1 graph). */
export function reshape(node: GraphDefNode, c: BuildContext): Value {
  const target = Array.from(c.constInput(node, 1, 'the shape').data());
  const x = c.input(node, 0);
  if (x.kind === 'const') return constOf(Array.from(x.data()), target, x.dtype);
  const t = c.tensorInput(node, 0);
  const first = target[0];
  const batchFirst = first !== undefined && (Number.isNaN(first) || first === -1 || (first === 1 && c.fixedBatch1));
  const rest = target.slice(1);
  if (!batchFirst || rest.some((d) => Number.isNaN(d))) throw new UnsupportedOp(node.op, `target shape [${target.map((d) => (Number.isNaN(d) ? 'batch' : d))}] does not keep the batch axis first`);
  const total = sizeOf(staticDims(t, node.op));
  const known = rest.filter((d) => d !== -1).reduce((s, d) => s * d, 1);
  const dims = rest.map((d) => (d === -1 ? total / known : d));
  if (sizeOf(dims) !== total || dims.some((d) => !Number.isInteger(d))) throw new UnsupportedOp(node.op, `cannot reshape [${t.t.shape}] to [${target}]`);
  return reshapeTo(c, node.name, t, dims);
}

/** ExpandDims: a Reshape, or (axis 0) a marker only Squeeze(0) may consume. */
export function expandDims(node: GraphDefNode, c: BuildContext): Value {
  const x = c.input(node, 0);
  const ax = Number(c.constInput(node, 1, 'the axis').data()[0]);
  if (x.kind === 'const') {
    const r = x.shape.length;
    const a = ax < 0 ? ax + r + 1 : ax;
    return constOf(Array.from(x.data()), [...x.shape.slice(0, a), 1, ...x.shape.slice(a)], x.dtype);
  }
  const t = c.tensorInput(node, 0);
  const r = t.t.shape.length;
  const a = ax < 0 ? ax + r + 1 : ax;
  if (a === 0) return { kind: 'batch0', inner: t };
  const dims = staticDims(t, node.op);
  return reshapeTo(c, node.name, t, [...dims.slice(0, a - 1), 1, ...dims.slice(a - 1)]);
}

/** Squeeze: undoes ExpandDims(0), else a Reshape dropping size-1 non-batch axes. */
export function squeeze(node: GraphDefNode, c: BuildContext): Value {
  const x = c.input(node, 0);
  const axes = attrs(node).ints('squeeze_dims');
  if (x.kind === 'batch0') {
    if (axes.length === 1 && (axes[0] === 0 || axes[0] === -x.inner.t.shape.length - 1)) return x.inner;
    throw new UnsupportedOp(node.op, 'only Squeeze(0) may follow ExpandDims(0)');
  }
  const t = c.tensorInput(node, 0);
  const r = t.t.shape.length;
  const dims = staticDims(t, node.op);
  const drop = new Set(axes.length ? axes.map((a) => (a < 0 ? a + r : a)) : dims.flatMap((d, i) => (d === 1 ? [i + 1] : [])));
  if (drop.has(0)) throw new UnsupportedOp(node.op, 'squeezes the batch axis');
  return reshapeTo(c, node.name, t, dims.filter((_, i) => !drop.has(i + 1)));
}

/** Identity, StopGradient, ...: the input itself. IdentityN: each input to the same output index. */
export function identity(node: GraphDefNode, c: BuildContext): Value | Value[] {
  const n = dataInputs(node).length;
  return node.op === 'IdentityN' ? Array.from({ length: n }, (_, i) => c.input(node, i)) : c.input(node, 0);
}

/**
 * Cast: int -> float is a Rescaling(1, 0) (which casts); same-kind casts pass through. float -> int
 * only converts in front of a GatherV2 (Embedding truncates its ids the same way).
 */
export function cast(node: GraphDefNode, c: BuildContext): Value {
  const dst = attrs(node).type('DstT');
  const toFloat = FLOAT_TYPES.includes(dst);
  if (!toFloat && !INT_TYPES.includes(dst)) throw new UnsupportedOp(node.op, `cast to ${dst}`);
  const x = c.input(node, 0);
  if (x.kind === 'const') return constOf(Array.from(x.data(), (v) => (toFloat || Number.isNaN(v) ? v : Math.trunc(v))), x.shape, toFloat ? 'float32' : 'int32');
  const t = c.tensorInput(node, 0);
  if (toFloat === (t.dtype === 'float32')) return { ...t, dtype: toFloat ? 'float32' : 'int32' };
  if (toFloat) return { ...c.apply(tf.layers.rescaling({ scale: 1, offset: 0, name: c.layerName(node.name) }), t), dtype: 'float32', origin: t.origin };
  const next = c.soleConsumer(node.name);
  if (next?.op === 'GatherV2') return { ...t, dtype: 'int32' };
  throw new UnsupportedOp(node.op, 'float -> int cast outside an embedding lookup');
}
