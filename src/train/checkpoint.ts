import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { removeLeftover, writeDirAtomic, writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { captureOptimizer, restoreOptimizer, type OptimizerState } from './optimizer-state.js';
import type { CallbackState, Logs } from './types.js';

/** One binary file of a checkpoint generation, as recorded in `checkpoint.json`. */
export interface CheckpointFile {
  /** Path relative to the checkpoint folder, e.g. `gen-3/weights.bin`. */
  path: string;
  bytes: number;
  sha256: string;
  specs: tf.io.WeightsManifestEntry[];
}

/**
 * What a checkpoint folder's `checkpoint.json` records. The folder holds generations
 * (`gen-<n>/weights.bin, optimizer.bin, callbacks.bin`); `checkpoint.json` names the current one
 * and is written last (one atomic rename), so a checkpoint is always one complete epoch.
 */
export interface CheckpointState {
  /** Format version of this file. */
  version: 2;
  /** Generation number of the files this pointer names. */
  generation: number;
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps completed (the step of pruning and learning-rate schedules). */
  step: number;
  /** Per-epoch logs so far. */
  history: Logs[];
  /** Identifies the run's settings; a checkpoint with another fingerprint is not resumed. */
  fingerprint: string;
  /** Set when training ended for good (early stopping): a re-run trains no further. */
  stopReason?: string;
  /** Optimizer class, step count, learning rate and slot layout (tensors in `files.optimizer`). */
  optimizer: OptimizerState;
  /** JSON state of each stateful callback, by key (tensors in `files.callbacks`). */
  callbacks: Record<string, unknown>;
  files: { weights: CheckpointFile; optimizer: CheckpointFile; callbacks: CheckpointFile };
}

/** What {@link saveCheckpoint} stores besides the model and the optimizer. */
export interface CheckpointData {
  epoch: number;
  step: number;
  history: Logs[];
  fingerprint: string;
  stopReason?: string;
  /** Variables trained beside the model's weights (e.g. distillation projections), in a fixed order. */
  extraVariables?: tf.Variable[];
  /** State of stateful callbacks by key (tensors are only read). */
  callbacks?: Record<string, CallbackState>;
}

/** A restored checkpoint: its record and the callback states to hand back (tensors owned by the caller). */
export interface RestoredCheckpoint {
  state: CheckpointState;
  callbacks: Record<string, CallbackState>;
}

const POINTER = 'checkpoint.json';
const GEN = /^gen-(\d+)$/;

async function encode(named: Array<{ name: string; tensor: tf.Tensor }>): Promise<{ data: Uint8Array; specs: tf.io.WeightsManifestEntry[] }> {
  const { data, specs } = await tf.io.encodeWeights(named);
  const buf = Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
  return { data: new Uint8Array(buf), specs };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function readPointer(dir: string): CheckpointState | { version: unknown } | undefined {
  const jsonPath = join(dir, POINTER);
  if (!existsSync(jsonPath)) return undefined;
  try {
    return JSON.parse(readFileSync(jsonPath, 'utf8')) as CheckpointState;
  } catch (err) {
    throw new Error(`${jsonPath}: unreadable checkpoint (${(err as Error).message}); delete the folder to start afresh`);
  }
}

/**
 * Save model weights, extra variables, optimizer state, callback state (pruning masks...) and
 * progress into `dir` as one unit: the files of a new generation are written into their own
 * folder, then `checkpoint.json` is switched to it with one rename, then older generations are
 * deleted. A crash at any point leaves the previous checkpoint or the new one, never a mix.
 */
export async function saveCheckpoint(dir: string, model: tf.LayersModel, optimizer: tf.Optimizer, data: CheckpointData): Promise<void> {
  // Temp folders of generations a crash interrupted were never named by a pointer: drop them first.
  removeStaleGenerations(dir);
  const prev = readPointerSafe(dir);
  const generation = Math.max(prev, ...generations(dir)) + 1;
  const named = model.weights.map((w, i) => ({ name: `${i}:${w.originalName}`, tensor: w.read() }));
  (data.extraVariables ?? []).forEach((v, i) => named.push({ name: `extra/${i}`, tensor: v }));
  const weights = await encode(named);
  const opt = await captureOptimizer(optimizer);
  let optimizerBin;
  try {
    optimizerBin = await encode(opt.tensors);
  } finally {
    opt.dispose();
  }
  const cbJson: Record<string, unknown> = {};
  const cbTensors: Array<{ name: string; tensor: tf.Tensor }> = [];
  for (const [key, s] of Object.entries(data.callbacks ?? {})) {
    cbJson[key] = { json: s.json ?? null, tensors: Object.keys(s.tensors ?? {}) };
    for (const [n, t] of Object.entries(s.tensors ?? {})) cbTensors.push({ name: `${key}/${n}`, tensor: t });
  }
  const callbacksBin = await encode(cbTensors);

  const genName = `gen-${generation}`;
  const bins = { weights: weights, optimizer: optimizerBin, callbacks: callbacksBin };
  await writeDirAtomic(join(dir, genName), (tmp) => {
    for (const [k, b] of Object.entries(bins)) writeFileAtomic(join(tmp, `${k}.bin`), b.data);
  });
  const file = (k: keyof typeof bins): CheckpointFile => ({ path: `${genName}/${k}.bin`, bytes: bins[k].data.byteLength, sha256: sha256(bins[k].data), specs: bins[k].specs });
  const state: CheckpointState = {
    version: 2,
    generation,
    epoch: data.epoch,
    step: data.step,
    history: data.history,
    fingerprint: data.fingerprint,
    ...(data.stopReason ? { stopReason: data.stopReason } : {}),
    optimizer: opt.state,
    callbacks: cbJson,
    files: { weights: file('weights'), optimizer: file('optimizer'), callbacks: file('callbacks') },
  };
  // The commit point: before this rename the old checkpoint is current, after it the new one.
  writeJsonAtomic(join(dir, POINTER), state, { durable: true });
  removeStale(dir, generation);
}

/** Drop what no pointer names: older generations, temp folders of interrupted ones, version-1 files. */
function removeStale(dir: string, current: number): void {
  for (const g of generations(dir)) if (g !== current) removeLeftover(join(dir, `gen-${g}`));
  removeStaleGenerations(dir);
  // Files of the version-1 layout, written in place (the layout that could mix epochs).
  for (const legacy of ['weights.bin', 'optimizer.bin']) if (existsSync(join(dir, legacy))) removeLeftover(join(dir, legacy));
}

function removeStaleGenerations(dir: string): void {
  if (!existsSync(dir)) return;
  // (The folder belongs to one run, so any temp entry is a crash's: no age check needed.)
  for (const n of readdirSync(dir)) {
    if (/^\.gen-\d+\.(tmp|new|old)-[0-9a-f]{8}$|^\.checkpoint\.json\.tmp-[0-9a-f]{8}$/.test(n)) rmSync(join(dir, n), { recursive: true, force: true });
  }
}

function readPointerSafe(dir: string): number {
  try {
    const p = readPointer(dir);
    return p && (p as CheckpointState).version === 2 ? (p as CheckpointState).generation : 0;
  } catch {
    return 0;
  }
}

function generations(dir: string): number[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const m = GEN.exec(n);
    return m ? [Number(m[1])] : [];
  });
}

function readVerified(dir: string, f: CheckpointFile, jsonPath: string): ArrayBuffer {
  const p = join(dir, f.path);
  if (!/^gen-\d+\/\w+\.bin$/.test(f.path)) throw new Error(`${jsonPath}: file '${f.path}' is not a checkpoint file path`);
  if (!existsSync(p)) throw new Error(`${jsonPath}: ${f.path} is missing; delete ${dir} to start afresh`);
  const b = readFileSync(p);
  if (b.byteLength !== f.bytes || sha256(b) !== f.sha256) {
    throw new Error(`${jsonPath}: ${f.path} does not match its recorded size/sha256 (damaged); delete ${dir} to start afresh`);
  }
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
}

/**
 * Restore a checkpoint into `model`, `extraVariables` and `optimizer` when `dir` holds one with
 * the same fingerprint. Returns the record and the saved callback states, or undefined when there
 * is nothing to resume (no checkpoint, another run's, or the old version-1 layout). Files are
 * checked against their recorded sha256 before anything is changed.
 */
export async function loadCheckpoint(
  dir: string,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  fingerprint: string,
  extraVariables: tf.Variable[] = [],
): Promise<RestoredCheckpoint | undefined> {
  const jsonPath = join(dir, POINTER);
  const raw = readPointer(dir);
  if (!raw) return undefined;
  if (raw.version === 1) return undefined;
  if (raw.version !== 2) throw new Error(`${jsonPath}: unsupported checkpoint version ${String(raw.version)}`);
  const state = raw as CheckpointState;
  if (state.fingerprint !== fingerprint) return undefined;
  const buffers = {
    weights: readVerified(dir, state.files.weights, jsonPath),
    optimizer: readVerified(dir, state.files.optimizer, jsonPath),
    callbacks: readVerified(dir, state.files.callbacks, jsonPath),
  };
  const expected = model.weights.length + extraVariables.length;
  if (state.files.weights.specs.length !== expected) {
    throw new Error(`${jsonPath}: checkpoint has ${state.files.weights.specs.length} weights, model '${model.name}' has ${expected}`);
  }
  const weights = tf.io.decodeWeights(buffers.weights, state.files.weights.specs);
  try {
    const targets: Array<{ name: string; shape: number[]; write: (t: tf.Tensor) => void }> = [
      ...model.weights.map((w) => ({ name: w.originalName, shape: w.shape as number[], write: (t: tf.Tensor) => w.write(t) })),
      ...extraVariables.map((v, i) => ({ name: `extra/${i}`, shape: v.shape, write: (t: tf.Tensor) => v.assign(t) })),
    ];
    targets.forEach((w, i) => {
      const t = weights[state.files.weights.specs[i]!.name]!;
      if (t.shape.join() !== w.shape.join()) throw new Error(`${jsonPath}: weight ${w.name} has shape [${t.shape}] in the checkpoint, [${w.shape}] in the model`);
    });
    targets.forEach((w, i) => w.write(weights[state.files.weights.specs[i]!.name]!));
  } finally {
    tf.dispose(Object.values(weights));
  }
  await restoreOptimizer(optimizer, state.optimizer, tf.io.decodeWeights(buffers.optimizer, state.files.optimizer.specs), jsonPath);
  const cbTensors = tf.io.decodeWeights(buffers.callbacks, state.files.callbacks.specs);
  const callbacks: Record<string, CallbackState> = {};
  for (const [key, saved] of Object.entries(state.callbacks)) {
    const s = saved as { json: unknown; tensors: string[] };
    callbacks[key] = { json: s.json, tensors: Object.fromEntries(s.tensors.map((n) => [n, cbTensors[`${key}/${n}`]!])) };
  }
  // A crash after the last pointer switch may have left an older generation behind.
  removeStale(dir, state.generation);
  return { state, callbacks };
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
