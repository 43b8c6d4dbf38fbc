import { float, int, str } from '../builder.js';
import type { ConvertContext, OnnxValue } from '../context.js';
import { registerOnnxConverter, type ConverterArgs } from '../registry.js';
import { arr, requireChannelsLast } from './conv.js';
import { desc, staticShape } from './core.js';

/**
 * Bring merge inputs to one layout. Equal-rank inputs that are all channels-first stay so (a
 * residual Add inside a conv net needs no Transpose); flattened channels-first values only mix if
 * they come from identically shaped tensors (same element order).
 */
function unify(ctx: ConvertContext, xs: OnnxValue[], allowFlat: boolean): OnnxValue[] {
  const r = xs[0]!.shape.length;
  if (xs.some((x) => x.shape.length !== r)) return xs.map((x) => ctx.toLayout(x, 'tf'));
  if (r >= 3) return xs.some((x) => x.layout === 'cf') ? xs.map((x) => ctx.toLayout(x, 'cf')) : xs;
  const flatKey = (x: OnnxValue) => (x.layout === 'cf' && x.flatOf ? x.flatOf.shape.join('x') : '');
  const k0 = flatKey(xs[0]!);
  if (allowFlat && k0 && xs.every((x) => flatKey(x) === k0)) return xs;
  return xs.map((x) => ctx.toLayout(x, 'tf'));
}

function like(a: ConverterArgs, x: OnnxValue): Omit<OnnxValue, 'name'> {
  return { shape: staticShape(a), layout: x.layout, dtype: x.dtype, flatOf: x.flatOf };
}

function variadic(op: 'Sum' | 'Mean' | 'Max' | 'Min') {
  return (a: ConverterArgs) => {
    const xs = unify(a.ctx, a.inputs, true);
    return a.ctx.op(op, xs.map((x) => x.name), {}, a.layer.name, like(a, xs[0]!));
  };
}

registerOnnxConverter('Add', variadic('Sum'));
registerOnnxConverter('Average', variadic('Mean'));
registerOnnxConverter('Maximum', variadic('Max'));
registerOnnxConverter('Minimum', variadic('Min'));
registerOnnxConverter('Multiply', (a) => {
  const xs = unify(a.ctx, a.inputs, true);
  let y = xs[0]!;
  for (let i = 1; i < xs.length; i++) y = a.ctx.op('Mul', [y.name, xs[i]!.name], {}, i === xs.length - 1 ? a.layer.name : `${a.layer.name}/mul_${i}`, like(a, xs[0]!));
  return y;
});
registerOnnxConverter('Subtract', (a) => {
  if (a.inputs.length !== 2) throw new Error(`${desc(a.layer)}: Subtract needs exactly 2 inputs, got ${a.inputs.length}`);
  const [p, q] = unify(a.ctx, a.inputs, true) as [OnnxValue, OnnxValue];
  return a.ctx.op('Sub', [p.name, q.name], {}, a.layer.name, like(a, p));
});
registerOnnxConverter('Concatenate', (a) => {
  const xs = unify(a.ctx, a.inputs, false);
  const axis = a.ctx.axis(xs[0]!, (a.config.axis as number | undefined) ?? -1);
  return a.ctx.op('Concat', xs.map((x) => x.name), { axis: int(axis) }, a.layer.name, { ...like(a, xs[0]!), flatOf: undefined });
});

/** [[top, bottom], [left, right]] from a tfjs padding/cropping config. */
function pairs(v: unknown): [[number, number], [number, number]] {
  if (typeof v === 'number') return [[v, v], [v, v]];
  const [h, w] = v as [number | number[], number | number[]];
  const p = (x: number | number[]): [number, number] => (Array.isArray(x) ? [x[0]!, x[1] ?? x[0]!] : [x, x]);
  return [p(h), p(w)];
}

// Padding, cropping and upsampling work in either layout: only the axis numbers change.
registerOnnxConverter('ZeroPadding2D', (a) => {
  requireChannelsLast(a);
  const x = a.inputs[0]!;
  const [[t, b], [l, r]] = pairs(a.config.padding);
  const pads = new Array<number>(8).fill(0);
  const h = a.ctx.axis(x, 1);
  const w = a.ctx.axis(x, 2);
  pads[h] = t;
  pads[w] = l;
  pads[h + 4] = b;
  pads[w + 4] = r;
  return a.ctx.op('Pad', [x.name, a.ctx.b.constInt64(pads, `${a.layer.name}/pads`)], { mode: str('constant') }, a.layer.name, like(a, x));
});
registerOnnxConverter('Cropping2D', (a) => {
  requireChannelsLast(a);
  const x = a.inputs[0]!;
  const [[t, b], [l, r]] = pairs(a.config.cropping);
  const [hh, ww] = x.shape.slice(1, 3) as [number, number];
  const b64 = a.ctx.b;
  return a.ctx.op(
    'Slice',
    [x.name, b64.constInt64([t, l]), b64.constInt64([hh - b, ww - r]), b64.constInt64([a.ctx.axis(x, 1), a.ctx.axis(x, 2)])],
    {},
    a.layer.name,
    like(a, x),
  );
});
registerOnnxConverter('UpSampling2D', (a) => {
  requireChannelsLast(a);
  const x = a.ctx.toLayout(a.inputs[0]!, 'cf');
  const [sh, sw] = arr(a.config.size, 2);
  const interp = (a.config.interpolation as string | undefined) ?? 'nearest';
  if (interp !== 'nearest' && interp !== 'bilinear') throw new Error(`${desc(a.layer)}: interpolation '${interp}' cannot be exported`);
  // tfjs resizes with alignCorners=false, halfPixelCenters=false: ONNX 'asymmetric'.
  const scales = a.ctx.b.constFloat([1, 1, sh!, sw!], [4], `${a.layer.name}/scales`);
  return a.ctx.op(
    'Resize',
    [x.name, '', scales],
    {
      mode: str(interp === 'nearest' ? 'nearest' : 'linear'),
      coordinate_transformation_mode: str('asymmetric'),
      nearest_mode: str('floor'),
    },
    a.layer.name,
    { shape: staticShape(a), layout: 'cf', dtype: 'float32' },
  );
});

/** BatchNormalization: the ONNX op when channels sit on axis 1, else folded into Mul + Add. */
registerOnnxConverter('BatchNormalization', (a) => {
  const { ctx, layer, config } = a;
  let x = a.inputs[0]!;
  const r = x.shape.length;
  // Keras-written models store the axis as a list (`axis: [3]`); tfjs itself writes a number.
  const axes = ([] as number[]).concat(config.axis as number | number[]);
  if (axes.length !== 1) throw new Error(`${desc(layer)}: normalisation over axes ${JSON.stringify(config.axis)} cannot be exported (one axis only)`);
  const axis = (axes[0]! + r) % r;
  const eps = config.epsilon as number;
  const mean = ctx.weight(layer, 'moving_mean').data;
  const variance = ctx.weight(layer, 'moving_variance').data;
  const c = mean.length;
  const gamma = ctx.hasWeight(layer, 'gamma') ? ctx.weight(layer, 'gamma').data : new Float32Array(c).fill(1);
  const beta = ctx.hasWeight(layer, 'beta') ? ctx.weight(layer, 'beta').data : new Float32Array(c);
  if (r === 2 && x.flatOf) x = ctx.toLayout(x, 'tf');
  if (axis === r - 1 && (r === 2 || x.layout === 'cf')) {
    const p = (n: string, d: Float32Array) => ctx.param(`${layer.name}/${n}`, d, [c]);
    return ctx.op(
      'BatchNormalization',
      [x.name, p('gamma', gamma), p('beta', beta), p('moving_mean', mean), p('moving_variance', variance)],
      { epsilon: float(eps) },
      layer.name,
      { ...x, shape: staticShape(a) },
    );
  }
  x = ctx.toLayout(x, 'tf');
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    scale[i] = gamma[i]! / Math.sqrt(variance[i]! + eps);
    shift[i] = beta[i]! - mean[i]! * scale[i]!;
  }
  const dims = Array.from({ length: r - 1 }, (_, i) => (i + 1 === axis ? c : 1));
  const m = ctx.op('Mul', [x.name, ctx.param(`${layer.name}/scale`, scale, dims)], {}, `${layer.name}/scale`, x);
  return ctx.op('Add', [m.name, ctx.param(`${layer.name}/shift`, shift, dims)], {}, layer.name, x);
});

