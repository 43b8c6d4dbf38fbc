import type { GraphDefNode } from './attrs.js';
import type { BuildContext } from './context.js';
import type { Value } from './values.js';
import { conv, spaceToBatch } from './ops/conv.js';
import { matMul } from './ops/dense.js';
import { activation, addN, binary, extremum } from './ops/elementwise.js';
import { batchNorm, concat, gather, pad, pool, resize, spatialReduce } from './ops/layers.js';
import { cast, expandDims, identity, pack, prod, reshape, shapeOp, squeeze, stridedSlice } from './ops/shape.js';

/**
 * Converts one graph node to layers (or to a constant): returns its output value(s). It may also
 * give values to consumer nodes it folded in (`c.set`), which are then not converted again.
 */
export type OpHandler = (node: GraphDefNode, c: BuildContext) => Value | Value[];

/** Graph op -> handler. BatchToSpaceND only converts as part of the SpaceToBatchND dilated-conv pattern. */
export const OP_HANDLERS: Record<string, OpHandler> = {
  Conv2D: conv,
  _FusedConv2D: conv,
  DepthwiseConv2dNative: conv,
  FusedDepthwiseConv2dNative: conv,
  SpaceToBatchND: spaceToBatch,
  MatMul: matMul,
  _FusedMatMul: matMul,
  BiasAdd: binary,
  Add: binary,
  AddV2: binary,
  Sub: binary,
  Mul: binary,
  RealDiv: binary,
  AddN: addN,
  Maximum: extremum,
  Minimum: extremum,
  Relu: activation,
  Relu6: activation,
  Elu: activation,
  LeakyRelu: activation,
  Sigmoid: activation,
  Tanh: activation,
  Softmax: activation,
  MaxPool: pool,
  AvgPool: pool,
  Mean: spatialReduce,
  Max: spatialReduce,
  ConcatV2: concat,
  Pad: pad,
  PadV2: pad,
  FusedBatchNorm: batchNorm,
  FusedBatchNormV2: batchNorm,
  FusedBatchNormV3: batchNorm,
  ResizeNearestNeighbor: resize,
  ResizeBilinear: resize,
  GatherV2: gather,
  Shape: shapeOp,
  StridedSlice: stridedSlice,
  Pack: pack,
  Prod: prod,
  Reshape: reshape,
  ExpandDims: expandDims,
  Squeeze: squeeze,
  Cast: cast,
  Identity: identity,
  IdentityN: identity,
  StopGradient: identity,
  Snapshot: identity,
};

/** Ops with no handler of their own that convert inside a pattern started by another op. */
const PATTERN_ONLY = new Set(['BatchToSpaceND']);

/** Graph ops {@link graphToLayers} can convert (Placeholder and Const included), sorted. */
export function convertibleGraphOps(): string[] {
  return ['Placeholder', 'Const', ...PATTERN_ONLY, ...Object.keys(OP_HANDLERS)].sort();
}

/** True when the op type has a conversion (alone or as part of a pattern). */
export function isConvertibleOp(op: string): boolean {
  return op === 'Placeholder' || op === 'Const' || PATTERN_ONLY.has(op) || OP_HANDLERS[op] !== undefined;
}
