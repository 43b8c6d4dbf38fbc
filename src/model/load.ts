import * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { isGraphArtifacts, unpackArtifacts } from '../serialize/decoder.js';
import { MAGIC } from '../serialize/format.js';
import { oneLine } from '../util/errors.js';
import { graphToLayers, type GraphToLayersArgs, type GraphToLayersReport } from './graph-to-layers/index.js';
import { disposeNestedWithOuter } from './dispose.js';
import { releaseOnFailure } from './validate/no-leak.js';
import { checkGraphOps } from './validate/graph-json.js';
import { validateModelJson } from './validate/model-json.js';
import { fileHandler, modelJsonPath, readModelJsonFile } from './io.js';
import { kerasCompatHandler, loadKerasModel, splitWeightsSpec } from './keras/index.js';
import { buildZooModel, zooNames } from './zoo.js';

/*
 * The one model loader: every command hands it the user's model argument and says which kinds it
 * takes. Formats are recognised from the files themselves (magic bytes, the model.json's
 * topology), not from names, and a kind a command cannot take is refused in one line.
 */

/** Every model form the SDK recognises. */
export type ModelFormat = 'zoo' | 'layers-model' | 'graph-model' | 'container' | 'onnx' | 'keras-h5' | 'keras-v3';

/** What a command can be handed: a tfjs layers model, a tfjs graph model, or an ONNX file. */
export type ModelForm = 'layers' | 'graph' | 'onnx';

/** Human names of the formats, as error messages print them. */
export const MODEL_FORMAT_NAMES: Record<ModelFormat, string> = {
  zoo: 'zoo model',
  'layers-model': 'tfjs layers model',
  'graph-model': 'tfjs graph model',
  container: 'tfjs-compress container (.tfjsc)',
  onnx: 'ONNX model',
  'keras-h5': 'Keras HDF5 file',
  'keras-v3': 'Keras 3 .keras file',
};

const FORM_NAMES: Record<ModelForm, string> = {
  layers: 'tfjs layers models (folder, model.json, .tfjsc, Keras .h5/.keras or zoo:name)',
  graph: 'tfjs graph models (converter output)',
  onnx: '.onnx files',
};

/** Where a model argument points and what it is. */
export interface ModelLocation {
  /** The argument as the user gave it. */
  spec: string;
  format: ModelFormat;
  /** The file read: model.json (or the graph model's JSON), the container, the .onnx or Keras file. */
  path?: string;
}

const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

function head(path: string, n: number): Uint8Array {
  const buf = new Uint8Array(n);
  const fd = openSync(path, 'r');
  try {
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

const startsWith = (bytes: Uint8Array, magic: ArrayLike<number>) => Array.from(magic).every((b, i) => bytes[i] === b);

function jsonFormat(path: string, json: { format?: string; modelTopology?: unknown }): ModelFormat {
  const topo = json.modelTopology as { node?: unknown; class_name?: unknown } | null;
  if (json.format === 'graph-model' || Array.isArray(topo?.node)) return 'graph-model';
  if (json.format === undefined || json.format === 'layers-model') return 'layers-model';
  throw new Error(`${path}: unknown tfjs model format ${oneLine(JSON.stringify(json.format) ?? String(json.format), 60)} (expected 'layers-model' or 'graph-model')`);
}

/**
 * Recognise a model argument from its files: `zoo:<name>`, a folder or JSON file of a tfjs layers
 * or graph model, a `.tfjsc` container (by magic bytes), an `.onnx` file, or a Keras `.h5`/`.keras`
 * file (by the HDF5 / zip signature).
 *
 * @example
 * locateModel('fixtures/web_model2'); // { format: 'graph-model', path: '.../model.json', ... }
 */
export function locateModel(spec: string): ModelLocation {
  if (spec.startsWith('zoo:')) {
    const name = spec.slice(4);
    if (!zooNames().includes(name)) {
      throw new Error(`unknown zoo model '${name}' in '${spec}': expected one of ${zooNames().join(', ')}`);
    }
    return { spec, format: 'zoo' };
  }
  const p = resolve(spec);
  if (!existsSync(p)) throw new Error(`model not found: ${spec} does not exist`);
  if (statSync(p).isDirectory()) {
    const json = modelJsonPath(spec);
    const parsed = readModelJsonFile(json);
    if (!parsed) throw new Error(`${json}: field 'modelTopology' is missing, not a tfjs model.json`);
    return { spec, format: jsonFormat(json, parsed), path: json };
  }
  const bytes = head(p, 16);
  if (startsWith(bytes, MAGIC)) return { spec, format: 'container', path: p };
  if (startsWith(bytes, HDF5_MAGIC)) return { spec, format: 'keras-h5', path: p };
  if (startsWith(bytes, ZIP_MAGIC)) {
    if (extname(p).toLowerCase() === '.keras' || extname(p).toLowerCase() === '.zip') return { spec, format: 'keras-v3', path: p };
    throw new Error(`${spec}: a zip archive, not a model the SDK reads (a Keras 3 model file ends in .keras)`);
  }
  if (extname(p).toLowerCase() === '.onnx') return { spec, format: 'onnx', path: p };
  const firstChar = new TextDecoder().decode(bytes).trimStart()[0];
  if (firstChar === '{') {
    const parsed = readModelJsonFile(p);
    if (!parsed) throw new Error(`${spec}: JSON without a 'modelTopology' field, not a tfjs model.json`);
    return { spec, format: jsonFormat(p, parsed), path: p };
  }
  throw new Error(
    `${spec}: not a model file the SDK reads (expected a tfjs model folder or model.json, a .tfjsc container, an .onnx file, or a Keras .h5/.keras file)`,
  );
}

/** A model as loaded by {@link loadModel}. The caller disposes `model`. */
export type LoadedModel =
  | { kind: 'layers'; format: ModelFormat; location: ModelLocation; model: tf.LayersModel }
  | { kind: 'graph'; format: ModelFormat; location: ModelLocation; model: GraphModel }
  | { kind: 'onnx'; format: 'onnx'; location: ModelLocation; path: string };

/** Options of {@link loadModel}. */
export interface LoadModelArgs {
  /** The command (or API function) asking, for the refusal message, e.g. `info`. */
  command: string;
  /** The kinds the command takes; any other is refused in one line. */
  accept: readonly ModelForm[];
  /** Seed for `zoo:` models. */
  seed?: number;
}

function refuse(loc: ModelLocation, args: LoadModelArgs, extra = ''): Error {
  const takes = args.accept.map((k) => FORM_NAMES[k]).join(', ');
  const name = MODEL_FORMAT_NAMES[loc.format];
  return new Error(`${args.command} takes ${takes}; '${loc.spec}' is ${/^[aeiouAEIO]/.test(name) ? 'an' : 'a'} ${name}${extra}`);
}

async function loadGraph(handler: tf.io.IOHandler, file = 'graph model'): Promise<GraphModel> {
  const { loadGraphModel } = await import('@tensorflow/tfjs-converter');
  // tfjs reads modelTopology.versions.producer unguarded; hand-written graphs may omit it.
  const withVersions: tf.io.IOHandler = {
    load: async () => {
      const a = await handler.load!();
      const topo = a.modelTopology as { versions?: unknown } | undefined;
      return topo && typeof topo === 'object' && topo.versions == null ? { ...a, modelTopology: { ...topo, versions: {} } } : a;
    },
  };
  const model = await loadGraphModel(withVersions);
  try {
    checkGraphOps(model, file);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

/** Load the artifacts of a location as whichever tfjs kind they are. */
async function loadTfjs(loc: ModelLocation, seed?: number): Promise<Exclude<LoadedModel, { kind: 'onnx' }>> {
  const where = (err: unknown) => {
    const msg = oneLine((err as Error).message);
    return new Error(msg.includes(loc.spec) || (loc.path && msg.includes(loc.path)) ? msg : `${loc.spec}: ${msg}`);
  };
  if (loc.format === 'zoo') {
    return { kind: 'layers', format: 'zoo', location: loc, model: buildZooModel(loc.spec.slice(4), { seed }) };
  }
  try {
    if (loc.format === 'container') {
      const bytes = new Uint8Array(readFileSync(loc.path!));
      const artifacts = unpackArtifacts(bytes);
      // The model part of a container gets the same checks as a model.json.
      validateModelJson({ ...artifacts, weightData: undefined, weightSpecs: undefined, weightsManifest: [{ paths: [], weights: artifacts.weightSpecs ?? [] }] }, `${loc.path}: container model`);
      const handler = { load: async () => artifacts };
      return isGraphArtifacts(artifacts)
        ? { kind: 'graph', format: 'container', location: loc, model: await releaseOnFailure(() => loadGraph(handler, loc.path)) }
        : { kind: 'layers', format: 'container', location: loc, model: disposeNestedWithOuter(await releaseOnFailure(() => tf.loadLayersModel(handler))) };
    }
    if (loc.format === 'graph-model') {
      return { kind: 'graph', format: 'graph-model', location: loc, model: await releaseOnFailure(() => loadGraph(fileHandler(loc.path!), loc.path)) };
    }
    // Keras-3 topologies (converter 4.22 writes `batch_shape`) are translated so stock tfjs reads them.
    const handler = kerasCompatHandler(fileHandler(loc.path!), loc.path);
    return { kind: 'layers', format: 'layers-model', location: loc, model: disposeNestedWithOuter(await releaseOnFailure(() => tf.loadLayersModel(handler))) };
  } catch (err) {
    throw where(err);
  }
}

/**
 * Load a model argument (`zoo:<name>`, folder, model.json, `.tfjsc`, `.onnx`, Keras `.h5`/`.keras`
 * or `<topology.json>:<weights.h5>`) as the kind the file holds (Keras files as layers models),
 * refusing in one line a kind the command does not take.
 *
 * @example
 * const m = await loadModel('out/model.tfjsc', { command: 'eval', accept: ['layers', 'graph'] });
 * if (m.kind === 'graph') m.model.execute(x);
 */
export async function loadModel(spec: string, args: LoadModelArgs): Promise<LoadedModel> {
  // `<topology.json>:<weights.h5>` names weights saved with model.save_weights plus their topology.
  const pair = splitWeightsSpec(spec);
  const loc: ModelLocation = pair ? { spec, format: 'keras-h5', path: resolve(pair.weights) } : locateModel(spec);
  if (loc.format === 'keras-h5' || loc.format === 'keras-v3') {
    if (!args.accept.includes('layers')) throw refuse(loc, args);
    return { kind: 'layers', format: loc.format, location: loc, model: disposeNestedWithOuter(await releaseOnFailure(() => loadKerasModel(spec))) };
  }
  if (loc.format === 'onnx') {
    if (!args.accept.includes('onnx')) throw refuse(loc, args);
    return { kind: 'onnx', format: 'onnx', location: loc, path: loc.path! };
  }
  const m = await loadTfjs(loc, args.seed);
  if (!args.accept.includes(m.kind)) {
    m.model.dispose();
    throw refuse(loc, args);
  }
  return m;
}

/** A trainable layers model from any tfjs model argument; graph models are converted on the way. */
export interface LoadedLayersModel {
  model: tf.LayersModel;
  location: ModelLocation;
  /** Present when the input was a graph model that was rebuilt as a layers model. */
  converted?: GraphToLayersReport;
}

/**
 * Load any tfjs model argument as a layers model: layers models and containers directly, graph
 * models through {@link graphToLayers} (parity-checked against the graph), Keras files read
 * directly, ONNX files refused in one line.
 *
 * @example
 * const { model, converted } = await loadLayersModel('fixtures/web_model2', { command: 'prune' });
 */
export async function loadLayersModel(
  spec: string,
  args: { command: string; seed?: number; convert?: GraphToLayersArgs },
): Promise<LoadedLayersModel> {
  const m = await loadModel(spec, { command: args.command, accept: ['layers', 'graph'], seed: args.seed });
  if (m.kind === 'layers') return { model: m.model, location: m.location };
  if (m.kind !== 'graph') throw new Error(`${args.command}: '${spec}' is not a tfjs model`);
  try {
    const { model, report } = await releaseOnFailure(() => graphToLayers(m.model, args.convert));
    return { model, location: m.location, converted: report };
  } catch (err) {
    throw new Error(`${args.command} needs a layers model; converting graph model '${spec}' failed: ${oneLine((err as Error).message)}`);
  } finally {
    m.model.dispose();
  }
}
