import type * as tf from '@tensorflow/tfjs';

/** A layers-model tensor standing for a graph tensor, with the dtype the graph gives it. */
export interface TensorValue {
  kind: 'tensor';
  t: tf.SymbolicTensor;
  /** The graph's dtype (tfjs symbolic dtypes do not follow casts, so it is tracked here). */
  dtype: 'float32' | 'int32';
  /** The graph input this tensor carries with values unchanged (through casts and reshapes). */
  origin?: string;
}

/**
 * A value known at conversion time: a Const node, or static shape arithmetic (Shape, StridedSlice,
 * Pack, ...). `NaN` elements stand for the batch size, which only the layers model knows.
 */
export interface ConstValue {
  kind: 'const';
  shape: number[];
  dtype: string;
  data(): ArrayLike<number>;
}

/** A tensor with an extra leading axis of size 1 (ExpandDims at axis 0): only Squeeze(0) may consume it. */
export interface Batch0Value {
  kind: 'batch0';
  inner: TensorValue;
}

/** What a graph tensor becomes during conversion. */
export type Value = TensorValue | ConstValue | Batch0Value;

/** Refusal to convert one node; collected into the single "unsupported ops" message. */
export class UnsupportedOp extends Error {
  constructor(
    readonly op: string,
    reason: string,
  ) {
    super(reason);
  }
}

/** A ConstValue holding `data` (copied to float64 so shape arithmetic can carry NaN batch sizes). */
export function constOf(data: ArrayLike<number>, shape: number[] = [data.length], dtype = 'int32'): ConstValue {
  const copy = Float64Array.from(data as ArrayLike<number>);
  return { kind: 'const', shape, dtype, data: () => copy };
}

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Static (non-batch) shape of a symbolic tensor; throws UnsupportedOp when a dimension is unknown. */
export function staticDims(v: TensorValue, op: string): number[] {
  const dims = v.t.shape.slice(1);
  if (dims.some((d) => d == null)) throw new UnsupportedOp(op, `needs static shapes, input is [${v.t.shape.map((d) => d ?? '?')}]`);
  return dims as number[];
}

/**
 * The constant as one value per channel of a tensor whose last axis has `channels` entries:
 * shape [C] or [1, ..., 1, C] (not longer than `rank`); `undefined` when it broadcasts any other way.
 */
export function perChannel(c: ConstValue, channels: number, rank: number): Float32Array | undefined {
  const s = c.shape;
  if (s.length === 0 || s.length > rank || s[s.length - 1] !== channels || s.slice(0, -1).some((d) => d !== 1)) return undefined;
  return Float32Array.from(c.data());
}

/** The constant's single value, when it has exactly one element (any rank). */
export function scalarOf(c: ConstValue): number | undefined {
  return sizeOf(c.shape) === 1 ? Number(c.data()[0]) : undefined;
}
