import * as tf from '@tensorflow/tfjs';
import { attrs, dataInputs, type GraphDefNode } from '../attrs.js';
import type { BuildContext } from '../context.js';
import { UnsupportedOp, staticDims, type ConstValue, type Value } from '../values.js';
import { concatConsts } from './shape.js';

/** MaxPool / AvgPool (NHWC) -> MaxPooling2D / AveragePooling2D. */
export function pool(node: GraphDefNode, c: BuildContext): Value {
  const a = attrs(node);
  if (a.str('data_format', 'NHWC') !== 'NHWC') throw new UnsupportedOp(node.op, `data_format ${a.str('data_format')}`);
  const k = a.ints('ksize');
  const s = a.ints('strides');
  if (k[0] !== 1 || k[3] !== 1 || s[0] !== 1 || s[3] !== 1) throw new UnsupportedOp(node.op, 'pooling over batch or channels');
  const pad = a.str('padding', 'VALID');
  if (pad !== 'SAME' && pad !== 'VALID') throw new UnsupportedOp(node.op, `padding '${pad}'`);
  const args = { poolSize: [k[1]!, k[2]!] as [number, number], strides: [s[1]!, s[2]!] as [number, number], padding: pad === 'SAME' ? ('same' as const) : ('valid' as const), name: c.layerName(node.name) };
  return c.apply(node.op === 'MaxPool' ? tf.layers.maxPooling2d(args) : tf.layers.averagePooling2d(args), c.tensorInput(node, 0));
}

/** Mean / Max over H and W of an NHWC tensor -> GlobalAveragePooling2D / GlobalMaxPooling2D (+ Reshape for keep_dims). */
export function spatialReduce(node: GraphDefNode, c: BuildContext): Value {
  const x = c.tensorInput(node, 0);
  const r = x.t.shape.length;
  const axes = Array.from(c.constInput(node, 1, 'the axes').data(), (v) => (v < 0 ? v + r : v)).sort();
  if (r !== 4 || axes.join() !== '1,2') throw new UnsupportedOp(node.op, `reduction over axes [${axes}] of a rank-${r} tensor (only H,W of NHWC converts)`);
  const name = c.layerName(node.name);
  let y = c.apply(node.op === 'Mean' ? tf.layers.globalAveragePooling2d({ name }) : tf.layers.globalMaxPooling2d({ name }), x);
  if (attrs(node).bool('keep_dims')) y = c.apply(tf.layers.reshape({ targetShape: [1, 1, x.t.shape[3]!], name: c.layerName(node.name, '_keep_dims') }), y);
  return y;
}

/** ConcatV2: Concatenate of tensors along a non-batch axis, or concatenation of constants. */
export function concat(node: GraphDefNode, c: BuildContext): Value {
  const n = dataInputs(node).length - 1;
  const parts = Array.from({ length: n }, (_, i) => c.input(node, i));
  const axis = Number(c.constInput(node, n, 'the axis').data()[0]);
  if (parts.every((p) => p.kind === 'const')) return concatConsts(node, parts as ConstValue[]);
  const xs = parts.map((_, i) => c.tensorInput(node, i));
  const r = xs[0]!.t.shape.length;
  const ax = axis < 0 ? axis + r : axis;
  if (ax === 0) throw new UnsupportedOp(node.op, 'concatenation along the batch axis');
  if (xs.length === 1) return xs[0]!;
  return c.apply(tf.layers.concatenate({ axis: ax, name: c.layerName(node.name) }), xs);
}

/** Pad / PadV2 (zero) of H and W only -> ZeroPadding2D. */
export function pad(node: GraphDefNode, c: BuildContext): Value {
  const x = c.tensorInput(node, 0);
  const p = Array.from(c.constInput(node, 1, 'the paddings').data());
  if (node.op === 'PadV2' && Number(c.constInput(node, 2, 'the pad value').data()[0]) !== 0) throw new UnsupportedOp(node.op, 'non-zero pad value');
  if (x.t.shape.length !== 4 || p.length !== 8 || p[0] || p[1] || p[6] || p[7]) throw new UnsupportedOp(node.op, 'padding other than H and W of an NHWC tensor');
  return c.apply(tf.layers.zeroPadding2d({ padding: [[p[2]!, p[3]!], [p[4]!, p[5]!]], name: c.layerName(node.name) }), x);
}

/** FusedBatchNorm / V2 / V3 in inference mode -> BatchNormalization. */
export function batchNorm(node: GraphDefNode, c: BuildContext): Value {
  const a = attrs(node);
  if (a.bool('is_training')) throw new UnsupportedOp(node.op, 'is_training=true');
  if (a.str('data_format', 'NHWC') !== 'NHWC') throw new UnsupportedOp(node.op, `data_format ${a.str('data_format')}`);
  const x = c.tensorInput(node, 0);
  const [scale, offset, mean, variance] = [1, 2, 3, 4].map((i) => Float32Array.from(c.constInput(node, i, 'batch-norm parameters').data()));
  const ch = scale!.length;
  return c.apply(tf.layers.batchNormalization({ axis: -1, epsilon: a.float('epsilon', 1e-4), name: c.layerName(node.name) }), x, [scale!, offset!, mean!, variance!].map((data) => ({ data, shape: [ch] })));
}

/**
 * ResizeNearestNeighbor / ResizeBilinear to an integer multiple of the input size -> UpSampling2D.
 * UpSampling2D resizes with align_corners=false and half_pixel_centers=false; for nearest
 * upscaling by an integer factor s, half-pixel centres pick floor((i + 0.5) / s) = floor(i / s),
 * the same pixel, so both settings convert. Bilinear converts only without half-pixel centres.
 */
export function resize(node: GraphDefNode, c: BuildContext): Value {
  const a = attrs(node);
  const x = c.tensorInput(node, 0);
  const [h, w] = staticDims(x, node.op);
  const [oh, ow] = Array.from(c.constInput(node, 1, 'the size').data());
  const sh = oh! / h!;
  const sw = ow! / w!;
  if (!Number.isInteger(sh) || !Number.isInteger(sw) || sh < 1 || sw < 1) throw new UnsupportedOp(node.op, `resize [${h},${w}] -> [${oh},${ow}] is not an integer upscale`);
  const nearest = node.op === 'ResizeNearestNeighbor';
  const identityScale = sh === 1 && sw === 1;
  if (a.bool('align_corners') && !identityScale) throw new UnsupportedOp(node.op, 'align_corners=true');
  if (!nearest && a.bool('half_pixel_centers') && !identityScale) throw new UnsupportedOp(node.op, 'half_pixel_centers=true (bilinear)');
  if (identityScale) return x;
  return c.apply(tf.layers.upSampling2d({ size: [sh, sw], interpolation: nearest ? 'nearest' : 'bilinear', name: c.layerName(node.name) }), x);
}

/** GatherV2(constant table, integer ids, axis 0) -> Embedding; records the id range of the model input feeding it. */
export function gather(node: GraphDefNode, c: BuildContext): Value {
  const table = c.constInput(node, 0, 'the table (params)');
  const axis = Number(c.constInput(node, 2, 'the axis').data()[0]);
  if (axis !== 0 || attrs(node).int('batch_dims') !== 0 || table.shape.length !== 2) throw new UnsupportedOp(node.op, 'only row lookups (axis 0, batch_dims 0) in a 2-D constant table convert');
  const ids = c.tensorInput(node, 1);
  const [rows, cols] = table.shape as [number, number];
  // Ids straight from a model input: random parity inputs must stay inside the table.
  if (ids.origin) c.intRanges.set(ids.origin, Math.min(rows, c.intRanges.get(ids.origin) ?? rows));
  return c.apply(tf.layers.embedding({ inputDim: rows, outputDim: cols, name: c.layerName(node.name) }), ids, [{ data: Float32Array.from(table.data()), shape: [rows, cols] }]);
}
