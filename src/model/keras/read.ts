import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { oneLine, parseJsonFile } from '../../util/errors.js';
import { modelConfigOf } from './config.js';
import { child, corrupt, isGroup, openHdf5, stringAttr } from './hdf5.js';
import { readLegacyWeights, readV3Weights, type LayerWeights } from './weights.js';

/*
 * Read a Keras file into its parts: the Keras model config (as Keras wrote it) and the weights per
 * layer. The file's layout, not its name, decides how: an HDF5 whole-model file (`model_config`
 * attribute), a weights-only HDF5 file (needs a separate topology), or a Keras 3 `.keras` zip.
 */

/** What {@link readKerasFile} found. */
export interface KerasFile {
  format: 'keras-h5' | 'keras-v3';
  /** The Keras model config, `{class_name, config}`, untranslated. */
  modelConfig: unknown;
  /** Reads the weights per layer (after the config was checked, so a refusal reads no weights). */
  readWeights: () => LayerWeights;
  /** The `keras_version` the file records, when it does. */
  kerasVersion?: string;
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

function readBytes(path: string): Uint8Array {
  if (!existsSync(path) || !statSync(path).isFile()) throw new Error(`model not found: ${path} does not exist`);
  return new Uint8Array(readFileSync(path));
}

/** JSON of a Keras file: invalid or too deeply nested text fails naming `where` (see parseJsonFile). */
function parseJson(text: string, where: string): unknown {
  return parseJsonFile(text, where);
}

/** The Keras model config in a topology JSON file: a tfjs model.json, a Keras `to_json()` or a `.keras` config.json. */
export function readTopologyFile(path: string): unknown {
  const parsed = parseJson(new TextDecoder().decode(readBytes(path)), path) as { modelTopology?: unknown } | null;
  const config = modelConfigOf(parsed && typeof parsed === 'object' && 'modelTopology' in parsed ? parsed.modelTopology : parsed);
  const c = config as { class_name?: unknown; config?: unknown } | null;
  if (!c || typeof c.class_name !== 'string' || typeof c.config !== 'object') {
    throw new Error(`${path}: no Keras model config found (expected a tfjs model.json or a Keras config JSON with 'class_name' and 'config')`);
  }
  return config;
}

async function readZip(bytes: Uint8Array, file: string): Promise<KerasFile> {
  const { unzipSync } = await import('fflate');
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, { filter: (f) => ['config.json', 'metadata.json', 'model.weights.h5'].includes(f.name) });
  } catch (err) {
    throw new Error(`${file}: not a readable .keras zip, truncated or corrupt (${oneLine((err as Error).message, 120)})`);
  }
  const entry = (name: string) => {
    const e = entries[name];
    if (!e) throw new Error(`${file}: no '${name}' inside the zip, not a Keras 3 .keras file`);
    return e;
  };
  const modelConfig = parseJson(new TextDecoder().decode(entry('config.json')), `${file}: config.json`);
  const meta = entries['metadata.json'] ? (parseJson(new TextDecoder().decode(entries['metadata.json']), `${file}: metadata.json`) as { keras_version?: string }) : {};
  const where = `${file}: model.weights.h5`;
  const { root } = await openHdf5(entry('model.weights.h5'), where);
  const readWeights = () => guarded(where, () => readV3Weights(root, modelConfig, where));
  return { format: 'keras-v3', modelConfig, readWeights, kerasVersion: meta.keras_version };
}

/** Run a read of an opened HDF5 file; jsfive reads lazily, so a truncated file fails deep inside it. */
function guarded<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof Error && err.message.startsWith(file)) throw err;
    throw corrupt(file, err);
  }
}

async function readH5(bytes: Uint8Array, file: string, topologyPath?: string): Promise<KerasFile> {
  const topology = topologyPath === undefined ? undefined : readTopologyFile(topologyPath);
  const { root } = await openHdf5(bytes, file);
  return guarded(file, (): KerasFile => {
    const kerasVersion = stringAttr(root, 'keras_version');
    const configText = stringAttr(root, 'model_config');
    if (configText !== undefined) {
      const modelConfig = topology ?? parseJson(configText, `${file}: attribute 'model_config'`);
      const group = child(root, 'model_weights');
      const readWeights = () => guarded(file, () => readLegacyWeights(isGroup(group) ? group : root, file));
      return { format: 'keras-h5', modelConfig, readWeights, kerasVersion };
    }
    const legacy = root.attrs.layer_names !== undefined;
    if (!legacy && !isGroup(child(root, 'layers')) && !isGroup(child(root, '_layer_checkpoint_dependencies'))) {
      throw new Error(`${file}: HDF5 but not a Keras file (no 'model_config' or 'layer_names' attribute, no 'layers' group)`);
    }
    if (topology === undefined) {
      throw new Error(
        `${file}: holds weights only (no 'model_config' attribute, as model.save_weights writes); give its topology as '<model.json or Keras config .json>:${file}'`,
      );
    }
    const readWeights = () => guarded(file, () => (legacy ? readLegacyWeights(root, file) : readV3Weights(root, topology, file)));
    return { format: 'keras-h5', modelConfig: topology, readWeights, kerasVersion };
  });
}

/** `<topology.json>:<weights.h5>` -> its two paths (only when no file of that whole name exists). */
export function splitWeightsSpec(spec: string): { topology: string; weights: string } | undefined {
  const m = /^(.+\.json):(.+\.(?:h5|hdf5))$/i.exec(spec);
  if (!m || existsSync(spec)) return undefined;
  return { topology: m[1]!, weights: m[2]! };
}

/**
 * Read a Keras file: `x.h5` / `x.hdf5` (Keras 2 or 3 `model.save`), `x.keras` (Keras 3 zip), or
 * `<topology.json>:<weights.h5>` for weights saved with `model.save_weights` plus their topology
 * (a tfjs model.json, a Keras `model.to_json()` file or a `.keras` config.json).
 *
 * @example
 * const { modelConfig, readWeights } = await readKerasFile('model.keras');
 * const weights = readWeights(); // layer name -> weights
 */
export async function readKerasFile(spec: string): Promise<KerasFile> {
  const pair = splitWeightsSpec(spec);
  const file = pair ? pair.weights : spec;
  if (pair && !existsSync(resolve(pair.topology))) throw new Error(`model not found: ${pair.topology} does not exist`);
  const bytes = readBytes(file);
  const isZip = ZIP_MAGIC.every((b, i) => bytes[i] === b);
  if (isZip && pair) throw new Error(`${file}: a zip (.keras) file carries its own topology; pass it alone`);
  return isZip ? readZip(bytes, file) : readH5(bytes, file, pair?.topology);
}
