import type * as tf from '@tensorflow/tfjs';
import { GraphBuilder, int, ints, type Attr } from './builder.js';
import { quantizeAffine } from '../../quantize/affine.js';
import { channelLayout, dequantize } from '../../quantize/dequantize.js';
import { fromHalfBits, toHalfBits } from '../../quantize/half.js';
import type { AffineTensor, CodebookTensor, QuantizedTensor, QuantizedWeights } from '../../quantize/types.js';
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
  /** tfjs axis holding output channels: int8 uses one scale per index of this axis (depthwise: per input channel). */
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
  /** Names of the weights written from their quantized records. */
  readonly recordsWritten = new Set<string>();
  private readonly layoutCache = new Map<string, OnnxValue>();
  private readonly weightCache = new Map<string, string>();

  constructor(
    readonly opset: number,
    readonly weights: OnnxWeightMode,
    /** Quantized records by weight name (`dense_1/kernel`): written exactly instead of re-encoded. */
    readonly records: QuantizedWeights = {},
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
   * A kernel-like weight, returned as a float32 value name. A weight with a quantized record (from
   * `quantize`, see {@link ConvertArgs.records}) is written as that record, exactly: affine int8/uint8
   * as its stored codes, scales and zero points plus DequantizeLinear; float16 as its bit patterns
   * plus Cast; a codebook as uint8 indices plus a Gather on the centroid table (index 0 = exact 0).
   * Other weights follow the weight mode: float32 as is; float16 as a float16 initializer plus
   * Cast; int8 as per-channel symmetric int8 (the shared affine quantizer) plus DequantizeLinear.
   * The dequantized tfjs-layout values are recorded in {@link dequantized}.
   */
  kernel(w: WeightRef, a: KernelArgs): string {
    const cacheKey = `${w.variable.id}|${a.transform?.key ?? ''}`;
    const cached = this.weightCache.get(cacheKey);
    if (cached) return cached;
    const record = this.records[w.variable.originalName];
    if (record && (record.shape.length !== w.shape.length || record.shape.some((d, i) => d !== w.shape[i]))) {
      throw new Error(`weight '${w.variable.originalName}': quantized record has shape [${record.shape}], the layer weight has [${w.shape}]`);
    }
    let name: string | undefined;
    if (record) {
      name = this.recordKernel(w, a, record);
      this.recordsWritten.add(w.variable.originalName);
    }
    else if (this.weights === 'float16') name = this.halfKernel(w, a, toHalfBits(w.data));
    else if (this.weights === 'int8') name = this.affineKernel(w, a, quantizeAffine(w.data, w.shape, { dtype: 'int8', axis: a.tfAxis, symmetric: true }));
    if (name === undefined) {
      const t = this.apply(w, a, record ? dequantize(record) : w.data);
      if (record) this.dequantized.set(w.variable, dequantize(record));
      name = this.param(a.name, t.data, t.shape);
    }
    this.weightCache.set(cacheKey, name);
    return name;
  }

  /** The weight's transform (if any) applied to values in tfjs layout. */
  private apply(w: WeightRef, a: KernelArgs, d: Float32Array): { data: Float32Array; shape: number[] } {
    return a.transform ? a.transform.fn(d, w.shape) : { data: d, shape: w.shape };
  }

  /** A record's exact ONNX form, or undefined when only its dequantized float values can be written. */
  private recordKernel(w: WeightRef, a: KernelArgs, r: QuantizedTensor): string | undefined {
    switch (r.kind) {
      case 'float16':
        return this.halfKernel(w, a, r.bits);
      case 'affine':
        // uint16 DequantizeLinear needs opset 21; those records are written as their exact float values.
        return r.dtype === 'uint16' ? undefined : this.affineKernel(w, a, r);
      case 'codebook':
        return this.codebookKernel(w, a, r);
    }
  }

  private halfKernel(w: WeightRef, a: KernelArgs, bits: Uint16Array): string {
    this.dequantized.set(w.variable, fromHalfBits(bits));
    // Transforms move float arrays; the 16-bit patterns are small integers, exact in float32.
    const moved = this.apply(w, a, Float32Array.from(bits));
    const init = this.b.initializer(`${a.name}_f16`, 'float16', moved.shape, Uint16Array.from(moved.data));
    return this.b.node('Cast', [init], { to: int(1) }, `${a.name}_f32`)[0]!;
  }

  /**
   * Affine codes as an int8/uint8 initializer plus DequantizeLinear, per tensor or along the ONNX
   * axis the record's channel axis maps to. Undefined when the channels do not land on one ONNX axis.
   */
  private affineKernel(w: WeightRef, a: KernelArgs, q: AffineTensor): string | undefined {
    if (q.dtype === 'uint16') return undefined;
    const qt = this.apply(w, a, Float32Array.from(q.q));
    let scales: Float32Array;
    let zeros: Float32Array;
    let axis: number | undefined;
    if (q.axis === null) {
      scales = q.scales.slice(0, 1);
      zeros = Float32Array.of(q.zeroPoints[0]!);
    } else {
      const { stride, length } = channelLayout(q.shape, q.axis, q.axisCount);
      const perElement = (v: ArrayLike<number>) => this.apply(w, a, Float32Array.from({ length: q.q.length }, (_, i) => v[Math.floor(i / stride) % length]!));
      const st = perElement(q.scales);
      const zt = perElement(q.zeroPoints);
      const s = takeAlongAxis(st.data, st.shape, a.onnxAxis);
      const z = takeAlongAxis(zt.data, zt.shape, a.onnxAxis);
      if (!s || !z) return undefined;
      [scales, zeros, axis] = [s, z, a.onnxAxis];
    }
    this.dequantized.set(w.variable, dequantize(q));
    const dims = axis === undefined ? [] : [scales.length];
    const codes = q.dtype === 'int8' ? Int8Array.from(qt.data) : Uint8Array.from(qt.data);
    const zp = q.dtype === 'int8' ? Int8Array.from(zeros) : Uint8Array.from(zeros);
    const qInit = this.b.initializer(`${a.name}_${q.dtype}`, q.dtype, qt.shape, codes);
    const sInit = this.param(`${a.name}_scale`, scales, dims);
    const zInit = this.b.initializer(`${a.name}_zero_point`, q.dtype, dims, zp);
    return this.b.node('DequantizeLinear', [qInit, sInit, zInit], axis === undefined ? {} : { axis: int(axis) }, `${a.name}_dequant`)[0]!;
  }

  /** Codebook indices (uint8, 0 = exact zero, c + 1 = centroid c) and a Gather on the table [0, centroids...]. */
  private codebookKernel(w: WeightRef, a: KernelArgs, r: CodebookTensor): string | undefined {
    if (r.centroids.length + 1 > 256) return undefined;
    this.dequantized.set(w.variable, dequantize(r));
    const idx = this.apply(w, a, Float32Array.from(r.assignments, (c) => c + 1));
    const table = this.param(`${a.name}_centroids`, Float32Array.of(0, ...r.centroids), [r.centroids.length + 1]);
    const codes = this.b.initializer(`${a.name}_indices`, 'uint8', idx.shape, Uint8Array.from(idx.data));
    const [i32] = this.b.node('Cast', [codes], { to: int(6) }, `${a.name}_indices_i32`) as [string];
    return this.b.node('Gather', [table, i32], { axis: int(0) }, `${a.name}_lookup`)[0]!;
  }
}

/**
 * Collapse a per-element array to one value per index of `axis`, or undefined when the values are
 * not constant along the other axes (a record whose channels do not map to that ONNX axis).
 */
function takeAlongAxis(data: Float32Array, shape: number[], axis: number): Float32Array | undefined {
  const st = strides(shape);
  const n = shape[axis]!;
  const out = new Float32Array(n).fill(NaN);
  for (let i = 0; i < sizeOf(shape); i++) {
    const c = Math.floor(i / st[axis]!) % n;
    if (Number.isNaN(out[c]!)) out[c] = data[i]!;
    else if (out[c] !== data[i]) return undefined;
  }
  return out;
}

/** Weight transform transposing by `perm` (numpy semantics). */
export function permuteWeight(perm: number[]): WeightTransform {
  return { key: `perm:${perm.join(',')}`, fn: (d, s) => transpose(d, s, perm) };
}
