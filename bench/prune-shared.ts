/** Helpers shared by the pruning benchmarks: saved artifact sizes and median latency. */
import * as tf from '@tensorflow/tfjs';
import { gzipSize } from '../src/util/gzip.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { saveLayersModel } from '../src/model/io.js';

/** Save a model as tfjs files and measure model.json + weights.bin, raw and gzipped (pako level 9). */
export async function savedSize(model: tf.LayersModel): Promise<{ bytes: number; gzipBytes: number; weightsGzipBytes: number }> {
  const dir = mkdtempSync(join(os.tmpdir(), 'prune-bench-'));
  try {
    await saveLayersModel(model, dir);
    const files = ['model.json', 'weights.bin'].map((f) => new Uint8Array(readFileSync(join(dir, f))));
    const gz = files.map((b) => gzipSize(b));
    return { bytes: files[0]!.byteLength + files[1]!.byteLength, gzipBytes: gz[0]! + gz[1]!, weightsGzipBytes: gz[1]! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Median of `repeats` timed calls of `fn` after `warmup` untimed ones, in ms. */
export async function p50(fn: () => Promise<void> | void, repeats: number, warmup = 5): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
