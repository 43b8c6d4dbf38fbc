/**
 * Node-only file helpers for containers. Kept apart from the decoder so the browser path
 * (decoder.ts and its imports) never touches fs or Buffer.
 */
import { readFileSync } from 'node:fs';
import type * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../util/atomic.js';
import type { UnpackArgs } from './decoder.js';
import { unpackModel } from './unpack-model.js';
import { packModel, type PackArgs } from './encoder.js';

/** Read a container file into a plain Uint8Array (not a Buffer subclass view of a shared pool). */
export function readContainerFile(path: string): Uint8Array {
  let buf: Uint8Array;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read container '${path}': ${(err as Error).message}`);
  }
  return new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** Pack a model and write it atomically to `path`; returns the bytes written. */
export async function saveContainer(model: tf.LayersModel, path: string, args: PackArgs = {}): Promise<Uint8Array> {
  const bytes = await packModel(model, args);
  writeFileAtomic(path, bytes);
  return bytes;
}

/** Load a model from a container file. Errors name the file. */
export async function loadContainer(path: string, args: UnpackArgs = {}): Promise<tf.LayersModel> {
  const bytes = readContainerFile(path);
  try {
    return await unpackModel(bytes, args);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}
