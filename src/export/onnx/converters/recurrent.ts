import { floats, int, ints, str, strs, type Attr } from '../builder.js';
import type { ConvertContext, OnnxValue, WeightTransform } from '../context.js';
import { registerOnnxConverter, type ConverterArgs } from '../registry.js';
import { transpose } from '../tensor-util.js';
import { desc, staticShape } from './core.js';

/*
 * Keras recurrent layers as the ONNX LSTM / GRU / RNN ops (opset 13 forms: time-major, one
 * direction). tfjs computes GRU with the reset gate applied before the recurrent matmul
 * (`reset_after` false), which is ONNX's linear_before_reset = 0, and has no recurrent bias.
 */

interface RecurrentKind {
  op: 'LSTM' | 'GRU' | 'RNN';
  gates: number;
  /** ONNX gate block i comes from Keras gate block order[i]. */
  order: number[];
  /** ONNX activation slots, as tfjs config keys (LSTM: f, g, h; GRU: f, g; RNN: f). */
  activations: ('recurrentActivation' | 'activation')[];
  states: number;
}

const KINDS: Record<string, RecurrentKind> = {
  // Keras LSTM gates are i, f, c, o; ONNX wants i, o, f, c.
  LSTM: { op: 'LSTM', gates: 4, order: [0, 3, 1, 2], activations: ['recurrentActivation', 'activation', 'activation'], states: 2 },
  // Keras and ONNX GRU gates are both z, r, h.
  GRU: { op: 'GRU', gates: 3, order: [0, 1, 2], activations: ['recurrentActivation', 'activation'], states: 1 },
  SimpleRNN: { op: 'RNN', gates: 1, order: [0], activations: ['activation'], states: 1 },
};

/** tfjs activation name -> ONNX recurrent activation name with its alpha/beta (tfjs's constants). */
const RNN_ACTIVATIONS: Record<string, { name: string; alpha?: number; beta?: number }> = {
  tanh: { name: 'Tanh' },
  sigmoid: { name: 'Sigmoid' },
  // tfjs (like Keras 2) computes hard_sigmoid as clip(0.2 x + 0.5, 0, 1), ONNX HardSigmoid's form.
  hardSigmoid: { name: 'HardSigmoid', alpha: 0.2, beta: 0.5 },
  relu: { name: 'Relu' },
  linear: { name: 'Affine', alpha: 1, beta: 0 },
  softsign: { name: 'Softsign' },
  softplus: { name: 'Softplus' },
  elu: { name: 'Elu', alpha: 1 },
};

/** The activations / activation_alpha / activation_beta attributes (alpha and beta are consumed in order by the functions that take them). */
function activationAttrs(a: ConverterArgs, kind: RecurrentKind): Record<string, Attr> {
  const names: string[] = [];
  const alphas: number[] = [];
  const betas: number[] = [];
  for (const key of kind.activations) {
    const tfName = String(a.config[key] ?? 'linear');
    const act = RNN_ACTIVATIONS[tfName];
    if (!act) {
      throw new Error(`${desc(a.layer)}: ${key} '${tfName}' has no ONNX ${kind.op} form (supported: ${Object.keys(RNN_ACTIVATIONS).join(', ')})`);
    }
    names.push(act.name);
    if (act.alpha !== undefined) alphas.push(act.alpha);
    if (act.beta !== undefined) betas.push(act.beta);
  }
  return { activations: strs(names), ...(alphas.length ? { activation_alpha: floats(alphas) } : {}), ...(betas.length ? { activation_beta: floats(betas) } : {}) };
}

/** Keras `[rows, gates*units]` weight -> ONNX `[1, gates*units, rows]` with gate blocks reordered. */
function gateTransform(kind: RecurrentKind, units: number): WeightTransform {
  return {
    key: `${kind.op}-gates`,
    fn: (d, s) => {
      const rows = s[0]!;
      const cols = s[1]!;
      const t = transpose(d, [rows, cols], [1, 0]).data;
      const out = new Float32Array(d.length);
      kind.order.forEach((src, dst) => out.set(t.subarray(src * units * rows, (src + 1) * units * rows), dst * units * rows));
      return { data: out, shape: [1, cols, rows] };
    },
  };
}

/** Keras bias `[gates*units]` -> ONNX `[1, 2*gates*units]`: reordered input bias, zero recurrent bias. */
function onnxBias(kind: RecurrentKind, units: number, bias: Float32Array): Float32Array {
  const out = new Float32Array(2 * kind.gates * units);
  kind.order.forEach((src, dst) => out.set(bias.subarray(src * units, (src + 1) * units), dst * units));
  return out;
}

/**
 * `v` reversed along physical axis `axis` (a Slice with step -1; works for dynamic lengths).
 * @example const backwards = reverseAxis(ctx, sequence, 1, 'lstm/reversed'); // [N, T, C] in reverse time
 */
export function reverseAxis(ctx: ConvertContext, v: OnnxValue, axis: number, name: string): OnnxValue {
  const b = ctx.b;
  // An end far below -length clamps to "before index 0", so the whole axis is taken.
  return ctx.op('Slice', [v.name, b.constInt64([-1]), b.constInt64([-(2 ** 62)]), b.constInt64([axis]), b.constInt64([-1])], {}, name, v);
}

/** Refuse what has no faithful ONNX form, naming the setting. */
function checkConfig(a: ConverterArgs): void {
  const c = a.config;
  if (c.stateful) throw new Error(`${desc(a.layer)}: stateful=true cannot be exported (ONNX has no state kept between runs); export a stateful=false copy`);
  if (c.resetAfter) throw new Error(`${desc(a.layer)}: reset_after=true cannot be exported (tfjs computes GRU with reset_after=false)`);
  if (a.inputs.length > 1 + KINDS[a.layer.getClassName()]!.states) throw new Error(`${desc(a.layer)}: ${a.inputs.length} inputs; only the sequence and initial states are supported`);
}

function recurrent(a: ConverterArgs): OnnxValue[] | OnnxValue {
  checkConfig(a);
  const { ctx, layer, config } = a;
  const kind = KINDS[layer.getClassName()]!;
  const units = config.units as number;
  const n = layer.name;
  const x0 = a.inputs[0]!;
  if (x0.shape.length !== 3) throw new Error(`${desc(layer)}: expected a [batch, time, features] input, got rank ${x0.shape.length}`);
  // Time-major for ONNX (onnxruntime's CPU kernels do not take layout=1); a channels-first [N, C, T] input is one Transpose away too.
  const perm = x0.layout === 'cf' ? [2, 0, 1] : [1, 0, 2];
  let xt = ctx.op('Transpose', [x0.name], { perm: ints(perm) }, `${n}/time_major`, { shape: [null, null, null], layout: 'tf', dtype: 'float32' });
  // tfjs runs a forward pass over the reversed sequence and returns its steps in that order.
  if (config.goBackwards) xt = reverseAxis(ctx, xt, 0, `${n}/reverse_time`);
  const w = ctx.kernel(ctx.weight(layer, 'kernel'), { name: `${n}/W`, tfAxis: 1, onnxAxis: 1, transform: gateTransform(kind, units) });
  const r = ctx.kernel(ctx.weight(layer, 'recurrent_kernel'), { name: `${n}/R`, tfAxis: 1, onnxAxis: 1, transform: gateTransform(kind, units) });
  const bias = ctx.hasWeight(layer, 'bias') ? ctx.param(`${n}/B`, onnxBias(kind, units, ctx.weight(layer, 'bias').data), [1, 2 * kind.gates * units]) : '';
  const axis0 = ctx.b.constInt64([0], 'axes_0');
  const states = a.inputs.slice(1).map((s, i) => ctx.op('Unsqueeze', [ctx.toLayout(s, 'tf').name, axis0], {}, `${n}/initial_state_${i}`, s).name);
  // Inputs: X, W, R, B, sequence_lens, initial_h, initial_c (P, the LSTM peepholes, never: Keras has none).
  const inputs = [xt.name, w, r, bias, '', ...states];
  while (inputs[inputs.length - 1] === '') inputs.pop();
  const attrs: Record<string, Attr> = { hidden_size: int(units), direction: str('forward'), ...activationAttrs(a, kind) };
  if (kind.op === 'GRU') attrs.linear_before_reset = int(0);
  const outs = ctx.b.node(kind.op, inputs, attrs, n, 1 + kind.states);
  const squeeze = (v: string, axis: number, name: string, shape: (number | null)[]) =>
    ctx.op('Squeeze', [v, ctx.b.constInt64([axis], `axes_${axis}`)], {}, name, { shape, layout: 'tf', dtype: 'float32' });
  const stateShape = [null, units];
  let y: OnnxValue;
  if (config.returnSequences) {
    // Y is [time, 1, batch, units].
    const seq = squeeze(outs[0]!, 1, `${n}/sequence`, [null, null, units]);
    y = ctx.op('Transpose', [seq.name], { perm: ints([1, 0, 2]) }, `${n}/batch_major`, { shape: staticShape(a), layout: 'tf', dtype: 'float32' });
  } else {
    y = squeeze(outs[1]!, 0, `${n}/last`, staticShape(a));
  }
  if (!config.returnState) return y;
  const h = squeeze(outs[1]!, 0, `${n}/h`, stateShape);
  return kind.op === 'LSTM' ? [y, h, squeeze(outs[2]!, 0, `${n}/c`, stateShape)] : [y, h];
}

for (const c of Object.keys(KINDS)) registerOnnxConverter(c, recurrent);
