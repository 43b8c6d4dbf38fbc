import { DataType } from '../schema.js';
import { attrFloat, attrInt, attrInts, consumers, floatsOf, intAttr, isGraphOutput, producers, setInit, type IrModel, type IrNode } from './ir.js';

/*
 * Exact rewrites of a float ONNX graph that let more of it run on integer kernels: batch norms
 * folded into the Conv before them or the Gemm after them, pools moved before batch norms, global
 * average pooling and two-input Sum in the forms onnxruntime has integer kernels for. Tensor names
 * that survive keep their calibrated ranges; new tensors get the range of the values they hold.
 */

/** Fold Conv -> BatchNormalization (constant statistics, the Conv output used only there) into the Conv. */
export function foldBatchNorms(m: IrModel): string[] {
  const folded: string[] = [];
  const prod = producers(m.nodes);
  const cons = consumers(m.nodes);
  for (const bn of m.nodes.filter((n) => n.opType === 'BatchNormalization')) {
    const conv = prod.get(bn.input[0]!);
    if (!conv || conv.opType !== 'Conv' || cons.get(conv.output[0]!)?.length !== 1 || isGraphOutput(m, conv.output[0]!)) continue;
    const [w, b] = [m.inits.get(conv.input[1]!), conv.input[2] ? m.inits.get(conv.input[2]) : undefined];
    const stats = bn.input.slice(1, 5).map((n) => m.inits.get(n));
    if (!w || w.dataType !== DataType.FLOAT || (conv.input[2] && !b) || stats.some((s) => !s)) continue;
    const [gamma, beta, mean, variance] = stats.map((s) => floatsOf(s!));
    const eps = attrFloat(bn, 'epsilon', 1e-5);
    const out = w.dims[0]!;
    const per = w.dims.slice(1).reduce((p, d) => p * d, 1);
    const wData = floatsOf(w);
    const bias = b ? floatsOf(b) : new Float32Array(out);
    const newW = new Float32Array(wData.length);
    const newB = new Float32Array(out);
    for (let c = 0; c < out; c++) {
      const s = gamma![c]! / Math.sqrt(variance![c]! + eps);
      for (let j = 0; j < per; j++) newW[c * per + j] = wData[c * per + j]! * s;
      newB[c] = (bias[c]! - mean![c]!) * s + beta![c]!;
    }
    const wName = `${conv.input[1]}_bnfold`;
    const bName = `${conv.name}/bias_bnfold`;
    setInit(m, wName, DataType.FLOAT, w.dims, newW);
    setInit(m, bName, DataType.FLOAT, [out], newB);
    conv.input = [conv.input[0]!, wName, bName];
    conv.output = [bn.output[0]!];
    m.nodes.splice(m.nodes.indexOf(bn), 1);
    folded.push(bn.name);
  }
  return folded;
}

/** Per-channel scale and shift of an inference-mode BatchNormalization with constant statistics. */
function bnAffine(m: IrModel, bn: IrNode): { scale: Float32Array; shift: Float32Array } | undefined {
  const stats = bn.input.slice(1, 5).map((n) => m.inits.get(n));
  if (stats.length !== 4 || stats.some((s) => !s || s.dataType !== DataType.FLOAT)) return undefined;
  const [gamma, beta, mean, variance] = stats.map((s) => floatsOf(s!));
  const eps = attrFloat(bn, 'epsilon', 1e-5);
  const scale = Float32Array.from(gamma!, (g, c) => g / Math.sqrt(variance![c]! + eps));
  return { scale, shift: Float32Array.from(beta!, (b, c) => b - mean![c]! * scale[c]!) };
}

/**
 * BatchNormalization -> MaxPool becomes MaxPool -> BatchNormalization when every channel's scale is
 * positive (max commutes with an increasing per-channel map, exactly, float rounding being monotonic
 * too): the pool then runs on the 8-bit output of the op before it, and the batch norm on 4x fewer values.
 */
export function poolBeforeBatchNorm(m: IrModel, ranges: Map<string, [number, number]>, shapes: Map<string, number[]>): string[] {
  const moved: string[] = [];
  for (const bn of m.nodes.filter((n) => n.opType === 'BatchNormalization')) {
    const users = consumers(m.nodes).get(bn.output[0]!) ?? [];
    const pool = users[0];
    if (users.length !== 1 || pool!.opType !== 'MaxPool' || isGraphOutput(m, bn.output[0]!) || pool!.output.length !== 1) continue;
    const aff = bnAffine(m, bn);
    if (!aff || aff.scale.some((v) => !(v > 0))) continue;
    const x = bn.input[0]!;
    const pooled = `${x}/pooled`;
    const out = pool!.output[0]!;
    pool!.input = [x];
    pool!.output = [pooled];
    bn.input = [pooled, ...bn.input.slice(1)];
    bn.output = [out];
    // The pooled values are a subset of x's: x's range covers them.
    const r = ranges.get(x);
    if (r) ranges.set(pooled, r);
    const sh = shapes.get(out);
    if (sh) shapes.set(pooled, sh);
    m.nodes.splice(m.nodes.indexOf(pool!), 1);
    m.nodes.splice(m.nodes.indexOf(bn), 0, pool!);
    moved.push(bn.name);
  }
  return moved;
}

/**
 * BatchNormalization -> Flatten -> Gemm (an NCHW tensor flattened channel-major) folded into the
 * Gemm's weight rows and bias: Gemm(flatten(a x + b)) = flatten(x) (diag(a) W) + (flatten(b) W + c).
 */
export function foldBatchNormIntoGemm(m: IrModel, shapes: ReadonlyMap<string, number[]>): string[] {
  const folded: string[] = [];
  for (const bn of m.nodes.filter((n) => n.opType === 'BatchNormalization')) {
    const cons = consumers(m.nodes);
    const flat = cons.get(bn.output[0]!);
    if (flat?.length !== 1 || flat[0]!.opType !== 'Flatten' || attrInt(flat[0]!, 'axis', 1) !== 1 || isGraphOutput(m, bn.output[0]!)) continue;
    const gemms = cons.get(flat[0]!.output[0]!);
    const g = gemms?.[0];
    if (gemms?.length !== 1 || g!.opType !== 'Gemm' || attrInt(g!, 'transB', 0) !== 0 || attrInt(g!, 'transA', 0) !== 0 || attrFloat(g!, 'alpha', 1) !== 1 || attrFloat(g!, 'beta', 1) !== 1) continue;
    const shape = shapes.get(bn.input[0]!);
    const w = m.inits.get(g!.input[1]!);
    const c0 = g!.input[2] ? m.inits.get(g!.input[2]) : undefined;
    const aff = bnAffine(m, bn);
    if (!shape || shape.length < 2 || !aff || !w || w.dataType !== DataType.FLOAT || (g!.input[2] && !c0)) continue;
    const per = shape.slice(2).reduce((a, b) => a * b, 1);
    const [rows, cols] = w.dims as [number, number];
    if (rows !== shape[1]! * per) continue;
    const wd = floatsOf(w);
    const nw = new Float32Array(wd.length);
    const nb = c0 ? floatsOf(c0).slice() : new Float32Array(cols);
    if (nb.length !== cols) continue;
    for (let r = 0; r < rows; r++) {
      const ch = Math.floor(r / per);
      for (let j = 0; j < cols; j++) {
        nw[r * cols + j] = wd[r * cols + j]! * aff.scale[ch]!;
        nb[j] += aff.shift[ch]! * wd[r * cols + j]!;
      }
    }
    setInit(m, `${g!.input[1]}_bnfold`, DataType.FLOAT, w.dims, nw);
    setInit(m, `${g!.name}/bias_bnfold`, DataType.FLOAT, [cols], nb);
    g!.input = [g!.input[0]!, `${g!.input[1]}_bnfold`, `${g!.name}/bias_bnfold`];
    flat[0]!.input = [bn.input[0]!];
    m.nodes.splice(m.nodes.indexOf(bn), 1);
    folded.push(bn.name);
  }
  return folded;
}

/** Two-input Sum (the exporter's Add layer) as Add, which has an integer kernel. */
export function sumToAdd(m: IrModel): void {
  for (const n of m.nodes) if (n.opType === 'Sum' && n.input.length === 2) n.opType = 'Add';
}

/** ReduceMean over H, W of an NCHW tensor (global average pooling) as GlobalAveragePool + Flatten. */
export function globalPools(m: IrModel, shapes: ReadonlyMap<string, number[]>, ranges: Map<string, [number, number]>): void {
  for (const n of [...m.nodes]) {
    if (n.opType !== 'ReduceMean' || attrInt(n, 'keepdims', 1) !== 0) continue;
    if ((shapes.get(n.input[0]!)?.length ?? 0) !== 4 || attrInts(n, 'axes').join() !== '2,3') continue;
    const mid = `${n.output[0]}/global_pool`;
    const flat: IrNode = { opType: 'Flatten', name: `${n.name}/flatten`, input: [mid], output: [n.output[0]!], attribute: [intAttr('axis', 1)] };
    Object.assign(n, { opType: 'GlobalAveragePool', output: [mid], attribute: [] });
    m.nodes.splice(m.nodes.indexOf(n) + 1, 0, flat);
    const r = ranges.get(flat.output[0]!);
    if (r) ranges.set(mid, r);
  }
}

