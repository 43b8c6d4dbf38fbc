import * as tf from '@tensorflow/tfjs';
import { attrs, type GraphDefNode } from '../attrs.js';
import type { BuildContext } from '../context.js';
import { UnsupportedOp, constOf, perChannel, scalarOf, type ConstValue, type TensorValue, type Value } from '../values.js';
import { ACTIVATIONS, biasOf } from './fuse.js';

type Binary = 'add' | 'sub' | 'mul' | 'div';
const BINARY: Record<string, Binary> = { Add: 'add', AddV2: 'add', BiasAdd: 'add', Sub: 'sub', Mul: 'mul', RealDiv: 'div' };
const f = (k: Binary, p: number, q: number) => (k === 'add' ? p + q : k === 'sub' ? p - q : k === 'mul' ? p * q : p / q);

/** Arithmetic on two constants (shape maths such as a batch size times a product), scalar or same-size. */
function foldConst(op: string, k: Binary, p: ConstValue, q: ConstValue): ConstValue {
  const a = p.data();
  const b = q.data();
  const n = Math.max(a.length, b.length);
  if (a.length !== n && a.length !== 1) throw new UnsupportedOp(op, `constants of shapes [${p.shape}] and [${q.shape}]`);
  if (b.length !== n && b.length !== 1) throw new UnsupportedOp(op, `constants of shapes [${p.shape}] and [${q.shape}]`);
  const out = Array.from({ length: n }, (_, i) => f(k, a[a.length === 1 ? 0 : i]!, b[b.length === 1 ? 0 : i]!));
  return constOf(out, a.length >= b.length ? p.shape : q.shape, p.dtype);
}

/**
 * Per-channel affine `x * gamma + beta` as an inference-mode BatchNormalization layer (mean 0,
 * variance 1, epsilon 0): exactly the graph's Mul/Add, and trainable. `mean` handles `x - c`.
 */
function affine(c: BuildContext, name: string, x: TensorValue, ch: number, p: { gamma?: Float32Array; beta?: Float32Array; mean?: Float32Array }): TensorValue {
  const w = (v: Float32Array | undefined, fill: number) => ({ data: v ?? new Float32Array(ch).fill(fill), shape: [ch] });
  return c.apply(tf.layers.batchNormalization({ axis: -1, epsilon: 0, name: c.layerName(name) }), x, [w(p.gamma, 1), w(p.beta, 0), w(p.mean, 0), w(undefined, 1)]);
}

/** Tensor (op) constant, the constant scalar or per channel: Rescaling or an affine BatchNormalization. */
function withConst(node: GraphDefNode, c: BuildContext, k: Binary, x: TensorValue, constant: ConstValue, constFirst: boolean): Value {
  const s = scalarOf(constant);
  const rank = x.t.shape.length;
  if (s !== undefined && constant.shape.length <= rank) {
    const [scale, offset] =
      k === 'add' ? [1, s] : k === 'sub' ? (constFirst ? [-1, s] : [1, -s]) : k === 'mul' ? [s, 0] : constFirst ? [NaN, 0] : [1 / s, 0];
    if (Number.isNaN(scale)) throw new UnsupportedOp(node.op, 'constant divided by a tensor');
    return c.apply(tf.layers.rescaling({ scale, offset, name: c.layerName(node.name) }), x);
  }
  const ch = x.t.shape[rank - 1];
  const v = ch == null ? undefined : perChannel(constant, ch, rank);
  if (!v || ch == null) throw new UnsupportedOp(node.op, `constant of shape [${constant.shape}] does not broadcast per channel over [${x.t.shape.map((d) => d ?? '?')}]`);
  if (k === 'add') return affine(c, node.name, x, ch, { beta: v });
  if (k === 'sub') return constFirst ? affine(c, node.name, x, ch, { gamma: new Float32Array(ch).fill(-1), beta: v }) : affine(c, node.name, x, ch, { mean: v });
  if (k === 'div') {
    if (constFirst) throw new UnsupportedOp(node.op, 'constant divided by a tensor');
    return affine(c, node.name, x, ch, { gamma: v.map((q) => 1 / q) });
  }
  // x * scale (+ offset): one BatchNormalization for the pair, as the graph's folded batch norm.
  const next = c.soleConsumer(node.name);
  const b = next && biasOf(c, next, ch, rank);
  const y = affine(c, b ? next.name : node.name, x, ch, { gamma: v, beta: b?.bias });
  if (b) c.set(next.name, y);
  return y;
}

/** Add / AddV2 / BiasAdd / Sub / Mul / RealDiv: merge layers between tensors, Rescaling/BatchNormalization with constants. */
export function binary(node: GraphDefNode, c: BuildContext): Value {
  const k = BINARY[node.op]!;
  const p = c.input(node, 0);
  const q = c.input(node, 1);
  if (p.kind === 'const' && q.kind === 'const') return foldConst(node.op, k, p, q);
  if (p.kind === 'const') return withConst(node, c, k, c.tensorInput(node, 1), p, true);
  if (q.kind === 'const') return withConst(node, c, k, c.tensorInput(node, 0), q, false);
  const xs = [c.tensorInput(node, 0), c.tensorInput(node, 1)];
  const name = c.layerName(node.name);
  if (k === 'add') return c.apply(tf.layers.add({ name }), xs);
  // tfjs has no Subtract layer: x + (-y) equals x - y exactly in floating point.
  if (k === 'sub') return c.apply(tf.layers.add({ name }), [xs[0]!, c.apply(tf.layers.rescaling({ scale: -1, offset: 0, name: c.layerName(node.name, '_neg') }), xs[1]!)]);
  if (k === 'mul') return c.apply(tf.layers.multiply({ name }), xs);
  throw new UnsupportedOp(node.op, 'division of two tensors has no stock tfjs layer');
}

/** Maximum / Minimum of two tensors -> Maximum / Minimum layers. */
export function extremum(node: GraphDefNode, c: BuildContext): Value {
  const xs = [c.tensorInput(node, 0), c.tensorInput(node, 1)];
  const name = c.layerName(node.name);
  return c.apply(node.op === 'Maximum' ? tf.layers.maximum({ name }) : tf.layers.minimum({ name }), xs);
}

/** AddN of tensors -> Add. */
export function addN(node: GraphDefNode, c: BuildContext): Value {
  const n = (node.input ?? []).filter((i) => !i.startsWith('^')).length;
  const xs = Array.from({ length: n }, (_, i) => c.tensorInput(node, i));
  if (xs.length === 1) return xs[0]!;
  return c.apply(tf.layers.add({ name: c.layerName(node.name) }), xs);
}

/** Relu / Relu6 / Elu / Sigmoid / Tanh -> Activation; LeakyRelu -> LeakyReLU; Softmax -> Softmax. */
export function activation(node: GraphDefNode, c: BuildContext): Value {
  const x = c.tensorInput(node, 0);
  const name = c.layerName(node.name);
  if (node.op === 'LeakyRelu') return c.apply(tf.layers.leakyReLU({ alpha: attrs(node).float('alpha', 0.2), name }), x);
  if (node.op === 'Softmax') return c.apply(tf.layers.softmax({ axis: -1, name }), x);
  return c.apply(tf.layers.activation({ activation: ACTIVATIONS[node.op] as 'relu', name }), x);
}

