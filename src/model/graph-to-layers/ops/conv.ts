import * as tf from '@tensorflow/tfjs';
import { attrs, type GraphDefNode } from '../attrs.js';
import type { BuildContext, WeightInit } from '../context.js';
import { UnsupportedOp, type TensorValue, type Value } from '../values.js';
import { ACTIVATIONS, absorbTail, type Tail } from './fuse.js';

/** Settings of one 2-D convolution, read from a graph node. */
interface ConvSpec {
  depthwise: boolean;
  kernel: { data: Float32Array; shape: number[] };
  strides: [number, number];
  dilation: [number, number];
  padding: 'same' | 'valid';
  /** Explicit [[top, bottom], [left, right]] zero padding applied before a 'valid' conv. */
  pads?: [[number, number], [number, number]];
  tail: Tail;
  /** fused_ops [FusedBatchNorm, ...]: inference batch norm after the conv (a BatchNormalization layer). */
  bn?: { params: Float32Array[]; epsilon: number };
  /** Activation with a parameter (LeakyRelu): a separate layer after the conv. */
  leakyAlpha?: number;
}

const CONV_OPS = ['Conv2D', '_FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative'];

/** Read strides, dilations, padding, kernel and fused ops of a conv node. */
function readConv(c: BuildContext, node: GraphDefNode): ConvSpec {
  const a = attrs(node);
  if (a.str('data_format', 'NHWC') !== 'NHWC') throw new UnsupportedOp(node.op, `data_format ${a.str('data_format')} (only NHWC converts)`);
  const k = needConst(c, node, 1, 'the filter');
  if (k.shape.length !== 4) throw new UnsupportedOp(node.op, `filter of rank ${k.shape.length}`);
  const s = a.ints('strides', [1, 1, 1, 1]);
  const d = a.ints('dilations', [1, 1, 1, 1]);
  const pad = a.str('padding', 'VALID');
  const spec: ConvSpec = {
    depthwise: node.op.includes('Depthwise'),
    kernel: { data: Float32Array.from(k.data()), shape: k.shape },
    strides: [s[1]!, s[2]!],
    dilation: [d[1]!, d[2]!],
    padding: pad === 'SAME' ? 'same' : 'valid',
    tail: {},
  };
  if (pad === 'EXPLICIT') {
    const e = a.ints('explicit_paddings');
    spec.pads = [[e[2]!, e[3]!], [e[4]!, e[5]!]];
  } else if (pad !== 'SAME' && pad !== 'VALID') throw new UnsupportedOp(node.op, `padding '${pad}'`);
  if (node.op.startsWith('_Fused') || node.op.startsWith('Fused')) {
    const [extra, act] = a.strs('fused_ops');
    if (extra === 'BiasAdd') {
      const b = needConst(c, node, 2, 'the bias');
      spec.tail.bias = Float32Array.from(b.data());
    } else if (extra === 'FusedBatchNorm') {
      const params = [2, 3, 4, 5].map((i) => Float32Array.from(needConst(c, node, i, 'the batch-norm parameters').data()));
      spec.bn = { params, epsilon: a.float('epsilon', 1e-4) };
    } else if (extra !== undefined) throw new UnsupportedOp(node.op, `fused_ops [${a.strs('fused_ops')}]`);
    if (act === 'LeakyRelu') spec.leakyAlpha = a.float('leakyrelu_alpha', 0.2);
    else if (act !== undefined) {
      if (!ACTIVATIONS[act]) throw new UnsupportedOp(node.op, `fused activation ${act}`);
      spec.tail.activation = ACTIVATIONS[act];
    }
  }
  return spec;
}

/**
 * Build ZeroPadding2D (if any) + Conv2D/DepthwiseConv2D, then BatchNormalization (fused
 * FusedBatchNorm) and the activation: in the conv itself, or after the batch norm / as LeakyReLU.
 */
function buildConv(c: BuildContext, name: string, x: TensorValue, spec: ConvSpec): TensorValue {
  const [kh, kw, cin, cout] = spec.kernel.shape as [number, number, number, number];
  if (!spec.depthwise && cin !== x.t.shape[3]) throw new UnsupportedOp('Conv2D', `filter expects ${cin} input channels, input has ${x.t.shape[3]}`);
  let y = x;
  if (spec.pads && spec.pads.flat().some((p) => p !== 0)) {
    y = c.apply(tf.layers.zeroPadding2d({ padding: spec.pads, name: c.layerName(name, '_pad') }), y);
  }
  const act = spec.tail.activation ?? 'linear';
  const common = {
    kernelSize: [kh, kw] as [number, number],
    strides: spec.strides,
    dilationRate: spec.dilation,
    padding: spec.padding,
    useBias: spec.tail.bias !== undefined,
    activation: (spec.bn ? 'linear' : act) as 'linear',
    name: c.layerName(name),
  };
  const weights: WeightInit[] = [{ data: spec.kernel.data, shape: spec.kernel.shape }];
  // tfjs's DepthwiseConv2D layer ignores dilationRate; SeparableConv2D honours it, and an identity
  // pointwise kernel keeps the result exact (x * 1 plus zeros).
  const dilatedDepthwise = spec.depthwise && spec.dilation.some((d) => d !== 1);
  if (dilatedDepthwise) weights.push({ data: identityMatrix(cin * cout), shape: [1, 1, cin * cout, cin * cout] });
  if (spec.tail.bias) weights.push({ data: spec.tail.bias, shape: [spec.tail.bias.length] });
  const layer = dilatedDepthwise
    ? tf.layers.separableConv2d({ ...common, depthMultiplier: cout, filters: cin * cout })
    : spec.depthwise
      ? tf.layers.depthwiseConv2d({ ...common, depthMultiplier: cout })
      : tf.layers.conv2d({ ...common, filters: cout });
  y = c.apply(layer, y, weights);
  if (spec.bn) {
    const ch = spec.bn.params[0]!.length;
    y = c.apply(tf.layers.batchNormalization({ axis: -1, epsilon: spec.bn.epsilon, name: c.layerName(name, '_bn') }), y, spec.bn.params.map((data) => ({ data, shape: [ch] })));
    if (act !== 'linear') y = c.apply(tf.layers.activation({ activation: act as 'relu', name: c.layerName(name, `_${act}`) }), y);
  }
  if (spec.leakyAlpha !== undefined) y = c.apply(tf.layers.leakyReLU({ alpha: spec.leakyAlpha, name: c.layerName(name, '_leaky_relu') }), y);
  return y;
}

/** n x n identity matrix, row-major. */
function identityMatrix(n: number): Float32Array {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
}

/** Output channels of a conv spec. */
const channelsOf = (spec: ConvSpec) => (spec.depthwise ? spec.kernel.shape[2]! * spec.kernel.shape[3]! : spec.kernel.shape[3]!);

/** Conv2D / _FusedConv2D / DepthwiseConv2dNative / FusedDepthwiseConv2dNative, absorbing a following bias add and activation. */
export function conv(node: GraphDefNode, c: BuildContext): Value {
  const spec = readConv(c, node);
  const absorbed = spec.leakyAlpha === undefined && !spec.bn ? absorbTail(c, node.name, spec.tail, channelsOf(spec), 4) : [];
  const y = buildConv(c, absorbed[absorbed.length - 1] ?? node.name, c.tensorInput(node, 0), spec);
  for (const n of absorbed) c.set(n, y);
  return y;
}

/**
 * SpaceToBatchND -> (depthwise) conv (VALID, stride 1) -> BatchToSpaceND, TensorFlow's form of a
 * dilated conv, becomes one conv with dilation = block size. Cropping the result by `crops` equals
 * padding the input less, so the conv sees padding (pad_begin - crop_begin, pad_end - crop_end):
 * 'same' when that is TensorFlow's 'same' padding for the dilated kernel, else explicit zero padding.
 */
export function spaceToBatch(node: GraphDefNode, c: BuildContext): Value {
  const convNode = c.soleConsumer(node.name);
  if (!convNode || !CONV_OPS.includes(convNode.op)) throw new UnsupportedOp(node.op, 'only converts in front of a conv (the dilated-conv pattern)');
  const b2s = c.soleConsumer(convNode.name);
  if (!b2s || b2s.op !== 'BatchToSpaceND') throw new UnsupportedOp(node.op, 'only converts when the conv feeds a BatchToSpaceND');
  const block = Array.from(c.constInput(node, 1, 'block_shape').data());
  const pads = Array.from(c.constInput(node, 2, 'paddings').data());
  const block2 = c.peekConst(b2s, 1);
  const crops = c.peekConst(b2s, 2);
  if (!block2 || !crops || Array.from(block2.data()).join() !== block.join() || block.length !== 2) {
    throw new UnsupportedOp(node.op, 'BatchToSpaceND must undo the same 2-D block shape with constant crops');
  }
  const cr = Array.from(crops.data());
  const spec = readConv(c, convNode);
  if (spec.padding !== 'valid' || spec.pads || spec.strides.some((s) => s !== 1) || spec.dilation.some((d) => d !== 1)) {
    throw new UnsupportedOp(node.op, 'the conv between SpaceToBatchND and BatchToSpaceND must be VALID, stride 1, no dilation');
  }
  const begin = [pads[0]! - cr[0]!, pads[2]! - cr[2]!];
  const end = [pads[1]! - cr[1]!, pads[3]! - cr[3]!];
  if ([...begin, ...end].some((p) => p < 0)) throw new UnsupportedOp(node.op, `crops [${cr}] exceed paddings [${pads}]`);
  spec.dilation = [block[0]!, block[1]!];
  const k = spec.kernel.shape;
  const same = [0, 1].every((i) => {
    const total = (k[i]! - 1) * block[i]!;
    return begin[i] === Math.floor(total / 2) && end[i] === total - Math.floor(total / 2);
  });
  if (same) spec.padding = 'same';
  else spec.pads = [[begin[0]!, end[0]!], [begin[1]!, end[1]!]];
  const absorbed = spec.leakyAlpha === undefined && !spec.bn ? absorbTail(c, b2s.name, spec.tail, channelsOf(spec), 4) : [];
  const y = buildConv(c, convNode.name, c.tensorInput(node, 0), spec);
  for (const n of [convNode.name, b2s.name, ...absorbed]) c.set(n, y);
  return y;
}

/** A constant input, also when its node has not been visited yet (look-ahead reads a later conv). */
function needConst(c: BuildContext, node: GraphDefNode, i: number, what: string) {
  const k = c.peekConst(node, i);
  if (!k) throw new UnsupportedOp(node.op, `${what} must be a constant`);
  return k;
}
