import { affineRangeParams, quantizeAffine } from '../../../quantize/affine.js';
import { DataType } from '../schema.js';
import { attr, attrFloat, attrInt, consumers, floatsOf, intAttr, isGraphOutput, producers, renameValue, setInit, type IrModel, type IrNode } from './ir.js';
import { foldBatchNormIntoGemm, foldBatchNorms, globalPools, poolBeforeBatchNorm, sumToAdd } from './prepare.js';

/*
 * Static QDQ quantization of a float ONNX graph, following onnxruntime's `quantize_static` QDQ
 * format so its QDQ transformers fuse the result into integer kernels (QLinearConv, QGemm,
 * QLinearMatMul, QLinearAdd, QLinearConcat, QLinearLeakyRelu, QLinearGlobalAveragePool...):
 * - every quantized activation tensor gets one QuantizeLinear -> DequantizeLinear pair, per tensor,
 *   uint8 (or int8) asymmetric from its calibrated range;
 * - weights are int8 symmetric (per output channel with `perChannel`) behind a DequantizeLinear;
 *   biases int32 with scale = input scale * weight scale and zero point 0;
 * - Relu, and Clip(0, max), directly after a quantized op are removed: the calibrated range of
 *   their output becomes the producer's output range, so the quantizer's saturation does the clipping;
 * - data-movement ops (MaxPool, Transpose, Reshape, Flatten, Squeeze, Unsqueeze, Identity) share
 *   one scale and zero point between input and output, so the runtime runs them on the 8-bit data;
 * - nodes named in `floatNodes` (and ops without an integer kernel) stay float.
 */

/** Options of {@link quantizeQdq}. */
export interface QdqArgs {
  /** One scale per output channel of Conv/Gemm/MatMul weights (default: one per tensor, as onnxruntime). */
  perChannel?: boolean;
  /** Activation storage type (default uint8, as onnxruntime's CPU kernels prefer). */
  activations?: 'uint8' | 'int8';
  /** Names of nodes to keep in float (from the sensitivity pass or the user). */
  floatNodes?: ReadonlySet<string>;
}

/** What {@link quantizeQdq} did. */
export interface QdqReport {
  /** Quantized node names (Conv, Gemm, MatMul, Add, ...), in graph order. */
  quantizedNodes: { name: string; opType: string }[];
  /** Nodes with an integer form that stayed float (named in `floatNodes`). */
  floatNodes: { name: string; opType: string }[];
  /** Relu/Clip nodes folded into the preceding quantized op's output range. */
  foldedActivations: string[];
  /** BatchNormalization nodes folded into the preceding Conv or the following Flatten -> Gemm. */
  foldedBatchNorms: string[];
  /** BatchNormalization nodes moved after the MaxPool that followed them (positive scales only). */
  movedBatchNorms: string[];
  /** Activation tensors with a QuantizeLinear/DequantizeLinear pair. */
  quantizedTensors: number;
}

const WEIGHTED = new Set(['Conv', 'Gemm', 'MatMul']);
const BINARY = new Set(['Add', 'Mul']);
const UNARY = new Set(['LeakyRelu', 'Sigmoid', 'AveragePool', 'GlobalAveragePool']);
const PASSTHROUGH = new Set(['MaxPool', 'Transpose', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity']);

/** Ops that can be quantized (the sensitivity pass's candidates are the weighted ones). */
export const QUANTIZABLE_OPS = [...WEIGHTED, ...BINARY, 'Concat', ...UNARY];

/** Deep-enough copy: nodes and their lists are rewritten in place by the passes below. */
function cloneModel(m: IrModel): IrModel {
  return {
    proto: { ...m.proto, graph: { ...m.proto.graph, output: m.proto.graph.output.map((o) => ({ ...o })) } },
    nodes: m.nodes.map((n) => ({ ...n, input: [...n.input], output: [...n.output], attribute: n.attribute.map((a) => ({ ...a })) })),
    inits: new Map(m.inits),
  };
}


/** True when `n` can run as an integer kernel with the weights it has. */
function quantizable(m: IrModel, n: IrNode): boolean {
  const isConst = (v: string) => m.inits.has(v);
  const floatInit = (v: string | undefined) => v !== undefined && m.inits.get(v)?.dataType === DataType.FLOAT;
  if (n.opType === 'Conv') return floatInit(n.input[1]) && m.inits.get(n.input[1]!)!.dims.length === 4 && (!n.input[2] || floatInit(n.input[2]));
  if (n.opType === 'Gemm') {
    const c = n.input[2] ? m.inits.get(n.input[2]) : undefined;
    return (
      floatInit(n.input[1]) && attrInt(n, 'transA', 0) === 0 && attrFloat(n, 'alpha', 1) === 1 && attrFloat(n, 'beta', 1) === 1 && (!n.input[2] || (floatInit(n.input[2]) && c!.dims.length === 1))
    );
  }
  if (n.opType === 'MatMul') return floatInit(n.input[1]) && m.inits.get(n.input[1]!)!.dims.length === 2;
  if (BINARY.has(n.opType) || n.opType === 'Concat') return n.input.every((v) => !isConst(v));
  return UNARY.has(n.opType);
}

/** Activation inputs of a quantized node (weights and biases are handled separately). */
const activationInputs = (n: IrNode) => (WEIGHTED.has(n.opType) ? [n.input[0]!] : n.input.filter(Boolean));

/** Remove Relu / Clip(0, max) after a quantized op: its output range takes over the producer's output. */
function foldActivations(m: IrModel, quantized: Set<IrNode>, ranges: Map<string, [number, number]>, floatNodes: ReadonlySet<string>): string[] {
  const folded: string[] = [];
  for (const act of m.nodes.filter((n) => n.opType === 'Relu' || n.opType === 'Clip')) {
    if (floatNodes.has(act.name)) continue;
    const prod = producers(m.nodes).get(act.input[0]!);
    if (!prod || !quantized.has(prod) || consumers(m.nodes).get(act.input[0]!)?.length !== 1 || isGraphOutput(m, act.input[0]!)) continue;
    const range = ranges.get(act.output[0]!);
    if (!range) continue;
    if (act.opType === 'Clip') {
      // Clip(0, max) is exact as the quantizer's saturation only when the grid starts at 0 and stays <= max.
      const lo = act.input[1] ? m.inits.get(act.input[1]) : undefined;
      const hi = act.input[2] ? m.inits.get(act.input[2]) : undefined;
      if (attr(act, 'min') || attr(act, 'max') || !lo || !hi || floatsOf(lo)[0] !== 0) continue;
      ranges.set(act.output[0]!, [range[0], Math.min(range[1], floatsOf(hi)[0]!)]);
    }
    prod.output = [act.output[0]!];
    m.nodes.splice(m.nodes.indexOf(act), 1);
    folded.push(act.name);
  }
  return folded;
}

/** Union-find over tensor names: tensors joined by data-movement ops share quantization parameters. */
class Groups {
  private parent = new Map<string, string>();
  find(v: string): string {
    let p = this.parent.get(v) ?? v;
    if (p !== v) {
      p = this.find(p);
      this.parent.set(v, p);
    }
    return p;
  }
  union(a: string, b: string): void {
    const [ra, rb] = [this.find(a), this.find(b)];
    if (ra !== rb) this.parent.set(rb, ra);
  }
}

/**
 * Insert QDQ pairs and integer weights into a float ONNX model. `ranges` holds the calibrated range
 * of every activation tensor of the float model (by name), `shapes` their shapes.
 *
 * @example
 * const { model: q, report } = quantizeQdq(decodeModel(floatBytes), ranges, shapes, { perChannel: true });
 */
export function quantizeQdq(
  float: IrModel,
  calibrated: ReadonlyMap<string, [number, number]>,
  shapes: ReadonlyMap<string, number[]>,
  args: QdqArgs = {},
): { model: IrModel; report: QdqReport } {
  const m = cloneModel(float);
  const ranges = new Map(calibrated);
  const floatNodes = args.floatNodes ?? new Set<string>();
  const act = args.activations ?? 'uint8';
  const actType = act === 'uint8' ? DataType.UINT8 : DataType.INT8;
  const foldedBatchNorms = foldBatchNorms(m);
  const shapeMap = new Map(shapes);
  const movedBatchNorms = poolBeforeBatchNorm(m, ranges, shapeMap);
  foldedBatchNorms.push(...foldBatchNormIntoGemm(m, shapeMap));
  sumToAdd(m);
  globalPools(m, shapeMap, ranges);
  const candidates = m.nodes.filter((n) => quantizable(m, n));
  const quantized = new Set(candidates.filter((n) => !floatNodes.has(n.name)));
  const foldedActivations = foldActivations(m, quantized, ranges, floatNodes);

  // Tensors to quantize: the activation inputs and outputs of quantized nodes, widened through data-movement ops.
  const tensors = new Set<string>();
  for (const n of quantized) for (const v of [...activationInputs(n), n.output[0]!]) tensors.add(v);
  const groups = new Groups();
  const moves = m.nodes.filter((n) => PASSTHROUGH.has(n.opType) && !floatNodes.has(n.name) && !m.inits.has(n.input[0]!));
  for (let changed = true; changed; ) {
    changed = false;
    for (const n of moves) {
      const [a, b] = [n.input[0]!, n.output[0]!];
      if (tensors.has(a) !== tensors.has(b) || (tensors.has(a) && groups.find(a) !== groups.find(b))) {
        tensors.add(a);
        tensors.add(b);
        groups.union(a, b);
        changed = true;
      }
    }
  }

  // One scale/zero point per group, from the union of its members' ranges.
  const groupRange = new Map<string, [number, number]>();
  for (const t of tensors) {
    const r = ranges.get(t);
    if (!r) throw new Error(`internal: tensor '${t}' has no calibrated range`);
    const g = groups.find(t);
    const cur = groupRange.get(g);
    groupRange.set(g, cur ? [Math.min(cur[0], r[0]), Math.max(cur[1], r[1])] : r);
  }
  const params = new Map<string, { scale: number; zeroPoint: number; scaleName: string; zpName: string }>();
  for (const [g, [lo, hi]] of groupRange) {
    const p = affineRangeParams(lo, hi, act);
    const scaleName = `${g}_scale`;
    const zpName = `${g}_zero_point`;
    setInit(m, scaleName, DataType.FLOAT, [], Float32Array.of(p.scale));
    setInit(m, zpName, actType, [], act === 'uint8' ? Uint8Array.of(p.zeroPoint) : Int8Array.of(p.zeroPoint));
    params.set(g, { ...p, scaleName, zpName });
  }
  const paramsOf = (t: string) => params.get(groups.find(t))!;

  // Integer weights and biases of the quantized weighted nodes.
  const weightCache = new Map<string, { dq: string; scales: Float32Array }>();
  const added: IrNode[] = [];
  const weight = (name: string, axis: number | null): { dq: string; scales: Float32Array } => {
    const key = `${name}|${axis}`;
    const hit = weightCache.get(key);
    if (hit) return hit;
    const w = m.inits.get(name)!;
    const q = quantizeAffine(floatsOf(w), w.dims, { dtype: 'int8', axis, symmetric: true });
    const dims = axis === null ? [] : [q.scales.length];
    setInit(m, `${name}_int8`, DataType.INT8, w.dims, q.q as Int8Array);
    setInit(m, `${name}_int8_scale`, DataType.FLOAT, dims, q.scales);
    setInit(m, `${name}_int8_zero_point`, DataType.INT8, dims, new Int8Array(q.scales.length));
    const dq = `${name}_dequantized`;
    added.push({
      opType: 'DequantizeLinear',
      name: `${name}/DequantizeLinear`,
      input: [`${name}_int8`, `${name}_int8_scale`, `${name}_int8_zero_point`],
      output: [dq],
      attribute: axis === null ? [] : [intAttr('axis', axis)],
    });
    const got = { dq, scales: q.scales };
    weightCache.set(key, got);
    return got;
  };
  const bias = (n: IrNode, name: string, inScale: number, wScales: Float32Array): string => {
    const b = floatsOf(m.inits.get(name)!);
    const perChannel = wScales.length > 1;
    const scales = Float32Array.from(b, (_, c) => Math.fround(inScale * wScales[perChannel ? c : 0]!));
    // int32 codes, rounded as onnxruntime's quantize_bias_static; zero point 0.
    const q = Int32Array.from(b, (v, c) => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(v / scales[c]!))));
    const base = `${n.name}/bias`;
    const dims = perChannel ? [b.length] : [];
    setInit(m, `${base}_int32`, DataType.INT32, [b.length], q);
    setInit(m, `${base}_int32_scale`, DataType.FLOAT, dims, perChannel ? scales : scales.slice(0, 1));
    setInit(m, `${base}_int32_zero_point`, DataType.INT32, dims, new Int32Array(perChannel ? b.length : 1));
    const dq = `${base}_dequantized`;
    added.push({ opType: 'DequantizeLinear', name: `${base}/DequantizeLinear`, input: [`${base}_int32`, `${base}_int32_scale`, `${base}_int32_zero_point`], output: [dq], attribute: perChannel ? [intAttr('axis', 0)] : [] });
    return dq;
  };
  for (const n of quantized) {
    if (!WEIGHTED.has(n.opType)) continue;
    // Output channels: Conv weight axis 0; Gemm B axis 1 (0 when transB); MatMul B axis 1.
    const axis = args.perChannel ? (n.opType === 'Gemm' && attrInt(n, 'transB', 0) === 1 ? 0 : n.opType === 'Conv' ? 0 : 1) : null;
    const w = weight(n.input[1]!, axis);
    const biasName = n.input[2] ? bias(n, n.input[2], paramsOf(n.input[0]!).scale, w.scales) : undefined;
    n.input = [n.input[0]!, w.dq, ...(biasName ? [biasName] : [])];
  }

  // QuantizeLinear -> DequantizeLinear on every quantized tensor; consumers read the dequantized value.
  const graphInputs = new Set(m.proto.graph.input.map((i) => i.name));
  const prod = producers(m.nodes);
  for (const t of tensors) {
    const p = paramsOf(t);
    let source = t;
    let deq = `${t}_dequantized`;
    if (isGraphOutput(m, t) && !graphInputs.has(t)) {
      // A graph output keeps its name on the dequantized value (what onnxruntime's quantizer writes too).
      source = `${t}_float`;
      deq = t;
      prod.get(t)!.output = prod.get(t)!.output.map((o) => (o === t ? source : o));
    } else {
      renameValue(m, t, deq);
    }
    added.push(
      { opType: 'QuantizeLinear', name: `${t}/QuantizeLinear`, input: [source, p.scaleName, p.zpName], output: [`${t}_quantized`], attribute: [] },
      { opType: 'DequantizeLinear', name: `${t}/DequantizeLinear`, input: [`${t}_quantized`, p.scaleName, p.zpName], output: [deq], attribute: [] },
    );
  }
  m.nodes = topoSort([...m.nodes, ...added], m);
  return {
    model: m,
    report: {
      quantizedNodes: [...quantized].map((n) => ({ name: n.name, opType: n.opType })),
      floatNodes: candidates.filter((n) => !quantized.has(n)).map((n) => ({ name: n.name, opType: n.opType })),
      foldedActivations,
      foldedBatchNorms,
      movedBatchNorms,
      quantizedTensors: tensors.size,
    },
  };
}

/** Nodes in an order where every input is produced before it is used (ONNX requires it). */
function topoSort(nodes: IrNode[], m: IrModel): IrNode[] {
  const ready = new Set<string>([...m.inits.keys(), ...m.proto.graph.input.map((i) => i.name), '']);
  const out: IrNode[] = [];
  let pending = nodes;
  while (pending.length) {
    const next: IrNode[] = [];
    for (const n of pending) {
      if (n.input.every((i) => ready.has(i))) {
        out.push(n);
        n.output.forEach((o) => ready.add(o));
      } else next.push(n);
    }
    if (next.length === pending.length) throw new Error(`internal: QDQ graph has a cycle or a missing value at node '${next[0]!.name}' (inputs ${next[0]!.input.join(', ')})`);
    pending = next;
  }
  return out;
}
