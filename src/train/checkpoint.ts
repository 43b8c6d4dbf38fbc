import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import type { Logs } from './types.js';

/** What a checkpoint folder's `checkpoint.json` records. */
export interface CheckpointState {
  /** Format version of this file. */
  version: 1;
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps completed. */
  step: number;
  /** Per-epoch logs so far. */
  history: Logs[];
  /** Identifies the run's settings; a checkpoint with another fingerprint is not resumed. */
  fingerprint: string;
  /** Learning rate at save time (callbacks may have lowered it). */
  learningRate?: number;
  weights: tf.io.WeightsManifestEntry[];
  optimizerWeights: tf.io.WeightsManifestEntry[];
}

async function encode(named: tf.NamedTensorMap | Array<{ name: string; tensor: tf.Tensor }>): Promise<{ data: Uint8Array; specs: tf.io.WeightsManifestEntry[] }> {
  const { data, specs } = await tf.io.encodeWeights(named);
  const buf = Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
  return { data: new Uint8Array(buf), specs };
}

/**
 * Save model weights, optimizer state and progress into `dir` (files written atomically,
 * `checkpoint.json` last so a half-written checkpoint is never picked up).
 */
export async function saveCheckpoint(
  dir: string,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  state: Omit<CheckpointState, 'version' | 'weights' | 'optimizerWeights'>,
): Promise<void> {
  const named: tf.NamedTensorMap = {};
  model.weights.forEach((w, i) => (named[`${i}:${w.originalName}`] = w.read()));
  const weights = await encode(named);
  const optimizerWeights = await optimizer.getWeights();
  const optimizer_ = await encode(optimizerWeights);
  // getWeights() returns the live slot variables plus a freshly made 'iter' scalar: free only that.
  for (const w of optimizerWeights) if (w.name === 'iter') w.tensor.dispose();
  writeFileAtomic(join(dir, 'weights.bin'), weights.data);
  writeFileAtomic(join(dir, 'optimizer.bin'), optimizer_.data);
  const full: CheckpointState = { version: 1, ...state, weights: weights.specs, optimizerWeights: optimizer_.specs };
  writeJsonAtomic(join(dir, 'checkpoint.json'), full);
}

/**
 * Restore a checkpoint into `model` and `optimizer` when `dir` holds one with the same
 * fingerprint. Returns the saved state, or undefined when there is nothing to resume.
 */
export async function loadCheckpoint(
  dir: string,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  fingerprint: string,
): Promise<CheckpointState | undefined> {
  const jsonPath = join(dir, 'checkpoint.json');
  if (!existsSync(jsonPath)) return undefined;
  let state: CheckpointState;
  try {
    state = JSON.parse(readFileSync(jsonPath, 'utf8')) as CheckpointState;
  } catch (err) {
    throw new Error(`${jsonPath}: unreadable checkpoint (${(err as Error).message}); delete the folder to start afresh`);
  }
  if (state.version !== 1) throw new Error(`${jsonPath}: unsupported checkpoint version ${String(state.version)}`);
  if (state.fingerprint !== fingerprint) return undefined;
  const read = (file: string) => {
    const b = readFileSync(join(dir, file));
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  };
  const weights = tf.io.decodeWeights(read('weights.bin'), state.weights);
  if (state.weights.length !== model.weights.length) {
    throw new Error(`${jsonPath}: checkpoint has ${state.weights.length} weights, model '${model.name}' has ${model.weights.length}`);
  }
  model.weights.forEach((w, i) => {
    const t = weights[state.weights[i]!.name]!;
    if (t.shape.join() !== w.shape.join()) {
      throw new Error(`${jsonPath}: weight ${w.originalName} has shape [${t.shape}] in the checkpoint, [${w.shape}] in the model`);
    }
    w.write(t);
  });
  tf.dispose(Object.values(weights));
  if (state.optimizerWeights.length) {
    const opt = tf.io.decodeWeights(read('optimizer.bin'), state.optimizerWeights);
    await optimizer.setWeights(state.optimizerWeights.map((s) => ({ name: s.name, tensor: opt[s.name]! })));
    // setWeights makes variables that share the decoded data (ref-counted), so these can go.
    tf.dispose(Object.values(opt).filter((t) => !t.isDisposed));
  }
  return state;
}

/** A stable string fingerprint of plain settings (used to refuse resuming a different run). */
export function fingerprintOf(settings: unknown): string {
  const text = JSON.stringify(settings);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
