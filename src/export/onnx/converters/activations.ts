import { float, int } from '../builder.js';
import type { ConvertContext, OnnxValue } from '../context.js';

type ActFn = (ctx: ConvertContext, x: OnnxValue, name: string) => OnnxValue;

/** Elementwise op on x: output keeps x's shape and layout. */
function unary(op: string, attrs: Parameters<ConvertContext['op']>[2] = {}): ActFn {
  return (ctx, x, name) => ctx.op(op, [x.name], attrs, name, x);
}

/** Clip(x, lo, hi): used for relu6 and ReLU(maxValue). */
export function clip(ctx: ConvertContext, x: OnnxValue, lo: number, hi: number, name: string): OnnxValue {
  const l = ctx.b.constFloat([lo], [], 'clip_min');
  const h = ctx.b.constFloat([hi], [], 'clip_max');
  return ctx.op('Clip', [x.name, l, h], {}, name, x);
}

function mul(ctx: ConvertContext, a: OnnxValue, b: string, name: string): OnnxValue {
  return ctx.op('Mul', [a.name, b], {}, name, a);
}

const acts: Record<string, ActFn> = {
  linear: (_ctx, x) => x,
  relu: unary('Relu'),
  relu6: (ctx, x, name) => clip(ctx, x, 0, 6, name),
  elu: unary('Elu', { alpha: float(1) }),
  // tfjs uses the exact SELU constants; ONNX stores them as float32 anyway.
  selu: unary('Selu', { alpha: float(1.6732632423543772), gamma: float(1.0507009873554805) }),
  sigmoid: unary('Sigmoid'),
  hardSigmoid: unary('HardSigmoid', { alpha: float(0.2), beta: float(0.5) }),
  tanh: unary('Tanh'),
  softplus: unary('Softplus'),
  softsign: unary('Softsign'),
  // Softmax over the last tfjs axis: physical axis 1 when channels-first (a flattened value's order
  // does not matter for a softmax over all of it).
  softmax: (ctx, x, name) => ctx.op('Softmax', [x.name], { axis: int(ctx.axis(x, -1)) }, name, x),
  logSoftmax: (ctx, x, name) => ctx.op('LogSoftmax', [x.name], { axis: int(ctx.axis(x, -1)) }, name, x),
  swish: (ctx, x, name) => mul(ctx, x, ctx.op('Sigmoid', [x.name], {}, `${name}/sigmoid`, x).name, name),
  mish: (ctx, x, name) => {
    const sp = ctx.op('Softplus', [x.name], {}, `${name}/softplus`, x);
    return mul(ctx, x, ctx.op('Tanh', [sp.name], {}, `${name}/tanh`, x).name, name);
  },
  // gelu: x * 0.5 * (1 + erf(x / sqrt(2))), as tfjs computes it.
  gelu: (ctx, x, name) => {
    const e = ctx.op('Erf', [ctx.op('Div', [x.name, ctx.b.constFloat([Math.SQRT2], [])], {}, `${name}/div`, x).name], {}, `${name}/erf`, x);
    const p = ctx.op('Add', [e.name, ctx.b.constFloat([1], [])], {}, `${name}/add`, x);
    const h = mul(ctx, p, ctx.b.constFloat([0.5], []), `${name}/half`);
    return mul(ctx, x, h.name, name);
  },
  // gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
  gelu_new: (ctx, x, name) => {
    const x3 = ctx.op('Mul', [ctx.op('Mul', [x.name, x.name], {}, `${name}/x2`, x).name, x.name], {}, `${name}/x3`, x);
    const inner = ctx.op('Add', [x.name, mul(ctx, x3, ctx.b.constFloat([0.044715], []), `${name}/c`).name], {}, `${name}/inner`, x);
    const t = ctx.op('Tanh', [mul(ctx, inner, ctx.b.constFloat([Math.sqrt(2 / Math.PI)], []), `${name}/s`).name], {}, `${name}/tanh`, x);
    const p = ctx.op('Add', [t.name, ctx.b.constFloat([1], [])], {}, `${name}/add`, x);
    return mul(ctx, mul(ctx, x, p.name, `${name}/xp`), ctx.b.constFloat([0.5], []), name);
  },
};

/** Activation names (tfjs serialised form) the exporter understands. */
export function supportedActivations(): string[] {
  return Object.keys(acts);
}

/** Apply a tfjs activation by its serialised name ('relu', 'hardSigmoid', ...). */
export function applyActivation(ctx: ConvertContext, x: OnnxValue, activation: unknown, name: string, layerDesc: string): OnnxValue {
  const key = activation == null ? 'linear' : String(activation);
  const fn = acts[key];
  if (!fn) throw new Error(`${layerDesc}: activation '${key}' cannot be exported to ONNX (supported: ${supportedActivations().join(', ')})`);
  return fn(ctx, x, name);
}
