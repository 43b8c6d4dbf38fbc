import { int, ints } from '../builder.js';
import { permuteWeight, type OnnxValue, type WeightTransform } from '../context.js';
import { registerOnnxConverter, type ConverterArgs } from '../registry.js';
import { transpose } from '../tensor-util.js';
import { applyActivation } from './activations.js';
import { desc, staticShape } from './core.js';

/** A number-or-array config entry as an array of length `n`. */
export function arr(v: unknown, n: number): number[] {
  if (v == null) return new Array<number>(n).fill(1);
  const a = Array.isArray(v) ? (v as number[]) : [v as number];
  return a.length === n ? a : new Array<number>(n).fill(a[0]!);
}

/** Static spatial sizes of a channels-last tfjs shape; convs need them to compute tfjs's padding. */
export function spatialDims(a: ConverterArgs, x: OnnxValue): number[] {
  const s = x.shape.slice(1, -1);
  if (s.some((d) => d == null)) throw new Error(`${desc(a.layer)}: spatial input dims must be static, got [${x.shape}]`);
  return s as number[];
}

/** Refuse channels-first tfjs layers (their data is already NCHW in tfjs; not supported yet). */
export function requireChannelsLast(a: ConverterArgs): void {
  if (a.config.dataFormat === 'channelsFirst') throw new Error(`${desc(a.layer)}: dataFormat 'channelsFirst' cannot be exported to ONNX yet`);
}

/**
 * Explicit ONNX pads [begin..., end...] reproducing tfjs padding. 'same' puts the odd pixel at the
 * end (as TensorFlow does), which is why auto_pad is never used.
 */
export function tfPads(input: number[], k: number[], s: number[], d: number[], padding: string): number[] {
  const begin: number[] = [];
  const end: number[] = [];
  input.forEach((n, i) => {
    const eff = (k[i]! - 1) * d[i]! + 1;
    let total = 0;
    if (padding === 'same') total = Math.max((Math.ceil(n / s[i]!) - 1) * s[i]! + eff - n, 0);
    // 'causal' is refused too: tfjs 4.22 cannot run it, so no export could be verified.
    else if (padding !== 'valid') throw new Error(`padding '${padding}' cannot be exported (supported: same, valid)`);
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
  });
  return [...begin, ...end];
}

function bias(a: ConverterArgs, n: number): string[] {
  if (!a.ctx.hasWeight(a.layer, 'bias')) return [];
  const w = a.ctx.weight(a.layer, 'bias');
  if (w.data.length !== n) throw new Error(`${desc(a.layer)}: bias has ${w.data.length} values, expected ${n}`);
  return [a.ctx.paramOf(w, `${a.layer.name}/bias`)];
}

function finish(a: ConverterArgs, y: OnnxValue): OnnxValue {
  return applyActivation(a.ctx, y, a.config.activation, `${a.layer.name}/${a.config.activation ?? 'linear'}`, desc(a.layer));
}

/** Conv1D / Conv2D: tfjs kernel [k..., in, out] -> ONNX [out, in, k...]. */
function conv(a: ConverterArgs): OnnxValue {
  requireChannelsLast(a);
  const { ctx, layer, config } = a;
  const x = ctx.toLayout(a.inputs[0]!, 'cf');
  const sp = spatialDims(a, x);
  const n = sp.length;
  const w = ctx.weight(layer, 'kernel');
  const perm = [n + 1, n, ...Array.from({ length: n }, (_, i) => i)];
  const k = ctx.kernel(w, { name: `${layer.name}/kernel`, tfAxis: n + 1, onnxAxis: 0, transform: permuteWeight(perm) });
  const ks = w.shape.slice(0, n);
  const st = arr(config.strides, n);
  const dl = arr(config.dilationRate, n);
  const y = ctx.op(
    'Conv',
    [x.name, k, ...bias(a, w.shape[n + 1]!)],
    { kernel_shape: ints(ks), strides: ints(st), dilations: ints(dl), pads: ints(tfPads(sp, ks, st, dl, config.padding as string)) },
    layer.name,
    { shape: staticShape(a), layout: 'cf', dtype: 'float32' },
  );
  return finish(a, y);
}

/** Depthwise kernel [kh, kw, C, m] -> grouped-conv weight [C*m, 1, kh, kw] (channel c*m+j, as tfjs orders). */
const depthwiseTransform: WeightTransform = {
  key: 'depthwise',
  fn: (d, s) => {
    const t = transpose(d, s, [2, 3, 0, 1]);
    return { data: t.data, shape: [s[2]! * s[3]!, 1, s[0]!, s[1]!] };
  },
};

function depthwise(a: ConverterArgs, x: OnnxValue, withBias: boolean, shape: (number | null)[], name: string, dilated = true): OnnxValue {
  const { ctx, layer, config } = a;
  const sp = spatialDims(a, x);
  const w = ctx.weight(layer, 'depthwise_kernel');
  const k = ctx.kernel(w, { name: `${layer.name}/depthwise_kernel`, tfAxis: 2, onnxAxis: 0, transform: depthwiseTransform });
  const ks = w.shape.slice(0, 2);
  const st = arr(config.strides, 2);
  const dl = dilated ? arr(config.dilationRate, 2) : [1, 1];
  return ctx.op(
    'Conv',
    [x.name, k, ...(withBias ? bias(a, w.shape[2]! * w.shape[3]!) : [])],
    { group: int(w.shape[2]!), kernel_shape: ints(ks), strides: ints(st), dilations: ints(dl), pads: ints(tfPads(sp, ks, st, dl, config.padding as string)) },
    name,
    { shape, layout: 'cf', dtype: 'float32' },
  );
}

registerOnnxConverter('Conv1D', conv);
registerOnnxConverter('Conv2D', conv);

registerOnnxConverter('DepthwiseConv2D', (a) => {
  requireChannelsLast(a);
  // tfjs 4.22's DepthwiseConv2D layer ignores dilationRate (SeparableConv2D honours it): export what tfjs computes.
  return finish(a, depthwise(a, a.ctx.toLayout(a.inputs[0]!, 'cf'), true, staticShape(a), a.layer.name, false));
});

registerOnnxConverter('SeparableConv2D', (a) => {
  requireChannelsLast(a);
  const { ctx, layer } = a;
  const x = ctx.toLayout(a.inputs[0]!, 'cf');
  const dwShape = [...staticShape(a).slice(0, -1), null];
  const dw = depthwise(a, x, false, dwShape, `${layer.name}/depthwise`);
  const pw = ctx.weight(layer, 'pointwise_kernel');
  const k = ctx.kernel(pw, { name: `${layer.name}/pointwise_kernel`, tfAxis: 3, onnxAxis: 0, transform: permuteWeight([3, 2, 0, 1]) });
  const y = ctx.op('Conv', [dw.name, k, ...bias(a, pw.shape[3]!)], { kernel_shape: ints([1, 1]) }, `${layer.name}/pointwise`, {
    shape: staticShape(a),
    layout: 'cf',
    dtype: 'float32',
  });
  return finish(a, y);
});

registerOnnxConverter('Conv2DTranspose', (a) => {
  requireChannelsLast(a);
  const { ctx, layer, config } = a;
  const x = ctx.toLayout(a.inputs[0]!, 'cf');
  const sp = spatialDims(a, x);
  const out = staticShape(a).slice(1, -1) as number[];
  if (arr(config.dilationRate, 2).some((d) => d !== 1)) throw new Error(`${desc(layer)}: dilated Conv2DTranspose cannot be exported`);
  // tfjs kernel [kh, kw, out, in] -> ONNX ConvTranspose weight [in, out, kh, kw].
  const w = ctx.weight(layer, 'kernel');
  const k = ctx.kernel(w, { name: `${layer.name}/kernel`, tfAxis: 2, onnxAxis: 1, transform: permuteWeight([3, 2, 0, 1]) });
  const ks = w.shape.slice(0, 2);
  const st = arr(config.strides, 2);
  // tfjs runs the gradient of a forward conv from `out` to `in`: reuse that conv's pads, then
  // output_padding supplies the trailing rows ONNX would otherwise not produce.
  const pads = tfPads(out, ks, st, [1, 1], config.padding as string);
  const outPad = out.map((o, i) => o - (st[i]! * (sp[i]! - 1) + ks[i]! - pads[i]! - pads[i + 2]!));
  if (outPad.some((p, i) => p < 0 || p >= st[i]!)) throw new Error(`${desc(layer)}: cannot express tfjs output size [${out}] with ONNX ConvTranspose`);
  const y = ctx.op(
    'ConvTranspose',
    [x.name, k, ...bias(a, w.shape[2]!)],
    { kernel_shape: ints(ks), strides: ints(st), pads: ints(pads), output_padding: ints(outPad) },
    layer.name,
    { shape: staticShape(a), layout: 'cf', dtype: 'float32' },
  );
  return finish(a, y);
});
