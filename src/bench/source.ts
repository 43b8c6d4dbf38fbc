import * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { modelJsonPath, modelSpecName, saveLayersModel } from '../model/io.js';
import { onnxSummary } from '../model/onnx-summary.js';
import { modelInputSpecs, type InputSpec } from '../model/input-shape.js';
import { loadLayersModel, loadModel, locateModel } from '../model/load.js';
import { oneLine } from '../util/errors.js';
import { exportOnnxFile } from './adapters.js';
import type { ModelKind, ModelRunner, RuntimeName } from './runner.js';
import { openOnnxRunner } from './runner-onnx.js';
import { openTfjsRunner } from './runner-tfjs.js';
import { paramStats, paramStatsFromSummary, paramStatsFromWeights, type ParamStats } from './size.js';

/**
 * A model to benchmark: a path (folder, model.json, .tfjsc, .onnx) or `zoo:<name>` (labelled by
 * {@link benchLabels}), the same with an explicit label, or an in-memory model.
 */
export type ModelInput = string | { name: string; path: string } | { name: string; model: tf.LayersModel };

/** A model opened for benchmarking, able to start a runner on any runtime it supports. */
export interface BenchModel {
  name: string;
  kind: ModelKind;
  /** Artifact files whose sizes are reported. */
  files: string[];
  /** Where it came from (path or `zoo:` spec or `memory`). */
  source: string;
  /** A reason string if the model cannot run on `runtime`, else undefined. */
  unsupported(runtime: RuntimeName): Promise<string | undefined>;
  /** Open a fresh runner (load included, so timing it gives the cold start). */
  open(runtime: RuntimeName, args?: { threads?: number }): Promise<ModelRunner>;
  /** Parameter counts, when the format exposes weights. */
  params(): Promise<ParamStats | undefined>;
  /** Remove temporary files (exported ONNX, saved in-memory models). */
  dispose(): void;
}

/** model.json plus the weight files its manifest lists. */
export function tfjsArtifactFiles(pathOrDir: string): string[] {
  const json = modelJsonPath(pathOrDir);
  const manifest = (JSON.parse(readFileSync(json, 'utf8')) as tf.io.ModelJSON).weightsManifest ?? [];
  return [json, ...manifest.flatMap((g) => g.paths.map((p) => resolve(dirname(json), p)))];
}

class Temp {
  private dir?: string;
  path(name: string): string {
    this.dir ??= mkdtempSync(join(tmpdir(), 'tfjs-compress-bench-'));
    return join(this.dir, name);
  }
  dispose(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

/** How to get the model: as loaded (for the tfjs runtimes) and as a layers model (for ONNX export). */
interface Loaders {
  load: () => Promise<tf.LayersModel | GraphModel>;
  /** A layers model to export to ONNX; for a graph model, rebuilt through graphToLayers. */
  layers: () => Promise<tf.LayersModel>;
}

/** A tfjs model (layers or graph, from files or a container), runnable on tfjs and, via export, on onnxruntime. */
function tfjsBenchModel(name: string, kind: ModelKind, files: string[], source: string, loaders: Loaders, temp: Temp): BenchModel {
  let onnxPath: string | undefined;
  let exportError: string | undefined;
  const exportOnce = async (): Promise<string | undefined> => {
    if (onnxPath || exportError) return exportError;
    let model: tf.LayersModel;
    try {
      model = await loaders.layers();
    } catch (err) {
      // A graph whose ops have no layers equivalent cannot reach the ONNX exporter.
      exportError = oneLine(`ONNX export of '${name}' unsupported: ${(err as Error).message}`);
      return exportError;
    }
    try {
      // One temp folder per model: a fixed file name, whatever characters the label has.
      const out = temp.path('model.onnx');
      await exportOnnxFile(model, out);
      if (!existsSync(out)) throw new Error('exporter wrote no file');
      onnxPath = out;
    } catch (err) {
      exportError = oneLine(`ONNX export of '${name}' failed: ${(err as Error).message}`);
    } finally {
      model.dispose();
    }
    return exportError;
  };
  let specs: InputSpec[] | undefined;
  const tfjsSpecs = async (): Promise<InputSpec[]> => {
    if (specs) return specs;
    const m = await loaders.load();
    try {
      return (specs = modelInputSpecs(m));
    } finally {
      m.dispose();
    }
  };
  return {
    name,
    kind,
    files,
    source,
    unsupported: async (runtime) => (runtime === 'onnx' ? exportOnce() : undefined),
    open: async (runtime, args) => {
      if (runtime === 'onnx') {
        const why = await exportOnce();
        if (why) throw new Error(why);
        const r = await openOnnxRunner(onnxPath!, { name, threads: args?.threads });
        // ONNX does not know which inputs are token ids; the tfjs model does (same input order).
        const specs = await tfjsSpecs();
        const inputs = r.inputs?.map((i, k) => (specs[k]?.indexRange ? { ...i, indexRange: specs[k]!.indexRange } : i));
        return { ...r, kind, files, inputs };
      }
      return openTfjsRunner({ name, kind, files, runtime, load: loaders.load });
    },
    params: async () => {
      const m = await loaders.load();
      try {
        return m instanceof tf.LayersModel ? paramStats(m) : paramStatsFromWeights(m.weights);
      } finally {
        m.dispose();
      }
    },
    dispose: () => temp.dispose(),
  };
}

function onnxBenchModel(name: string, input: string, path: string, temp: Temp): BenchModel {
  // Decode it now: a truncated or corrupt file is the user's input failing, not a runtime to skip.
  const summary = onnxSummary(path);
  return {
    name,
    kind: 'onnx',
    files: [path],
    source: input,
    unsupported: async (rt) => (rt === 'onnx' ? undefined : 'an ONNX file runs on onnxruntime only'),
    open: async (rt, args) => {
      if (rt !== 'onnx') throw new Error(`'${input}' is an ONNX file and cannot run on ${rt}`);
      return openOnnxRunner(path, { name, threads: args?.threads });
    },
    params: async () => paramStatsFromSummary(summary.weights),
    dispose: () => temp.dispose(),
  };
}

/** Save a layers model to a temporary folder so its files can be measured, and bench it from there. */
async function savedBenchModel(name: string, source: string, model: tf.LayersModel, temp: Temp): Promise<BenchModel> {
  const dir = temp.path('saved');
  await saveLayersModel(model, dir);
  const load = async () => (await loadLayersModel(dir, { command: 'bench' })).model;
  return tfjsBenchModel(name, 'tfjs-layers', tfjsArtifactFiles(dir), source, { load, layers: load }, temp);
}

/**
 * Open a model for benchmarking, labelled `name` (default: its {@link benchLabels} label alone). The format is recognised by the one model loader
 * ({@link locateModel}): `.onnx`, container (layers or graph inside), tfjs graph model, tfjs
 * layers model (folder or model JSON), `zoo:<name>`; Keras files are refused in one line.
 * In-memory and zoo models are saved to a temporary folder first so their files can be measured.
 *
 * @example
 * const m = await openBenchModel('out/pruned');
 * const r = await m.open('tfjs-wasm');
 */
export async function openBenchModel(input: ModelInput, name?: string): Promise<BenchModel> {
  const temp = new Temp();
  try {
    if (typeof input !== 'string' && 'model' in input) return await savedBenchModel(name ?? input.name, 'memory', input.model, temp);
    const spec = typeof input === 'string' ? input : input.path;
    return await openWith(spec, name ?? (typeof input === 'string' ? modelSpecName(input) : input.name), temp);
  } catch (err) {
    temp.dispose();
    throw err;
  }
}

async function openWith(input: string, name: string, temp: Temp): Promise<BenchModel> {
  const loc = locateModel(input);
  const tfjsKinds = { command: 'bench', accept: ['layers', 'graph'] } as const;
  if (loc.format === 'zoo') {
    const { model } = await loadLayersModel(input, { command: 'bench' });
    try {
      return await savedBenchModel(name, input, model, temp);
    } finally {
      model.dispose();
    }
  }
  if (loc.format === 'onnx') return onnxBenchModel(name, input, loc.path!, temp);
  // Containers may hold either topology: load once to learn which (Keras files are refused here).
  const probe = await loadModel(input, tfjsKinds);
  const isGraph = probe.kind === 'graph';
  if (probe.kind !== 'onnx') probe.model.dispose();
  const load = async () => {
    const m = await loadModel(input, tfjsKinds);
    return m.kind === 'onnx' ? Promise.reject(new Error(`'${input}' is an ONNX file`)) : m.model;
  };
  const layers = async () => (await loadLayersModel(input, { command: 'bench' })).model;
  const loaders: Loaders = { load, layers };
  if (loc.format === 'container') return tfjsBenchModel(name, 'container', [loc.path!], input, loaders, temp);
  return tfjsBenchModel(name, isGraph ? 'tfjs-graph' : 'tfjs-layers', tfjsArtifactFiles(loc.path!), input, loaders, temp);
}
