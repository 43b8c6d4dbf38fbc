import { float, int, ints } from '../builder.js';
import type { ConvertContext, OnnxValue, WeightTransform } from '../context.js';
import { registerOnnxConverter, type ConverterArgs } from '../registry.js';
import { sizeOf, transpose } from '../tensor-util.js';
import { applyActivation, clip } from './activations.js';

/** "layer 'dense_1' (Dense)": how errors name a layer. */
export function desc(layer: { name: string; getClassName(): string }): string {
  return `layer '${layer.name}' (${layer.getClassName()})`;
}

/** Static output shape of a call, checked to have a known size beyond the batch axis. */
export function staticShape(a: ConverterArgs, i = 0): (number | null)[] {
  const s = a.outputShapes[i];
  if (!s) throw new Error(`${desc(a.layer)}: missing output shape ${i}`);
  return s;
}

/** Output value in tfjs layout. */
function tfOut(ctx: ConvertContext, op: string, inputs: string[], attrs: Parameters<ConvertContext['op']>[2], name: string, shape: (number | null)[], dtype: OnnxValue['dtype'] = 'float32'): OnnxValue {
  return ctx.op(op, inputs, attrs, name, { shape, layout: 'tf', dtype });
}

/** Rows of a Dense kernel reordered to match a channels-first Flatten of `src`. */
function flattenRowTransform(src: OnnxValue): WeightTransform {
  const dims = src.shape.slice(1) as number[];
  const k = dims.length;
  const arange = Float32Array.from({ length: sizeOf(dims) }, (_, i) => i);
  // rowOrder[j] = tfjs-order row feeding channels-first position j.
  const rowOrder = transpose(arange, dims, [k - 1, ...Array.from({ length: k - 1 }, (_, i) => i)]).data;
  return {
    key: `flatrows:${dims.join('x')}`,
    fn: (d, s) => {
      const cols = s[1]!;
      const out = new Float32Array(d.length);
      for (let j = 0; j < rowOrder.length; j++) out.set(d.subarray(rowOrder[j]! * cols, (rowOrder[j]! + 1) * cols), j * cols);
      return { data: out, shape: s };
    },
  };
}

function dense(a: ConverterArgs): OnnxValue {
  const { layer, ctx, config } = a;
  const x0 = a.inputs[0]!;
  const viaRows = x0.layout === 'cf' && x0.flatOf !== undefined;
  const x = viaRows ? x0 : ctx.toLayout(x0, 'tf');
  const w = ctx.weight(layer, 'kernel');
  const kernel = ctx.kernel(w, { name: `${layer.name}/kernel`, tfAxis: 1, onnxAxis: 1, transform: viaRows ? flattenRowTransform(x0.flatOf!) : undefined });
  const bias = ctx.hasWeight(layer, 'bias') ? ctx.paramOf(ctx.weight(layer, 'bias'), `${layer.name}/bias`) : undefined;
  const shape = staticShape(a);
  let y: OnnxValue;
  if (x.shape.length === 2) {
    y = tfOut(ctx, 'Gemm', bias ? [x.name, kernel, bias] : [x.name, kernel], {}, `${layer.name}/gemm`, shape);
  } else {
    y = tfOut(ctx, 'MatMul', [x.name, kernel], {}, `${layer.name}/matmul`, shape);
    if (bias) y = tfOut(ctx, 'Add', [y.name, bias], {}, `${layer.name}/bias_add`, shape);
  }
  return applyActivation(ctx, y, config.activation, `${layer.name}/${config.activation ?? 'linear'}`, desc(layer));
}

function flatten(a: ConverterArgs): OnnxValue {
  const x = a.inputs[0]!;
  const shape = staticShape(a);
  if (x.shape.length === 2) return x;
  if (x.layout === 'cf') {
    // Flatten in channels-first order; Dense fixes the order for free, others get tfjs order on demand.
    const y = a.ctx.op('Flatten', [x.name], { axis: int(1) }, `${a.layer.name}/flatten_nchw`, { shape, layout: 'cf', dtype: x.dtype, flatOf: x });
    return { ...y, flatDirect: true };
  }
  return tfOut(a.ctx, 'Flatten', [x.name], { axis: int(1) }, a.layer.name, shape, x.dtype);
}

function reshape(a: ConverterArgs): OnnxValue {
  const shape = staticShape(a);
  // A no-op reshape (common as a model's first layer) must not force a layout change.
  if (a.inputs[0]!.shape.join() === shape.join()) return a.inputs[0]!;
  const x = a.ctx.toLayout(a.inputs[0]!, 'tf');
  const target = shape.slice(1).some((d) => d == null) ? (a.config.targetShape as number[]) : (shape.slice(1) as number[]);
  const c = a.ctx.b.constInt64([0, ...target], `${a.layer.name}/shape`);
  return tfOut(a.ctx, 'Reshape', [x.name, c], {}, a.layer.name, shape, x.dtype);
}

function permute(a: ConverterArgs): OnnxValue {
  const x = a.ctx.toLayout(a.inputs[0]!, 'tf');
  const dims = a.config.dims as number[];
  return tfOut(a.ctx, 'Transpose', [x.name], { perm: ints([0, ...dims]) }, a.layer.name, staticShape(a), x.dtype);
}

function embedding(a: ConverterArgs): OnnxValue {
  const { ctx, layer } = a;
  // The mask makes the next layers (an RNN) skip padded steps; ONNX has no such side channel.
  if (a.config.maskZero) throw new Error(`${desc(layer)}: mask_zero=true cannot be exported (ONNX has no Keras masks, so the layers after it would compute differently)`);
  let idx = ctx.toLayout(a.inputs[0]!, 'tf');
  // tfjs casts float indices to int32 (truncation); Cast to int64 truncates the same way.
  if (idx.dtype !== 'int64') idx = tfOut(ctx, 'Cast', [idx.name], { to: int(7) }, `${layer.name}/indices`, idx.shape, 'int64');
  const table = ctx.kernel(ctx.weight(layer, 'embeddings'), { name: `${layer.name}/embeddings`, tfAxis: 0, onnxAxis: 0 });
  return tfOut(ctx, 'Gather', [table, idx.name], { axis: int(0) }, layer.name, staticShape(a));
}

function layerNorm(a: ConverterArgs): OnnxValue {
  const { ctx, layer, config } = a;
  const x = ctx.toLayout(a.inputs[0]!, 'tf');
  const r = x.shape.length;
  const axes = ([] as number[]).concat(config.axis as number | number[]).map((v) => (v < 0 ? v + r : v)).sort((p, q) => p - q);
  if (axes.some((v, i) => v !== r - axes.length + i)) {
    throw new Error(`${desc(layer)}: only trailing normalisation axes can be exported (got axis ${JSON.stringify(config.axis)} for rank ${r})`);
  }
  const eps = config.epsilon as number;
  const pShape = axes.map((v) => x.shape[v] as number);
  const n = sizeOf(pShape);
  const gamma = ctx.hasWeight(layer, 'gamma') ? ctx.weight(layer, 'gamma').data : new Float32Array(n).fill(1);
  const g = ctx.param(`${layer.name}/gamma`, gamma, pShape);
  const beta = ctx.hasWeight(layer, 'beta') ? ctx.param(`${layer.name}/beta`, ctx.weight(layer, 'beta').data, pShape) : undefined;
  const like = { shape: x.shape, layout: 'tf' as const, dtype: x.dtype };
  if (ctx.opset >= 17) {
    return ctx.op('LayerNormalization', beta ? [x.name, g, beta] : [x.name, g], { axis: int(axes[0]!), epsilon: float(eps) }, layer.name, like);
  }
  // Opset < 17 has no LayerNormalization: same maths as tfjs (x - mean) * rsqrt(var + eps) * gamma + beta.
  const n1 = layer.name;
  const mean = ctx.op('ReduceMean', [x.name], { axes: ints(axes), keepdims: int(1) }, `${n1}/mean`, like);
  const d = ctx.op('Sub', [x.name, mean.name], {}, `${n1}/centered`, like);
  const v = ctx.op('ReduceMean', [ctx.op('Mul', [d.name, d.name], {}, `${n1}/sq`, like).name], { axes: ints(axes), keepdims: int(1) }, `${n1}/var`, like);
  const std = ctx.op('Sqrt', [ctx.op('Add', [v.name, ctx.b.constFloat([eps], [])], {}, `${n1}/var_eps`, like).name], {}, `${n1}/std`, like);
  let y = ctx.op('Mul', [ctx.op('Div', [d.name, std.name], {}, `${n1}/normed`, like).name, g], {}, `${n1}/scaled`, like);
  if (beta) y = ctx.op('Add', [y.name, beta], {}, `${n1}/shifted`, like);
  return y;
}

/** Layers that are the identity at inference time. */
const identity = (a: ConverterArgs) => a.inputs[0]!;

registerOnnxConverter('Dense', dense);
registerOnnxConverter('Flatten', flatten);
registerOnnxConverter('Reshape', reshape);
registerOnnxConverter('Permute', permute);
registerOnnxConverter('Embedding', embedding);
registerOnnxConverter('LayerNormalization', layerNorm);
for (const c of ['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']) {
  registerOnnxConverter(c, identity);
}
registerOnnxConverter('Activation', (a) => applyActivation(a.ctx, a.inputs[0]!, a.config.activation, a.layer.name, desc(a.layer)));
registerOnnxConverter('ReLU', (a) => {
  const x = a.inputs[0]!;
  const max = a.config.maxValue as number | null | undefined;
  return max == null ? a.ctx.op('Relu', [x.name], {}, a.layer.name, x) : clip(a.ctx, x, 0, max, a.layer.name);
});
registerOnnxConverter('LeakyReLU', (a) => a.ctx.op('LeakyRelu', [a.inputs[0]!.name], { alpha: float(a.config.alpha as number) }, a.layer.name, a.inputs[0]!));
registerOnnxConverter('ELU', (a) => a.ctx.op('Elu', [a.inputs[0]!.name], { alpha: float(a.config.alpha as number) }, a.layer.name, a.inputs[0]!));
registerOnnxConverter('ThresholdedReLU', (a) =>
  a.ctx.op('ThresholdedRelu', [a.inputs[0]!.name], { alpha: float(a.config.theta as number) }, a.layer.name, a.inputs[0]!),
);
registerOnnxConverter('Softmax', (a) => {
  const x = a.inputs[0]!;
  const axis = a.config.axis as number;
  if (Array.isArray(axis)) throw new Error(`${desc(a.layer)}: multi-axis softmax cannot be exported`);
  const v = axis === -1 || axis === x.shape.length - 1 ? x : a.ctx.toLayout(x, 'tf');
  return a.ctx.op('Softmax', [v.name], { axis: int(a.ctx.axis(v, axis)) }, a.layer.name, v);
});
registerOnnxConverter('Rescaling', (a) => {
  let x = a.inputs[0]!;
  // tfjs casts non-float inputs to float32 first (a graph model's int -> float Cast becomes a Rescaling).
  if (x.dtype !== 'float32') x = a.ctx.op('Cast', [x.name], { to: int(1) }, `${a.layer.name}/to_float`, { ...x, dtype: 'float32' });
  const m = a.ctx.op('Mul', [x.name, a.ctx.b.constFloat([a.config.scale as number], [])], {}, `${a.layer.name}/scale`, x);
  return a.ctx.op('Add', [m.name, a.ctx.b.constFloat([(a.config.offset as number) ?? 0], [])], {}, a.layer.name, x);
});
registerOnnxConverter('PReLU', (a) => {
  const { ctx, layer } = a;
  // alpha is per feature: a channels-first flattened input must first get tfjs order back.
  const x = a.inputs[0]!.flatOf ? ctx.toLayout(a.inputs[0]!, 'tf') : a.inputs[0]!;
  const w = ctx.weight(layer, 'alpha');
  const r = x.shape.length;
  // alpha has the input shape without batch; channels-first input needs it channels-first too.
  const s = x.layout === 'cf' && r >= 3 ? transpose(w.data, w.shape, [r - 2, ...Array.from({ length: r - 2 }, (_, i) => i)]) : w;
  return ctx.op('PRelu', [x.name, ctx.param(`${layer.name}/alpha`, s.data, s.shape)], {}, layer.name, x);
});
