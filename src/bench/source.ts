import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import {
  isGraphModelFile,
  loadGraphModelFromFiles,
  loadLayersModelFromFiles,
  modelJsonPath,
  modelSpecName,
  resolveModel,
  saveLayersModel,
} from '../model/io.js';
import { exportOnnxFile, isContainerFile, loadContainerModel } from './adapters.js';
import type { ModelKind, ModelRunner, RuntimeName } from './runner.js';
import { openOnnxRunner } from './runner-onnx.js';
import { openTfjsRunner } from './runner-tfjs.js';
import { paramStats, paramStatsFromWeights, type ParamStats } from './size.js';

/** A model to benchmark: a path (folder, model.json, .tfjsc, .onnx), `zoo:<name>`, or an in-memory model. */
export type ModelInput = string | { name: string; model: tf.LayersModel };

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

/** A layers model reachable by `load()`, runnable on tfjs and (via export) on onnxruntime. */
function layersBenchModel(name: string, kind: ModelKind, files: string[], source: string, load: () => Promise<tf.LayersModel>, temp: Temp): BenchModel {
  let onnxPath: string | undefined;
  let exportError: string | undefined;
  const exportOnce = async (): Promise<string | undefined> => {
    if (onnxPath || exportError) return exportError;
    const model = await load();
    try {
      const out = temp.path(`${name.replace(/[^\w.-]/g, '_')}.onnx`);
      await exportOnnxFile(model, out);
      if (!existsSync(out)) throw new Error('exporter wrote no file');
      onnxPath = out;
    } catch (err) {
      exportError = `ONNX export of '${name}' failed: ${(err as Error).message}`;
    } finally {
      model.dispose();
    }
    return exportError;
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
        return { ...r, kind, files };
      }
      return openTfjsRunner({ name, kind, files, runtime, load });
    },
    params: async () => {
      const m = await load();
      try {
        return paramStats(m);
      } finally {
        m.dispose();
      }
    },
    dispose: () => temp.dispose(),
  };
}

/**
 * Open a model for benchmarking. Detects the format: `.onnx`, container (`.tfjsc` or magic
 * bytes), tfjs graph model, tfjs layers model (folder or model.json), `zoo:<name>`; in-memory
 * models are saved to a temporary folder first so their files can be measured.
 *
 * @example
 * const m = await openBenchModel('out/pruned');
 * const r = await m.open('tfjs-wasm');
 */
export async function openBenchModel(input: ModelInput): Promise<BenchModel> {
  const temp = new Temp();
  if (typeof input !== 'string' || input.startsWith('zoo:')) {
    const name = typeof input === 'string' ? modelSpecName(input) : input.name;
    const model = typeof input === 'string' ? await resolveModel(input) : input.model;
    const dir = temp.path(name.replace(/[^\w.-]/g, '_'));
    await saveLayersModel(model, dir);
    if (typeof input === 'string') model.dispose();
    return layersBenchModel(name, 'tfjs-layers', tfjsArtifactFiles(dir), typeof input === 'string' ? input : 'memory',
      () => loadLayersModelFromFiles(dir), temp);
  }
  const path = resolve(input);
  if (!existsSync(path)) throw new Error(`model not found: ${input} does not exist`);
  if (statSync(path).isFile() && extname(path).toLowerCase() === '.onnx') {
    const name = basename(path, extname(path));
    return {
      name,
      kind: 'onnx',
      files: [path],
      source: input,
      unsupported: async (rt) => (rt === 'onnx' ? undefined : `'${input}' is an ONNX file; it runs on onnxruntime only`),
      open: async (rt, args) => {
        if (rt !== 'onnx') throw new Error(`'${input}' is an ONNX file and cannot run on ${rt}`);
        return openOnnxRunner(path, { name, threads: args?.threads });
      },
      params: async () => undefined,
      dispose: () => temp.dispose(),
    };
  }
  if (statSync(path).isFile() && (await isContainerFile(path))) {
    return layersBenchModel(basename(path, extname(path)), 'container', [path], input, () => loadContainerModel(path), temp);
  }
  const name = modelSpecName(input);
  const files = tfjsArtifactFiles(path);
  if (isGraphModelFile(path)) {
    return {
      name,
      kind: 'tfjs-graph',
      files,
      source: input,
      unsupported: async (rt) => (rt === 'onnx' ? `'${input}' is a tfjs graph model; ONNX export takes layers models only` : undefined),
      open: (rt) => openTfjsRunner({ name, kind: 'tfjs-graph', files, runtime: rt, load: () => loadGraphModelFromFiles(path) }),
      params: async () => {
        const g = await loadGraphModelFromFiles(path);
        try {
          return paramStatsFromWeights(g.weights);
        } finally {
          g.dispose();
        }
      },
      dispose: () => temp.dispose(),
    };
  }
  return layersBenchModel(name, 'tfjs-layers', files, input, () => loadLayersModelFromFiles(path), temp);
}
