import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TensorDataset } from '../data/dataset.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { FrozenTeacher } from './teacher.js';

/** Teacher outputs for every training sample, in dataset order (row i = sample i). */
export interface TeacherCache {
  /** File the outputs live in. */
  path: string;
  /** True when the file already existed (no teacher forward pass was needed). */
  hit: boolean;
  /** Seconds spent computing (miss) or reading (hit) the outputs. */
  seconds: number;
  /** Flat logits, `size * prod(logitShape)` values. */
  logits: Float32Array;
  logitShape: number[];
  /** Flat features per requested teacher layer. */
  features: Float32Array[];
  featureShapes: number[][];
}

/** Biggest cache the distiller will build (features of conv layers grow quickly). */
export const MAX_CACHE_BYTES = 1 << 30;

/** sha256 of a dataset's inputs and shapes: changes whenever the training samples change. */
export function hashDataset(data: TensorDataset): string {
  const h = createHash('sha256');
  h.update(`${data.size}:[${data.xShape}]`);
  h.update(new Uint8Array(data.x.buffer, data.x.byteOffset, data.x.byteLength));
  return h.digest('hex');
}

function prod(s: readonly number[]): number {
  return s.reduce((a, b) => a * b, 1);
}

/** Cache file name for a teacher (by weight hash), a dataset and a set of feature layers. */
export function teacherCachePath(dir: string, teacherHash: string, dataHash: string, features: readonly string[]): string {
  const key = createHash('sha256').update(`${teacherHash}|${dataHash}|${features.join(',')}`).digest('hex').slice(0, 24);
  return join(dir, `teacher-${key}.bin`);
}

// File layout: 4-byte little-endian header length, JSON header, then float32 arrays back to back.
interface Header {
  version: 1;
  size: number;
  shapes: number[][];
}

function readCache(path: string, size: number): { arrays: Float32Array[]; shapes: number[][] } | undefined {
  const buf = readFileSync(path);
  if (buf.byteLength < 4) return undefined;
  const headerLen = buf.readUInt32LE(0);
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(4, 4 + headerLen).toString('utf8')) as Header;
  } catch {
    return undefined;
  }
  if (header.version !== 1 || header.size !== size) return undefined;
  let off = 4 + headerLen;
  off += (4 - (off % 4)) % 4;
  const arrays: Float32Array[] = [];
  for (const shape of header.shapes) {
    const n = size * prod(shape);
    if (off + n * 4 > buf.byteLength) return undefined;
    // Copy out so the result is 4-byte aligned and independent of the file buffer.
    arrays.push(new Float32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + n * 4)));
    off += n * 4;
  }
  return { arrays, shapes: header.shapes };
}

function writeCache(path: string, size: number, shapes: number[][], arrays: Float32Array[]): void {
  const json = Buffer.from(JSON.stringify({ version: 1, size, shapes } satisfies Header), 'utf8');
  const pad = (4 - ((4 + json.byteLength) % 4)) % 4;
  const total = 4 + json.byteLength + pad + arrays.reduce((s, a) => s + a.byteLength, 0);
  const out = Buffer.alloc(total);
  out.writeUInt32LE(json.byteLength, 0);
  json.copy(out, 4);
  let off = 4 + json.byteLength + pad;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
    off += a.byteLength;
  }
  writeFileAtomic(path, out);
}

/**
 * Load the teacher's outputs for `data` from `dir`, or compute them once (inference mode,
 * dataset order) and store them atomically. Only valid when the training inputs are the same
 * every epoch (no augmentation) — which is how the shared training loop feeds a TensorDataset.
 */
export function loadOrBuildTeacherCache(
  teacher: FrozenTeacher,
  data: TensorDataset,
  args: { dir: string; features: readonly string[]; batchSize: number; teacherHash?: string },
): TeacherCache {
  const t0 = performance.now();
  const path = teacherCachePath(args.dir, args.teacherHash ?? teacher.hash(), hashDataset(data), args.features);
  if (existsSync(path)) {
    const found = readCache(path, data.size);
    if (found && found.arrays.length === args.features.length + 1) {
      return {
        path,
        hit: true,
        seconds: (performance.now() - t0) / 1000,
        logits: found.arrays[0]!,
        logitShape: found.shapes[0]!,
        features: found.arrays.slice(1),
        featureShapes: found.shapes.slice(1),
      };
    }
  }
  let arrays: Float32Array[] | undefined;
  let shapes: number[][] = [];
  let row = 0;
  for (const batch of data.batches({ batchSize: args.batchSize })) {
    const out = teacher.run(batch.xs, args.features);
    const list = [out.logits, ...out.features];
    if (!arrays) {
      shapes = list.map((t) => t.shape.slice(1));
      const bytes = shapes.reduce((s, sh) => s + prod(sh) * 4 * data.size, 0);
      if (bytes > MAX_CACHE_BYTES) {
        tf.dispose([...list, batch.xs, batch.ys]);
        throw new Error(
          `teacher cache would need ${(bytes / 2 ** 20).toFixed(0)} MiB (> ${MAX_CACHE_BYTES / 2 ** 20} MiB) for ${data.size} samples and feature layers [${args.features.join(', ')}]; turn cacheTeacher off`,
        );
      }
      arrays = shapes.map((sh) => new Float32Array(prod(sh) * data.size));
    }
    list.forEach((t, i) => arrays![i]!.set(t.dataSync() as Float32Array, row * prod(shapes[i]!)));
    row += batch.indices.length;
    tf.dispose([...list, batch.xs, batch.ys]);
  }
  if (!arrays) throw new Error('cannot cache teacher outputs of an empty dataset');
  writeCache(path, data.size, shapes, arrays);
  return {
    path,
    hit: false,
    seconds: (performance.now() - t0) / 1000,
    logits: arrays[0]!,
    logitShape: shapes[0]!,
    features: arrays.slice(1),
    featureShapes: shapes.slice(1),
  };
}

/** Rows `indices` of a cached array as a tensor of shape [indices.length, ...shape]. */
export function gatherRows(flat: Float32Array, shape: readonly number[], indices: ArrayLike<number>): tf.Tensor {
  const width = prod(shape);
  const out = new Float32Array(indices.length * width);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    out.set(flat.subarray(r * width, (r + 1) * width), i * width);
  }
  return tf.tensor(out, [indices.length, ...shape], 'float32');
}
