/** Helpers shared by the pruning benchmarks: environment facts, results JSON, artifact sizes, latency. */
import * as tf from '@tensorflow/tfjs';
import { gzip } from 'pako';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { saveLayersModel } from '../src/model/io.js';
import { writeJsonAtomic } from '../src/util/atomic.js';

/** Machine facts recorded with every result. */
export function environment(): Record<string, unknown> {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    loadAverage1m: os.loadavg()[0],
    node: process.version,
    backend: tf.getBackend(),
    date: new Date().toISOString(),
  };
}

/** Write `bench/results/<name>.json` atomically, environment included. */
export function writeResult(name: string, result: Record<string, unknown>): string {
  const path = join(import.meta.dirname, 'results', `${name}.json`);
  writeJsonAtomic(path, { benchmark: name, environment: environment(), ...result });
  return path;
}

/** Positive integer from an environment variable (quick runs shrink a benchmark with these). */
export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
}

/** Save a model as tfjs files and measure model.json + weights.bin, raw and gzipped (pako level 9). */
export async function savedSize(model: tf.LayersModel): Promise<{ bytes: number; gzipBytes: number; weightsGzipBytes: number }> {
  const dir = mkdtempSync(join(os.tmpdir(), 'prune-bench-'));
  try {
    await saveLayersModel(model, dir);
    const files = ['model.json', 'weights.bin'].map((f) => new Uint8Array(readFileSync(join(dir, f))));
    const gz = files.map((b) => gzip(b, { level: 9 }).byteLength);
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
