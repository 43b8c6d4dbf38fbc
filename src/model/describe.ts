import { inputScalingFromMetadata } from '../data/scaling-metadata.js';
import { formatInputScaling, type InputScaling } from '../data/transform.js';
import { formatGraphSummary, graphSummary, type GraphSummary } from './graph-summary.js';
import { modelInputShape, type InputShape } from './input-shape.js';
import { readFileSync } from 'node:fs';
import { unpackArtifacts } from '../serialize/decoder.js';
import { readModelJsonFile } from './io.js';
import { loadModel, locateModel, type LoadedModel, type ModelFormat } from './load.js';
import { onnxSummary } from './onnx-summary.js';
import { formatSummary, summary, type ModelSummary } from './summary.js';
import { modelOutputShape } from './validate/data-fit.js';

/** What {@link describeModel} finds: the format, the summary, and its text rendering. */
export interface ModelDescription {
  format: ModelFormat;
  /** The per-layer table of a layers model, or the op/weight summary of a graph or ONNX model. */
  summary: ModelSummary | GraphSummary;
  text: string;
  /** The input scaling stored in the model's metadata, when there is one. */
  inputScaling?: InputScaling;
}

/**
 * Summarise any model argument: a layers model (folder, model.json, `.tfjsc`, `zoo:`) per layer;
 * a graph model or `.onnx` file by ops, weight tensors and inputs/outputs.
 *
 * @example
 * console.log((await describeModel('fixtures/web_model2')).text);
 */
export async function describeModel(spec: string, command = 'info'): Promise<ModelDescription> {
  const m = await loadModel(spec, { command, accept: ['layers', 'graph', 'onnx'] });
  if (m.kind === 'onnx') {
    const s = onnxSummary(m.path);
    return { format: m.format, summary: s, text: formatGraphSummary(s) };
  }
  try {
    // The stored scaling heads the text: it is how the model expects to be fed.
    const stored = inputScalingFromMetadata(m.model, spec);
    const head = stored ? `input scaling (stored in the model): ${formatInputScaling(stored)}\n` : '';
    if (m.kind === 'graph') {
      const s = graphSummary(m.model);
      return { format: m.format, summary: s, text: head + formatGraphSummary(s), ...(stored ? { inputScaling: stored } : {}) };
    }
    const s = summary(m.model);
    return { format: m.format, summary: s, text: head + formatSummary(s), ...(stored ? { inputScaling: stored } : {}) };
  } finally {
    m.model.dispose();
  }
}

/** What data-taking commands need to know about a loaded model before loading its data. */
export interface ModelDataFacts {
  /** Per-sample shape of the first input (unknown dims `null`). */
  inputShape?: InputShape;
  /** Input scaling stored in the model's user-defined metadata. */
  inputScaling?: InputScaling;
  /** Per-sample shape of the first output (bounds the class count read from labels). */
  outputShape?: InputShape;
}

/**
 * The first input's per-sample shape and the stored input scaling of a loaded model (ONNX:
 * the shape only; its metadata is not read).
 *
 * @example
 * const m = await loadModel(spec, { command: 'eval', accept: ['layers', 'graph', 'onnx'] });
 * const { inputShape, inputScaling } = modelDataFacts(m);
 */
export function modelDataFacts(m: LoadedModel): ModelDataFacts {
  if (m.kind === 'onnx') {
    const shape = onnxSummary(m.path).inputs[0]?.shape?.slice(1).map((d) => (d >= 0 ? d : null));
    return shape ? { inputShape: shape } : {};
  }
  const inputShape = modelInputShape(m.model);
  const inputScaling = inputScalingFromMetadata(m.model, m.location.spec);
  const outputShape = modelOutputShape(m.model);
  return { ...(inputShape ? { inputShape } : {}), ...(inputScaling ? { inputScaling } : {}), ...(outputShape ? { outputShape } : {}) };
}

/**
 * The input scaling stored with a model on disk (model.json or container metadata), read
 * without building the model; `undefined` for formats without it (zoo, ONNX, Keras files).
 *
 * @example
 * storedInputScaling('out/teacher'); // { scale: 0.00784.., offset: -1 } after `train --input-range -1..1`
 */
export function storedInputScaling(spec: string): InputScaling | undefined {
  const loc = locateModel(spec);
  if (loc.format === 'layers-model' || loc.format === 'graph-model') {
    return inputScalingFromMetadata(readModelJsonFile(loc.path!) as { userDefinedMetadata?: unknown } | undefined, loc.path);
  }
  if (loc.format === 'container') return inputScalingFromMetadata(unpackArtifacts(new Uint8Array(readFileSync(loc.path!))), loc.path);
  return undefined;
}
