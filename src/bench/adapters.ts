import * as tf from '@tensorflow/tfjs';
import { readFileSync, openSync, readSync, closeSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';
import { exportOnnx } from '../export/index.js';
import { CONTAINER_EXTENSION, MAGIC, unpackModel } from '../serialize/index.js';

/*
 * Bridges to the container format (src/serialize) and the ONNX exporter (src/export), kept in
 * one file so the rest of the bench module depends only on these small functions.
 */


const CONTAINER_EXT = CONTAINER_EXTENSION;

/** True if `path` looks like one of our container files (by extension or magic bytes). */
export async function isContainerFile(path: string): Promise<boolean> {
  if (path.toLowerCase().endsWith(CONTAINER_EXT)) return true;
  const bytes = MAGIC;
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

/** Unpack a container file into a layers model via src/serialize's `unpackModel(bytes)`. */
export async function loadContainerModel(path: string): Promise<tf.LayersModel> {
  const bytes = new Uint8Array(readFileSync(path));
  try {
    return await unpackModel(bytes);
  } catch (err) {
    throw new Error(`${path}: cannot unpack container (${(err as Error).message})`);
  }
}

/**
 * Export a layers model to an `.onnx` file with src/export's `exportOnnx`, which checks parity
 * against tfjs itself and throws on unsupported layers.
 */
export async function exportOnnxFile(model: tf.LayersModel, outPath: string): Promise<void> {
  const { bytes } = await exportOnnx(model);
  writeFileAtomic(outPath, bytes);
}
