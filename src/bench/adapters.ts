import * as tf from '@tensorflow/tfjs';
import { readFileSync, openSync, readSync, closeSync } from 'node:fs';

/*
 * Bridges to modules other parts of the SDK provide (the container format in src/serialize,
 * the ONNX exporter in src/export). They are imported lazily by a computed specifier so the
 * bench module still loads, and says clearly what is missing, when those are not present.
 */

const SERIALIZE = '../serialize/index.js';
const EXPORT = '../export/index.js';

async function tryImport(spec: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await import(/* @vite-ignore */ spec)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Default container extension. */
export const CONTAINER_EXT = '.tfjsc';

/** True if `path` looks like one of our container files (by extension or magic bytes). */
export async function isContainerFile(path: string): Promise<boolean> {
  if (path.toLowerCase().endsWith(CONTAINER_EXT)) return true;
  const mod = await tryImport(SERIALIZE);
  const magic = mod?.['CONTAINER_MAGIC'] ?? mod?.['MAGIC'];
  const bytes = typeof magic === 'string' ? new TextEncoder().encode(magic) : magic instanceof Uint8Array ? magic : undefined;
  if (!bytes || bytes.length === 0) return false;
  const head = new Uint8Array(bytes.length);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    if (readSync(fd, head, 0, head.length, 0) !== head.length) return false;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return head.every((b, i) => b === bytes[i]);
}

/**
 * Unpack a container file into a layers model via src/serialize's `unpackModel(bytes)`.
 * Accepts either a `tf.LayersModel` or `tf.io.ModelArtifacts` back from it.
 */
export async function loadContainerModel(path: string): Promise<tf.LayersModel> {
  const mod = await tryImport(SERIALIZE);
  const unpack = mod?.['unpackModel'];
  if (typeof unpack !== 'function') {
    throw new Error(`${path}: reading containers needs unpackModel from src/serialize, which is not available in this build`);
  }
  const bytes = new Uint8Array(readFileSync(path));
  let out: unknown;
  try {
    out = await (unpack as (b: Uint8Array) => unknown)(bytes);
  } catch (err) {
    throw new Error(`${path}: cannot unpack container (${(err as Error).message})`);
  }
  if (out instanceof tf.LayersModel) return out;
  const maybe = out as { model?: unknown; artifacts?: unknown; modelTopology?: unknown };
  if (maybe?.model instanceof tf.LayersModel) return maybe.model;
  const artifacts = (maybe?.modelTopology ? maybe : maybe?.artifacts) as tf.io.ModelArtifacts | undefined;
  if (artifacts?.modelTopology) return tf.loadLayersModel(tf.io.fromMemory(artifacts));
  throw new Error(`${path}: unpackModel returned neither a LayersModel nor model artifacts`);
}

/** The ONNX exporter, if src/export provides one: writes `model` to `outPath`. */
export type OnnxExporter = (model: tf.LayersModel, outPath: string) => Promise<void>;

/** Find src/export's `exportOnnx`, or say why it is unavailable. */
export async function findOnnxExporter(): Promise<OnnxExporter | string> {
  const mod = await tryImport(EXPORT);
  const fn = mod?.['exportOnnx'];
  if (typeof fn !== 'function') return 'ONNX export (exportOnnx from src/export) is not available in this build';
  return async (model, outPath) => {
    await (fn as (m: tf.LayersModel, a: unknown) => Promise<unknown>)(model, { path: outPath, out: outPath });
  };
}
