import * as tf from '@tensorflow/tfjs';
import { attrs, type GraphDefNode } from '../attrs.js';
import type { BuildContext, WeightInit } from '../context.js';
import { UnsupportedOp, type Value } from '../values.js';
import { ACTIVATIONS, absorbTail, type Tail } from './fuse.js';

/** Row-major transpose of a [rows, cols] matrix. */
function transpose2d(d: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let q = 0; q < cols; q++) out[q * rows + r] = d[r * cols + q]!;
  return out;
}

/** MatMul / _FusedMatMul of a tensor by a constant matrix -> Dense (absorbing a following BiasAdd and activation). */
export function matMul(node: GraphDefNode, c: BuildContext): Value {
  const a = attrs(node);
  if (a.bool('transpose_a')) throw new UnsupportedOp(node.op, 'transpose_a');
  const x = c.tensorInput(node, 0);
  const w = c.constInput(node, 1, 'the second operand');
  if (w.shape.length !== 2) throw new UnsupportedOp(node.op, `weight of rank ${w.shape.length}`);
  let [rows, cols] = w.shape as [number, number];
  let kernel: Float32Array = Float32Array.from(w.data());
  if (a.bool('transpose_b')) {
    kernel = transpose2d(kernel, rows, cols);
    [rows, cols] = [cols, rows];
  }
  const tail: Tail = {};
  let leakyAlpha: number | undefined;
  if (node.op === '_FusedMatMul') {
    const [extra, act] = a.strs('fused_ops');
    if (extra !== 'BiasAdd') throw new UnsupportedOp(node.op, `fused_ops [${a.strs('fused_ops')}]`);
    tail.bias = Float32Array.from(c.constInput(node, 2, 'the bias').data());
    if (act === 'LeakyRelu') leakyAlpha = a.float('leakyrelu_alpha', 0.2);
    else if (act !== undefined) {
      if (!ACTIVATIONS[act]) throw new UnsupportedOp(node.op, `fused activation ${act}`);
      tail.activation = ACTIVATIONS[act];
    }
  }
  const absorbed = leakyAlpha === undefined ? absorbTail(c, node.name, tail, cols, x.t.shape.length) : [];
  if (x.t.shape[x.t.shape.length - 1] !== rows) throw new UnsupportedOp(node.op, `input has ${x.t.shape[x.t.shape.length - 1]} features, weight ${rows} rows`);
  const name = absorbed[absorbed.length - 1] ?? node.name;
  const weights: WeightInit[] = [{ data: kernel, shape: [rows, cols] }];
  if (tail.bias) weights.push({ data: tail.bias, shape: [cols] });
  let y = c.apply(
    tf.layers.dense({ units: cols, useBias: tail.bias !== undefined, activation: (tail.activation ?? 'linear') as 'linear', name: c.layerName(name) }),
    x,
    weights,
  );
  if (leakyAlpha !== undefined) y = c.apply(tf.layers.leakyReLU({ alpha: leakyAlpha, name: c.layerName(name, '_leaky_relu') }), y);
  for (const n of absorbed) c.set(n, y);
  return y;
}
