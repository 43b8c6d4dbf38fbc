import * as tf from '@tensorflow/tfjs';
import { dataInputs, parseRef } from './attrs.js';
import { BuildContext, constFromTensor } from './context.js';
import type { GraphDef } from './graph.js';
import { OP_HANDLERS, isConvertibleOp } from './registry.js';
import { UnsupportedOp, type TensorValue, type Value } from './values.js';

/** A rebuilt layers model and what parity inputs need to know about it. */
export interface BuiltModel {
  model: tf.LayersModel;
  /** True when a graph input has a fixed batch of 1 (parity then runs one sample at a time). */
  fixedBatch1: boolean;
  /** Per model input: exclusive upper bound of valid integer ids (int inputs only). */
  intRanges: (number | undefined)[];
}

/**
 * The graph has ops (or op attributes) with no stock-layers form: conversion is refused before
 * anything is built. Callers may fall back to a graph-level path (e.g. the direct ONNX exporter).
 */
export class GraphConversionRefused extends Error {
  override name = 'GraphConversionRefused';
}

/** "Foo x2, Bar x1": op counts, most frequent first. */
export function formatOpCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([op, n]) => `${op} x${n}`)
    .join(', ');
}

/** Reachable op types without a conversion, with their node counts (empty when all convert). */
export function unsupportedOpCounts(def: GraphDef): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of def.reachable) if (!isConvertibleOp(n.op)) counts[n.op] = (counts[n.op] ?? 0) + 1;
  return counts;
}

/** Input layers for the graph's Placeholders: batch -1 or a fixed 1 become a free batch. */
function makeInputs(def: GraphDef, c: BuildContext): { symbolic: tf.SymbolicTensor[]; values: TensorValue[] } {
  const symbolic: tf.SymbolicTensor[] = [];
  const values: TensorValue[] = [];
  def.graph.inputs.forEach((info, i) => {
    const name = def.inputNames[i]!;
    const shape = info.shape;
    if (!shape || shape.length === 0) throw new UnsupportedOp('Placeholder', `input '${name}' has ${shape ? 'rank 0' : 'no static rank'}`);
    if (shape[0] !== -1 && shape[0] !== 1) throw new UnsupportedOp('Placeholder', `input '${name}' has a fixed batch of ${shape[0]}`);
    if (info.dtype !== 'float32' && info.dtype !== 'int32') throw new UnsupportedOp('Placeholder', `input '${name}' has dtype ${info.dtype}`);
    const dtype = info.dtype;
    const dims = shape.slice(1).map((d) => (d < 0 ? null : d));
    // tfjs layers models take rank >= 2 inputs (predict turns [N] into [N, 1]): a rank-1 graph input
    // becomes [N, 1] and is reshaped back to [N] inside the model.
    const input = tf.input({ batchShape: [null, ...(dims.length ? dims : [1])], dtype, name: c.layerName(name) });
    symbolic.push(input);
    let v: TensorValue = { kind: 'tensor', t: input, dtype, origin: name };
    if (!dims.length) v = { ...c.apply(tf.layers.reshape({ targetShape: [], name: c.layerName(name, '_flat') }), v, [], dtype), origin: name };
    values.push(v);
    c.set(name, v);
  });
  return { symbolic, values };
}

/** Convert every node the outputs need, inputs before consumers (iterative, so deep graphs are fine). */
function convertNodes(def: GraphDef, c: BuildContext): void {
  const stack: { name: string; ready: boolean }[] = def.outputRefs.map((r) => ({ name: parseRef(r).node, ready: false }));
  while (stack.length) {
    const top = stack.pop()!;
    if (c.done(top.name)) continue;
    const node = def.node(top.name);
    if (node.op === 'Const') {
      const t = def.constTensor(node.name);
      if (!t) throw new Error(`graph model: no weight data for Const '${node.name}'`);
      c.set(node.name, constFromTensor(t));
      continue;
    }
    if (node.op === 'Placeholder') throw new UnsupportedOp('Placeholder', `'${node.name}' is not among the model inputs`);
    if (!top.ready) {
      stack.push({ name: top.name, ready: true });
      for (const ref of dataInputs(node)) stack.push({ name: parseRef(ref).node, ready: false });
      continue;
    }
    const handler = OP_HANDLERS[node.op];
    if (!handler) throw new UnsupportedOp(node.op, `op ${node.op} only converts inside a larger pattern (node '${node.name}')`);
    let out: Value | Value[];
    try {
      out = handler(node, c);
    } catch (err) {
      if (err instanceof UnsupportedOp) throw new UnsupportedOp(err.op, `node '${node.name}': ${err.message}`);
      throw new Error(`graph node '${node.name}' (${node.op}): ${(err as Error).message}`);
    }
    // A handler may already have given this node a value while folding it into an earlier layer.
    if (!c.done(node.name)) (Array.isArray(out) ? out : [out]).forEach((v, i) => c.set(node.name, v, i));
  }
}

/** Dispose the variables of layers built before a conversion failed. */
function disposeLayers(layers: tf.layers.Layer[]): void {
  for (const l of layers) {
    try {
      if (l.built) l.dispose();
    } catch {
      // already disposed (shared) layers are fine
    }
  }
}

/**
 * Rebuild a GraphDef as a functional LayersModel from stock layers. Throws one message listing
 * unsupported op types (with counts), or naming the node whose attributes have no layers form.
 */
export function buildLayersModel(def: GraphDef, name: string): BuiltModel {
  const bad = unsupportedOpCounts(def);
  if (Object.keys(bad).length) throw new GraphConversionRefused(`cannot convert graph model '${name}': unsupported ops ${formatOpCounts(bad)}`);
  const fixedBatch1 = def.graph.inputs.some((i) => i.shape?.[0] === 1);
  const c = new BuildContext(def, fixedBatch1);
  try {
    const inputs = makeInputs(def, c);
    convertNodes(def, c);
    const outputs = def.outputRefs.map((r) => {
      const v: Value | undefined = c.get(r);
      if (!v || v.kind !== 'tensor') throw new UnsupportedOp('output', `model output '${r}' is ${v?.kind === 'const' ? 'a constant' : 'not a layers tensor'}`);
      return v.t;
    });
    const model = tf.model({ inputs: inputs.symbolic, outputs, name: c.layerName(name) });
    const intRanges = def.graph.inputs.map((info, i) => (info.dtype === 'int32' ? c.intRanges.get(def.inputNames[i]!) : undefined));
    return { model, fixedBatch1, intRanges };
  } catch (err) {
    disposeLayers(c.layers);
    if (err instanceof UnsupportedOp) throw new GraphConversionRefused(`cannot convert graph model '${name}': unsupported ops ${err.op} x1 (${err.message})`);
    throw err;
  }
}
