import * as tf from '@tensorflow/tfjs';
import { valueInfo } from './builder.js';
import { ConvertContext, physicalShape, type OnnxValue, type OnnxWeightMode } from './context.js';
import { getOnnxConverter, supportedOnnxLayers } from './registry.js';
import { modelProtoType } from './schema.js';
import './converters/index.js';
import type { QuantizedWeights } from '../../quantize/types.js';

/** Options of {@link convertToOnnx}. */
export interface ConvertArgs {
  /** ONNX opset, 13 (default) to 17. */
  opset?: number;
  /** Inputs and rank >= 3 outputs channels-first (NCHW) instead of tfjs's channels-last. */
  nchw?: boolean;
  /** Storage of kernels/embeddings (default float32). */
  weights?: OnnxWeightMode;
  /**
   * Quantized records of the model's weights (what `quantizeModel` returned, or what a `.tfjsc`
   * container or a `quantization.json` sidecar stores), by weight name: each such weight is written
   * as its stored values and scales exactly, whatever `weights` says (see `ConvertContext.kernel`).
   */
  records?: QuantizedWeights;
}

/** A converted model before verification. */
export interface ConvertedModel {
  bytes: Uint8Array;
  opset: number;
  irVersion: number;
  weights: OnnxWeightMode;
  inputNames: string[];
  outputNames: string[];
  /** Layout of each output in the ONNX graph (`cf` = channels-first). */
  outputLayouts: ('tf' | 'cf')[];
  /** Layout of each input in the ONNX graph. */
  inputLayouts: ('tf' | 'cf')[];
  /** Dequantized weight values, keyed by tfjs variable (empty for float32). */
  dequantized: Map<tf.LayerVariable, Float32Array>;
  /** Node count per op type. */
  opCounts: Record<string, number>;
  initializerBytes: number;
  /** Weights written from their quantized records (see {@link ConvertArgs.records}). */
  recordsWritten: string[];
}

type Sym = tf.SymbolicTensor;
interface TfNode {
  inputTensors: Sym[];
  outputTensors: Sym[];
}

function nodeOf(t: Sym): { layer: tf.layers.Layer; node: TfNode } {
  const layer = t.sourceLayer as tf.layers.Layer;
  return { layer, node: layer.inboundNodes[t.nodeIndex] as unknown as TfNode };
}

/** A model used as a layer (e.g. a feature extractor inside a Sequential): its graph is inlined. */
function isNestedModel(layer: tf.layers.Layer): layer is tf.LayersModel {
  return layer instanceof tf.LayersModel;
}

/** Layers the model's outputs depend on (nested models expanded; model inputs excluded). */
function reachableLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const seen = new Set<number>();
  const inputIds = new Set(model.inputs.map((t) => t.id));
  const layers = new Map<tf.layers.Layer, true>();
  const stack = [...model.outputs];
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t.id) || inputIds.has(t.id)) continue;
    seen.add(t.id);
    const { layer, node } = nodeOf(t);
    if (isNestedModel(layer)) for (const l of reachableLayers(layer)) layers.set(l, true);
    else layers.set(layer, true);
    stack.push(...node.inputTensors);
  }
  return [...layers.keys()];
}

/** Throw before any work when a layer has no converter, naming every offending layer. */
export function checkSupported(model: tf.LayersModel): void {
  const bad = reachableLayers(model).filter((l) => !getOnnxConverter(l.getClassName()));
  if (bad.length) {
    throw new Error(
      `cannot export model '${model.name}' to ONNX: unsupported layer${bad.length > 1 ? 's' : ''} ` +
        `${bad.map((l) => `'${l.name}' (${l.getClassName()})`).join(', ')}. Supported layer classes: ${supportedOnnxLayers().join(', ')}. ` +
        `Use registerOnnxConverter(className, fn) for custom layers.`,
    );
  }
}

/** IR version written for an opset (ONNX 1.12 pairs opsets 13-17 with IR 8). */
export function irVersionFor(opset: number): number {
  return opset >= 13 && opset <= 17 ? 8 : 7;
}

/**
 * The model's user-defined metadata (input scaling, conversion provenance) as ONNX metadata_props,
 * one entry per top-level key with a JSON value, so settings carried by the model reach ONNX users.
 */
function metadataProps(model: tf.LayersModel): { key: string; value: string }[] {
  const meta = model.getUserDefinedMetadata() as Record<string, unknown> | undefined;
  return Object.entries(meta ?? {}).map(([key, v]) => ({ key, value: JSON.stringify(v) }));
}

/**
 * Convert a tfjs LayersModel (Sequential or functional) to ONNX bytes. No verification here; see
 * `exportOnnx` for the verified entry point.
 */
export function convertToOnnx(model: tf.LayersModel, args: ConvertArgs = {}): ConvertedModel {
  const opset = args.opset ?? 13;
  if (!Number.isInteger(opset) || opset < 13 || opset > 17) throw new Error(`opset must be an integer from 13 to 17, got ${opset}`);
  const weights = args.weights ?? 'float32';
  if (!['float32', 'float16', 'int8'].includes(weights)) throw new Error(`weights must be float32, float16 or int8, got '${weights}'`);
  checkSupported(model);
  const ctx = new ConvertContext(opset, weights, args.records);
  const values = new Map<number, OnnxValue>();
  // Output names are claimed first so no internal node takes them (a layer named 'logits' whose
  // value then needs a Transpose would otherwise collide).
  // Sequential models leave inputNames/outputNames empty: fall back to tensor and layer names.
  const inputNames = model.inputs.map((t, i) => model.inputNames[i] ?? t.name);
  const outputNames = model.outputs.map((t, i) => model.outputNames[i] ?? t.sourceLayer.name);
  const outputNameSet = new Set(outputNames.filter((n) => !inputNames.includes(n)));
  const inputLayouts: ('tf' | 'cf')[] = [];
  for (const n of outputNameSet) ctx.b.reserve(n);
  const graphInputs = model.inputs.map((t, i) => {
    const name = inputNames[i]!;
    ctx.b.reserve(name);
    const layout = args.nchw && t.shape.length >= 3 ? 'cf' : 'tf';
    inputLayouts.push(layout);
    const v: OnnxValue = { name, shape: t.shape.slice(), layout, dtype: t.dtype === 'int32' ? 'int32' : 'float32' };
    if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new Error(`model input '${name}': dtype ${t.dtype} cannot be exported`);
    values.set(t.id, v);
    return valueInfo(name, v.dtype, physicalShape(v));
  });

  // Values are scoped per (nested) model call: a nested model applied twice has the same inner tensors.
  const resolve = (t: Sym, scope: Map<number, OnnxValue>): OnnxValue => {
    const hit = scope.get(t.id);
    if (hit) return hit;
    const { layer, node } = nodeOf(t);
    const inputs = node.inputTensors.map((x) => resolve(x, scope));
    if (isNestedModel(layer)) {
      const inner = new Map<number, OnnxValue>();
      layer.inputs.forEach((x, i) => inner.set(x.id, inputs[i]!));
      node.outputTensors.forEach((o, i) => scope.set(o.id, resolve(layer.outputs[i]!, inner)));
      return scope.get(t.id)!;
    }
    const conv = getOnnxConverter(layer.getClassName())!;
    let outs: OnnxValue | OnnxValue[];
    try {
      outs = conv({ layer, config: layer.getConfig() as Record<string, unknown>, inputs, outputShapes: node.outputTensors.map((o) => o.shape.slice()), ctx });
    } catch (err) {
      const msg = (err as Error).message;
      throw new Error(msg.includes(`'${layer.name}'`) ? msg : `layer '${layer.name}' (${layer.getClassName()}): ${msg}`);
    }
    const list = Array.isArray(outs) ? outs : [outs];
    if (list.length !== node.outputTensors.length) {
      throw new Error(`layer '${layer.name}' (${layer.getClassName()}): converter returned ${list.length} outputs, expected ${node.outputTensors.length}`);
    }
    node.outputTensors.forEach((o, i) => scope.set(o.id, list[i]!));
    return scope.get(t.id)!;
  };

  // Every output is resolved (and put in its layout) before any is renamed: a later output's
  // layers may consume an earlier output's value by its internal name (multi-output models that
  // expose intermediate tensors, e.g. a generator listing its hidden layers as outputs).
  const finals = model.outputs.map((t) => {
    let v = resolve(t, values);
    v = ctx.toLayout(v, args.nchw && v.shape.length >= 3 ? 'cf' : 'tf');
    return v.flatOf ? ctx.toLayout(v, 'tf') : v;
  });
  const outputLayouts = finals.map((v) => v.layout);
  const taken = new Set(inputNames);
  const renamed = new Map<string, string>();
  const graphOutputs = finals.map((v, i) => {
    let name = outputNames[i]!;
    // A repeated output name, or one equal to an input name, gets a fresh unique name.
    if (!outputNameSet.has(name) || taken.has(name)) name = ctx.b.unique(name);
    const src = renamed.get(v.name) ?? v.name;
    if (taken.has(src) || ctx.b.initializers.some((x) => x.name === src)) {
      // The value is a graph input or an earlier output (or a constant): give this output its own Identity.
      ctx.b.nodeWithOutputs('Identity', [src], {}, `${name}/identity`, [name]);
    } else {
      ctx.b.renameReserved(src, name);
      renamed.set(v.name, name);
    }
    taken.add(name);
    return valueInfo(name, v.dtype, physicalShape(v));
  });

  const irVersion = irVersionFor(opset);
  const proto = {
    irVersion,
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'tfjs-compress',
    producerVersion: '0.1.0',
    docString: `exported from tfjs model '${model.name}'`,
    metadataProps: metadataProps(model),
    graph: ctx.b.toGraphProto(model.name || 'model', graphInputs, graphOutputs),
  };
  const T = modelProtoType();
  const err = T.verify(proto);
  if (err) throw new Error(`internal: invalid ONNX ModelProto: ${err}`);
  const bytes = T.encode(T.fromObject(proto)).finish();
  const opCounts: Record<string, number> = {};
  for (const n of ctx.b.nodes) opCounts[n.opType] = (opCounts[n.opType] ?? 0) + 1;
  return {
    bytes,
    opset,
    irVersion,
    weights,
    inputNames,
    outputNames: graphOutputs.map((o) => (o as { name: string }).name),
    inputLayouts,
    outputLayouts,
    dequantized: ctx.dequantized,
    opCounts,
    initializerBytes: ctx.b.initializers.reduce((s, x) => s + x.raw.length, 0),
    recordsWritten: [...ctx.recordsWritten],
  };
}
