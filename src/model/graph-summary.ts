import type { GraphModel } from '@tensorflow/tfjs-converter';
import { graphNodes } from './graph-info.js';
import { countNonZeros, formatSignature, percent, signatureShapeText, textTable, type TensorSignature } from './summary.js';

export type { TensorSignature } from './summary.js';

/** One weight tensor of a graph (or ONNX) model. */
export interface WeightSummary {
  name: string;
  shape: number[];
  dtype: string;
  /** Values in the tensor. */
  params: number;
  /** Values that are not exactly zero. */
  nonZeros: number;
  /** Bytes of the values at their dtype. */
  bytes: number;
}

/** What `info` reports for a model that has no layers: ops, weights, totals, signature. */
export interface GraphSummary {
  kind: 'graph' | 'onnx';
  /** Node count per op, most frequent first. */
  ops: Record<string, number>;
  weights: WeightSummary[];
  /** Floating-point weight values (integer tensors are shapes and indices, not parameters). */
  params: number;
  /** Non-zero floating-point weight values. */
  nonZeros: number;
  /** 1 - nonZeros / params. */
  sparsity: number;
  /** Bytes of every weight tensor, integer ones included. */
  bytes: number;
  inputs: TensorSignature[];
  outputs: TensorSignature[];
}

const WIDTH: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, string: 0, float16: 2, int64: 8, uint8: 1, int8: 1, float64: 8 };

/** Histogram of op names, most frequent first (ties by name). */
export function opHistogram(ops: Iterable<string>): Record<string, number> {
  const counts = new Map<string, number>();
  for (const op of ops) counts.set(op, (counts.get(op) ?? 0) + 1);
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

/** Totals of a weight list; params and non-zeros count floating-point tensors only. */
export function summarizeWeights(
  kind: GraphSummary['kind'],
  ops: Record<string, number>,
  weights: WeightSummary[],
  inputs: TensorSignature[],
  outputs: TensorSignature[],
): GraphSummary {
  const float = weights.filter((w) => w.dtype.startsWith('float'));
  const params = float.reduce((s, w) => s + w.params, 0);
  const nonZeros = float.reduce((s, w) => s + w.nonZeros, 0);
  const bytes = weights.reduce((s, w) => s + w.bytes, 0);
  return { kind, ops, weights, params, nonZeros, sparsity: params ? 1 - nonZeros / params : 0, bytes, inputs, outputs };
}

type SignatureEntry = { name?: string; dtype?: string; tensorShape?: { dim?: Array<{ size?: string | number }> } };

/** Shapes the converter wrote into the model's signature, by tensor name without `:0`. */
function signatureShapes(model: GraphModel): Map<string, number[]> {
  const sig = model.modelSignature as { inputs?: Record<string, SignatureEntry>; outputs?: Record<string, SignatureEntry> } | undefined;
  const out = new Map<string, number[]>();
  for (const entry of [...Object.values(sig?.inputs ?? {}), ...Object.values(sig?.outputs ?? {})]) {
    const dims = entry.tensorShape?.dim;
    if (entry.name && dims) out.set(entry.name.replace(/:0$/, ''), dims.map((d) => Number(d.size ?? -1)));
  }
  return out;
}

function signature(infos: ReadonlyArray<{ name: string; shape?: number[]; dtype?: string }>, declared: Map<string, number[]>): TensorSignature[] {
  return infos.map((i) => {
    // Graph nodes often carry no output shape; the signature does.
    const fromSig = declared.get(i.name.replace(/:0$/, ''));
    const shape = i.shape && i.shape.length >= (fromSig?.length ?? 0) ? [...i.shape] : fromSig;
    return { name: i.name, ...(shape ? { shape } : {}), ...(i.dtype ? { dtype: i.dtype } : {}) };
  });
}

/**
 * Op histogram, weight tensors (name, shape, dtype, params, non-zeros, bytes), totals and the
 * inputs/outputs of a loaded tfjs graph model.
 *
 * @example
 * const s = graphSummary(await loadGraphModel(handler)); // s.ops -> { Const: 17, _FusedConv2D: 3, ... }
 */
export function graphSummary(model: GraphModel): GraphSummary {
  const weights: WeightSummary[] = [];
  for (const [name, tensors] of Object.entries(model.weights)) {
    tensors.forEach((t, i) => {
      const values = t.dtype === 'string' ? [] : (t.dataSync() as ArrayLike<number>);
      weights.push({
        name: tensors.length > 1 ? `${name}:${i}` : name,
        shape: t.shape.slice(),
        dtype: t.dtype,
        params: t.size,
        nonZeros: countNonZeros(values),
        bytes: t.size * (WIDTH[t.dtype] ?? 4),
      });
    });
  }
  weights.sort((a, b) => a.name.localeCompare(b.name));
  const ops = opHistogram(graphNodes(model).map((n) => n.op));
  const declared = signatureShapes(model);
  return summarizeWeights('graph', ops, weights, signature(model.inputs, declared), signature(model.outputs, declared));
}

const shapeText = signatureShapeText;

/** Render a {@link GraphSummary}: signature, op histogram, weight table and totals. */
export function formatGraphSummary(s: GraphSummary): string {
  const table = textTable(
    [
      ['weight', 'shape', 'dtype', 'params', 'non-zeros', 'sparsity', 'bytes'],
      ...s.weights.map((w) => [w.name, shapeText(w.shape), w.dtype, String(w.params), String(w.nonZeros), percent(w.params ? 1 - w.nonZeros / w.params : 0), String(w.bytes)]),
      ['total', '', '', String(s.params), String(s.nonZeros), percent(s.sparsity), String(s.bytes)],
    ],
    3,
  );
  const ops = Object.entries(s.ops).map(([op, n]) => `${op} x${n}`).join(', ');
  return [
    `${s.kind === 'graph' ? 'tfjs graph model' : 'ONNX model'}: ${Object.values(s.ops).reduce((a, b) => a + b, 0)} nodes, ${s.weights.length} weight tensors`,
    ...formatSignature(s.inputs, s.outputs),
    `ops: ${ops}`,
    '',
    table,
  ].join('\n');
}
