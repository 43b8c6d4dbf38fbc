import * as tf from '@tensorflow/tfjs';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { parseJsonFile } from '../util/errors.js';
import { resolveInside } from './validate/paths.js';
import { releaseOnFailure } from './validate/no-leak.js';
import { validateModelJson } from './validate/model-json.js';
import { dirname, join, resolve, basename } from 'node:path';
import { writeDirAtomic, writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';

/**
 * Parse a JSON file that claims to be a tfjs model.json: the object when it has a `modelTopology`,
 * `undefined` when it is JSON of another kind. Invalid JSON throws naming the file (never quoting it).
 */
export function readModelJsonFile(path: string): (Partial<tf.io.ModelJSON> & { modelTopology: unknown }) | undefined {
  const parsed = parseJsonFile(readFileSync(path, 'utf8'), path);
  if (typeof parsed !== 'object' || parsed === null || !('modelTopology' in parsed)) return undefined;
  return parsed as Partial<tf.io.ModelJSON> & { modelTopology: unknown };
}

/** The model JSON inside a folder: `model.json`, else the one `*.json` that holds a `modelTopology`. */
function folderModelJson(dir: string, spec: string): string {
  const json = join(dir, 'model.json');
  if (existsSync(json)) return json;
  const candidates = readdirSync(dir)
    .filter((f) => f.toLowerCase().endsWith('.json'))
    .map((f) => join(dir, f))
    .filter((f) => {
      try {
        return statSync(f).isFile() && readModelJsonFile(f) !== undefined;
      } catch {
        return false;
      }
    });
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length > 1) {
    throw new Error(`model folder ${spec} has no model.json and several model JSON files (${candidates.map((c) => basename(c)).join(', ')}): name one`);
  }
  throw new Error(`model folder ${spec} has no model.json (nor any other tfjs model JSON)`);
}

/**
 * Resolve a model folder or JSON path to the model JSON file, with a clear error when missing. A
 * folder's JSON is `model.json`, or the only `*.json` in it with a `modelTopology` (graph models are
 * often shipped as e.g. `emotion.json`).
 */
export function modelJsonPath(pathOrDir: string): string {
  const p = resolve(pathOrDir);
  if (!existsSync(p)) throw new Error(`model not found: ${pathOrDir} does not exist`);
  if (statSync(p).isDirectory()) return folderModelJson(p, pathOrDir);
  return p;
}

/** Parse and sanity-check a model.json, naming the file and field on failure. */
function readModelJson(jsonPath: string): tf.io.ModelJSON {
  const m = readModelJsonFile(jsonPath);
  if (!m || typeof m.modelTopology !== 'object' || m.modelTopology === null) {
    throw new Error(`${jsonPath}: field 'modelTopology' is missing or not an object`);
  }
  if (!Array.isArray(m.weightsManifest)) {
    throw new Error(`${jsonPath}: field 'weightsManifest' is missing or not an array`);
  }
  return validateModelJson<tf.io.ModelJSON>(m, jsonPath);
}

/** Bytes a weight spec occupies on disk (quantized specs use their stored dtype). */
function specBytes(spec: tf.io.WeightsManifestEntry, where: string): number {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const width: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };
  const w = width[dtype];
  if (w === undefined) throw new Error(`${where}: weight '${spec.name}': unsupported dtype '${dtype}'`);
  return count * w;
}

/** What else goes into a model folder written by {@link saveLayersModel} / `fileHandler(dir).save`, in the same unit. */
export interface SaveFolderArgs {
  /** More files by name: text or bytes as given, anything else as 2-space JSON (e.g. `report.json`). */
  files?: Record<string, string | Uint8Array | object>;
  /** Writes more content into the new folder before it takes the old one's place (e.g. a nested model folder). */
  fill?: (tmp: string) => void | Promise<void>;
  /** Entries of the existing folder carried into the new one, e.g. `['checkpoint']`. */
  keep?: string[];
}

/**
 * A tfjs IOHandler that reads `model.json` and its weight shards from the file system (no
 * tfjs-node needed). Checks that shard paths stay inside the model folder and that shard sizes
 * match the manifest before handing bytes to tfjs. `save` writes the folder as one unit, with
 * `saveArgs` (more files, kept entries) in the same unit.
 */
export function fileHandler(pathOrDir: string, saveArgs: SaveFolderArgs = {}): tf.io.IOHandler {
  return {
    load: async (): Promise<tf.io.ModelArtifacts> => {
      const jsonPath = modelJsonPath(pathOrDir);
      const json = readModelJson(jsonPath);
      const root = dirname(jsonPath);
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Uint8Array[] = [];
      for (const group of json.weightsManifest) {
        // Every shard resolved (symlinks too) inside the model folder, and sized against the
        // manifest before a byte is read: nothing outside is read, nothing oversized allocated.
        const files = group.paths.map((rel) => resolveInside(root, rel, `${jsonPath}: weight file`));
        const shardBytes = files.reduce((sum, f) => sum + statSync(f).size, 0);
        const expected = group.weights.reduce((s, w) => s + specBytes(w, jsonPath), 0);
        if (shardBytes !== expected) {
          throw new Error(
            `${jsonPath}: weight files [${group.paths.join(', ')}] hold ${shardBytes} bytes but the manifest declares ${expected}`,
          );
        }
        for (const f of files) {
          const b = readFileSync(f);
          buffers.push(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
        }
        specs.push(...group.weights);
      }
      const total = buffers.reduce((s, b) => s + b.byteLength, 0);
      const all = new Uint8Array(total);
      let off = 0;
      for (const b of buffers) {
        all.set(b, off);
        off += b.byteLength;
      }
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        trainingConfig: json.trainingConfig,
        userDefinedMetadata: json.userDefinedMetadata,
        // Graph models: input/output names and an optional initializer graph.
        signature: json.signature,
        modelInitializer: json.modelInitializer,
        initializerSignature: json.initializerSignature,
        weightSpecs: specs,
        weightData: all.buffer,
      };
    },
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      const dir = resolve(pathOrDir.endsWith('.json') ? dirname(pathOrDir) : pathOrDir);
      const weightsFile = 'weights.bin';
      const data = artifacts.weightData
        ? new Uint8Array(tf.io.concatenateArrayBuffers(
            Array.isArray(artifacts.weightData) ? artifacts.weightData : [artifacts.weightData],
          ))
        : new Uint8Array(0);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology!,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: 'tfjs-compress',
        weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.userDefinedMetadata) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
      if (artifacts.signature) modelJson.signature = artifacts.signature;
      if (artifacts.modelInitializer) modelJson.modelInitializer = artifacts.modelInitializer;
      if (artifacts.initializerSignature) modelJson.initializerSignature = artifacts.initializerSignature;
      // The whole folder is one unit (temp folder, then renames): a reader never sees new
      // weights beside an old model.json, nor an old sidecar beside a new model.
      await writeDirAtomic(
        dir,
        async (tmp) => {
          writeFileAtomic(join(tmp, weightsFile), data);
          writeJsonAtomic(join(tmp, 'model.json'), modelJson);
          for (const [name, value] of Object.entries(saveArgs.files ?? {})) {
            if (typeof value === 'string' || value instanceof Uint8Array) writeFileAtomic(join(tmp, name), value);
            else writeJsonAtomic(join(tmp, name), value);
          }
          await saveArgs.fill?.(tmp);
        },
        { keep: saveArgs.keep },
      );
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: data.byteLength,
        },
      };
    },
  };
}

/**
 * Load a tfjs layers model from a folder or a model.json path.
 *
 * @example
 * const model = await loadLayersModelFromFiles('out/teacher');
 */
export async function loadLayersModelFromFiles(pathOrDir: string): Promise<tf.LayersModel> {
  try {
    return await releaseOnFailure(() => tf.loadLayersModel(fileHandler(pathOrDir)));
  } catch (err) {
    const msg = (err as Error).message;
    throw new Error(msg.includes(pathOrDir) || msg.includes('model.json') ? msg : `${pathOrDir}: cannot load layers model (${msg})`);
  }
}

/**
 * Save a layers model as `dir/model.json` + `dir/weights.bin` (plus `args.files`), the folder
 * written as one unit: it holds the old model or the new one, never a mix (see {@link writeDirAtomic}).
 *
 * @example
 * await saveLayersModel(model, 'out/m', { files: { 'report.json': { accuracy: 0.98 } }, keep: ['checkpoint'] });
 */
export async function saveLayersModel(model: tf.LayersModel, dir: string, args: SaveFolderArgs = {}): Promise<void> {
  await model.save(fileHandler(dir, args));
}

/** Load a tfjs graph model (tensorflowjs_converter output) from files, e.g. as a frozen teacher. */
export async function loadGraphModelFromFiles(pathOrDir: string): Promise<import('@tensorflow/tfjs-converter').GraphModel> {
  const { loadGraphModel } = await import('@tensorflow/tfjs-converter');
  return releaseOnFailure(() => loadGraphModel(fileHandler(pathOrDir)));
}

/** A short display name for a model spec (`zoo:cnn` -> `cnn`, `/a/b/model.json` -> `b`). */
export function modelSpecName(spec: string): string {
  if (spec.startsWith('zoo:')) return spec.slice(4);
  const p = resolve(spec);
  return basename(p === '' ? spec : p.endsWith('model.json') ? dirname(p) : p);
}
