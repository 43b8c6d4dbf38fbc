import * as tf from '@tensorflow/tfjs';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { oneLine } from '../util/errors.js';
import { dirname, join, resolve, sep, basename } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';

/**
 * Parse a JSON file that claims to be a tfjs model.json: the object when it has a `modelTopology`,
 * `undefined` when it is JSON of another kind. Invalid JSON throws naming the file (never quoting it).
 */
export function readModelJsonFile(path: string): (Partial<tf.io.ModelJSON> & { modelTopology: unknown }) | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    // JSON.parse quotes the text it choked on (raw bytes for a binary file): keep only the position.
    const why = (err as Error).message.replace(/,? ?".*$/s, '').replace(/ in JSON$/, '');
    throw new Error(`${path}: not valid JSON (${oneLine(why, 120)})`);
  }
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
  m.weightsManifest.forEach((group, gi) => {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
      throw new Error(`${jsonPath}: weightsManifest[${gi}] needs 'paths' and 'weights' arrays`);
    }
  });
  return m as tf.io.ModelJSON;
}

/** Bytes a weight spec occupies on disk (quantized specs use their stored dtype). */
function specBytes(spec: tf.io.WeightsManifestEntry): number {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const width: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };
  const w = width[dtype];
  if (w === undefined) throw new Error(`weight '${spec.name}': unsupported dtype '${dtype}'`);
  return count * w;
}

/**
 * A tfjs IOHandler that reads `model.json` and its weight shards from the file system (no
 * tfjs-node needed). Checks that shard paths stay inside the model folder and that shard sizes
 * match the manifest before handing bytes to tfjs.
 */
export function fileHandler(pathOrDir: string): tf.io.IOHandler {
  return {
    load: async (): Promise<tf.io.ModelArtifacts> => {
      const jsonPath = modelJsonPath(pathOrDir);
      const json = readModelJson(jsonPath);
      const root = dirname(jsonPath);
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Uint8Array[] = [];
      for (const group of json.weightsManifest) {
        let shardBytes = 0;
        for (const rel of group.paths) {
          const p = resolve(root, rel);
          if (p !== root && !p.startsWith(root + sep)) {
            throw new Error(`${jsonPath}: weight path '${rel}' escapes the model folder`);
          }
          if (!existsSync(p)) throw new Error(`${jsonPath}: weight file '${rel}' not found`);
          const b = readFileSync(p);
          buffers.push(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
          shardBytes += b.byteLength;
        }
        const expected = group.weights.reduce((s, w) => s + specBytes(w), 0);
        if (shardBytes !== expected) {
          throw new Error(
            `${jsonPath}: weight files [${group.paths.join(', ')}] hold ${shardBytes} bytes but the manifest declares ${expected}`,
          );
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
      // Weights first, model.json last: a reader never sees a model.json whose weights are missing.
      writeFileAtomic(join(dir, weightsFile), data);
      writeJsonAtomic(join(dir, 'model.json'), modelJson);
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
    return await tf.loadLayersModel(fileHandler(pathOrDir));
  } catch (err) {
    const msg = (err as Error).message;
    throw new Error(msg.includes(pathOrDir) || msg.includes('model.json') ? msg : `${pathOrDir}: cannot load layers model (${msg})`);
  }
}

/** Save a layers model as `dir/model.json` + `dir/weights.bin`, each written atomically. */
export async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(fileHandler(dir));
}

/** Load a tfjs graph model (tensorflowjs_converter output) from files, e.g. as a frozen teacher. */
export async function loadGraphModelFromFiles(pathOrDir: string): Promise<import('@tensorflow/tfjs-converter').GraphModel> {
  const { loadGraphModel } = await import('@tensorflow/tfjs-converter');
  return loadGraphModel(fileHandler(pathOrDir));
}

/** A short display name for a model spec (`zoo:cnn` -> `cnn`, `/a/b/model.json` -> `b`). */
export function modelSpecName(spec: string): string {
  if (spec.startsWith('zoo:')) return spec.slice(4);
  const p = resolve(spec);
  return basename(p === '' ? spec : p.endsWith('model.json') ? dirname(p) : p);
}
