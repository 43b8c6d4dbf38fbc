import type * as tf from '@tensorflow/tfjs';
import { GraphBuilder, int, ints, type Attr } from './builder.js';
import { fromHalfBits, toHalfBits } from '../../quantize/half.js';
import { sizeOf, strides, transpose } from './tensor-util.js';

/**
 * Where the channel axis of a rank >= 3 value physically sits in the ONNX graph:
 * `tf` = channels-last like tfjs (NHWC), `cf` = channels-first (NCHW), which ONNX convs need.
 * A rank-2 value marked `cf` is a Flatten of a channels-first tensor (see {@link OnnxValue.flatOf}).
 */
export type Layout = 'tf' | 'cf';

/** A tensor flowing through the ONNX graph, with its tfjs (channels-last) logical shape. */
export interface OnnxValue {
  name: string;
  /** tfjs shape, batch dimension `null`. */
  shape: (number | null)[];
  layout: Layout;
  dtype: 'float32' | 'int32' | 'int64';
  /**
   * Set by Flatten applied to a channels-first value: elements are in NCHW order. Dense permutes its
   * kernel rows to match (no runtime Transpose); any other consumer gets a real tfjs-order Flatten.
   */
  flatOf?: OnnxValue;
  /** True only for the Flatten output itself (so tfjs order can come straight from `flatOf`). */
  flatDirect?: boolean;
}

/** How float weights (kernels, embeddings) are stored in the ONNX file. */
export type OnnxWeightMode = 'float32' | 'float16' | 'int8';

/** A tfjs layer weight read at export time. */
export interface WeightRef {
  variable: tf.LayerVariable;
  data: Float32Array;
  shape: number[];
}

/** Export-time reshaping of a weight: `key` identifies it so shared layers reuse one initializer. */
export interface WeightTransform {
  key: string;
  fn: (data: Float32Array, shape: number[]) => { data: Float32Array; shape: number[] };
}

/** Arguments of {@link ConvertContext.kernel}. */
export interface KernelArgs {
  /** Initializer name. */
  name: string;
  /** tfjs axis holding output channels: int8 uses one scale per index of this axis. */
  tfAxis: number;
  /** The same axis after `transform` (DequantizeLinear's `axis`). */
  onnxAxis: number;
  transform?: WeightTransform;
}

/** The physical (ONNX) shape of a value. */
export function physicalShape(v: OnnxValue): (number | null)[] {
  const s = v.shape;
  if (v.layout === 'cf' && s.length >= 3) return [s[0]!, s[s.length - 1]!, ...s.slice(1, -1)];
  return s;
}

/** Permutation turning tfjs layout into channels-first for rank `r`, and its inverse. */
export function toCfPerm(r: number): number[] {
  return [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)];
}
/** Inverse of {@link toCfPerm}. */
export function toTfPerm(r: number): number[] {
  return [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1];
}

/**
 * State shared by layer converters: the graph builder, layout conversions (cached, so a tensor is
 * transposed at most once per direction), weight access and weight encoding (float32/float16/int8).
 */
export class ConvertContext {
  readonly b = new GraphBuilder();
  /** Dequantized values of every encoded weight, keyed by variable: the tfjs reference for verification. */
  readonly dequantized = new Map<tf.LayerVariable, Float32Array>();
  private readonly layoutCache = new Map<string, OnnxValue>();
  private readonly weightCache = new Map<string, string>();

  constructor(
    readonly opset: number,
    readonly weights: OnnxWeightMode,
  ) {}

  /** Append a node producing one value with the given logical shape/layout. */
  op(opType: string, inputs: string[], attrs: Record<string, Attr>, name: string, like: Omit<OnnxValue, 'name'>): OnnxValue {
    const [out] = this.b.node(opType, inputs, attrs, name);
    return { ...like, name: out!, flatOf: like.flatOf, flatDirect: undefined };
  }

  /** Map a tfjs axis (may be negative) of `v` to its physical ONNX axis. */
  axis(v: OnnxValue, tfAxis: number): number {
    const r = v.shape.length;
    const a = tfAxis < 0 ? tfAxis + r : tfAxis;
    if (a < 0 || a >= r) throw new Error(`axis ${tfAxis} out of range for rank ${r}`);
    if (v.layout === 'tf' || r < 3) return a;
    return a === 0 ? 0 : a === r - 1 ? 1 : a + 1;
  }

  /** Return `v` in the requested layout, inserting (and caching) one Transpose if needed. */
  toLayout(v: OnnxValue, layout: Layout): OnnxValue {
    if (v.layout === layout) return v;
    const r = v.shape.length;
    if (r < 3 && !v.flatOf) return { ...v, layout };
    const key = `${v.name}->${layout}`;
    const hit = this.layoutCache.get(key);
    if (hit) return hit;
    let out: OnnxValue;
    if (v.flatOf) {
      // Only tfjs order is ever requested for a channels-first flat value. A Flatten output re-flattens
      // its source; values derived from it elementwise are unflattened, transposed and flattened again.
      const src = v.flatOf;
      const r = src.shape.length;
      let t: string;
      if (v.flatDirect) t = this.toLayout(src, 'tf').name;
      else {
        const shape = this.b.constInt64([0, ...(physicalShape(src).slice(1) as number[])], `${v.name}/unflatten_shape`);
        const [cf] = this.b.node('Reshape', [v.name, shape], {}, `${v.name}/unflatten`) as [string];
        [t] = this.b.node('Transpose', [cf], { perm: ints(toTfPerm(r)) }, `${v.name}/to_nhwc`) as [string];
      }
      out = this.op('Flatten', [t], { axis: int(1) }, `${v.name}/tf_order`, { shape: v.shape, layout: 'tf', dtype: v.dtype });
    } else {
      const perm = layout === 'cf' ? toCfPerm(r) : toTfPerm(r);
      out = this.op('Transpose', [v.name], { perm: ints(perm) }, `${v.name}/to_${layout === 'cf' ? 'nchw' : 'nhwc'}`, {
        shape: v.shape,
        layout,
        dtype: v.dtype,
      });
    }
    this.layoutCache.set(key, out);
    return out;
  }

  /** True when the layer owns a weight with this role (`kernel`, `bias`, `gamma`, ...). */
  hasWeight(layer: tf.layers.Layer, role: string): boolean {
    return layer.weights.some((w) => w.originalName.split('/').pop() === role);
  }

  /** Read a layer weight by role; throws naming the layer when it is missing. */
  weight(layer: tf.layers.Layer, role: string): WeightRef {
    const variable = layer.weights.find((w) => w.originalName.split('/').pop() === role);
    if (!variable) {
      throw new Error(
        `layer '${layer.name}' (${layer.getClassName()}): no weight '${role}' (has ${layer.weights.map((w) => w.originalName).join(', ') || 'none'})`,
      );
    }
    const t = variable.read();
    return { variable, data: t.dataSync() as Float32Array, shape: t.shape.slice() };
  }

  /** A float32 initializer that is never quantized (biases, norm parameters). */
  param(name: string, data: Float32Array, dims: number[]): string {
    return this.b.initializer(name, 'float32', dims, data);
  }

  /** {@link param} for a layer weight used as is, shared between calls of a shared layer. */
  paramOf(w: WeightRef, name: string): string {
    const key = `${w.variable.id}|param`;
    let got = this.weightCache.get(key);
    if (!got) {
      got = this.param(name, w.data, w.shape);
      this.weightCache.set(key, got);
    }
    return got;
  }

  /**
   * A kernel-like weight, stored according to the weight mode and returned as a float32 value name:
   * float32 as is; float16 as a float16 initializer plus Cast; int8 as per-channel symmetric int8
   * plus DequantizeLinear. The dequantized tfjs-layout values are recorded in {@link dequantized}.
   */
  kernel(w: WeightRef, a: KernelArgs): string {
    const cacheKey = `${w.variable.id}|${a.transform?.key ?? ''}`;
    const cached = this.weightCache.get(cacheKey);
    if (cached) return cached;
    const apply = (d: Float32Array) => (a.transform ? a.transform.fn(d, w.shape) : { data: d, shape: w.shape });
    let name: string;
    if (this.weights === 'float32') {
      const t = apply(w.data);
      name = this.param(a.name, t.data, t.shape);
    } else if (this.weights === 'float16') {
      const bits = toHalfBits(w.data);
      this.dequantized.set(w.variable, fromHalfBits(bits));
      // Transforms move float arrays; the 16-bit patterns are small integers, exact in float32.
      const moved = apply(Float32Array.from(bits));
      const init = this.b.initializer(`${a.name}_f16`, 'float16', moved.shape, Uint16Array.from(moved.data));
      [name] = this.b.node('Cast', [init], { to: int(1) }, `${a.name}_f32`) as [string];
    } else {
      const q = quantizeInt8PerAxis(w.data, w.shape, a.tfAxis);
      this.dequantized.set(w.variable, q.dequantized);
      const qt = apply(q.values);
      const st = apply(q.scalePerElement);
      const scales = takeAlongAxis(st.data, st.shape, a.onnxAxis, `${a.name}`);
      const qInit = this.b.initializer(`${a.name}_int8`, 'int8', qt.shape, Int8Array.from(qt.data));
      const sInit = this.param(`${a.name}_scale`, scales, [scales.length]);
      const zInit = this.b.initializer(`${a.name}_zero_point`, 'int8', [scales.length], new Int8Array(scales.length));
      [name] = this.b.node('DequantizeLinear', [qInit, sInit, zInit], { axis: int(a.onnxAxis) }, `${a.name}_dequant`) as [string];
    }
    this.weightCache.set(cacheKey, name);
    return name;
  }
}

/** Result of {@link quantizeInt8PerAxis}. */
export interface Int8Quantized {
  /** Integer values in [-127, 127], stored as floats so weight transforms can move them. */
  values: Float32Array;
  /** Scale of every element's channel, same layout as `values`. */
  scalePerElement: Float32Array;
  /** One scale per index of the quantization axis. */
  scales: Float32Array;
  /** `values * scale` rounded to float32 exactly as DequantizeLinear computes it. */
  dequantized: Float32Array;
}

/**
 * Symmetric per-channel int8 quantization: scale = max|w| / 127 per index of `axis`, so every
 * weight's rounding error is at most scale / 2.
 */
export function quantizeInt8PerAxis(data: Float32Array, shape: number[], axis: number): Int8Quantized {
  const st = strides(shape);
  const n = shape[axis]!;
  const chanOf = (i: number) => Math.floor(i / st[axis]!) % n;
  const maxAbs = new Float32Array(n);
  for (let i = 0; i < data.length; i++) {
    const c = chanOf(i);
    maxAbs[c] = Math.max(maxAbs[c]!, Math.abs(data[i]!));
  }
  // An all-zero channel gets scale 1 (any positive scale represents zeros exactly).
  const scales = Float32Array.from(maxAbs, (m) => (m > 0 ? m / 127 : 1));
  const values = new Float32Array(data.length);
  const scalePerElement = new Float32Array(data.length);
  const dequantized = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const s = scales[chanOf(i)]!;
    const q = Math.max(-127, Math.min(127, Math.round(data[i]! / s)));
    values[i] = q;
    scalePerElement[i] = s;
    dequantized[i] = Math.fround(q * s);
  }
  return { values, scalePerElement, scales, dequantized };
}

/** Collapse a per-element array to one value per index of `axis`, checking it really is per-axis. */
function takeAlongAxis(data: Float32Array, shape: number[], axis: number, what: string): Float32Array {
  const st = strides(shape);
  const n = shape[axis]!;
  const out = new Float32Array(n).fill(NaN);
  for (let i = 0; i < sizeOf(shape); i++) {
    const c = Math.floor(i / st[axis]!) % n;
    if (Number.isNaN(out[c]!)) out[c] = data[i]!;
    else if (out[c] !== data[i]) throw new Error(`internal: int8 scales of '${what}' are not constant along ONNX axis ${axis}`);
  }
  return out;
}

/** Weight transform transposing by `perm` (numpy semantics). */
export function permuteWeight(perm: number[]): WeightTransform {
  return { key: `perm:${perm.join(',')}`, fn: (d, s) => transpose(d, s, perm) };
}
