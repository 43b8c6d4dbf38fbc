/**
 * Helpers shared by the benchmark modules: machine facts, package versions, writing
 * `bench/results/<name>.json`, and the one-line summaries BENCHMARKS.md asks for.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { currentBackend } from '../src/backend/index.js';
import { machineInfo } from '../src/bench/machine.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import type { TensorDataset } from '../src/data/dataset.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Packages whose versions every result records. */
export const TRACKED_PACKAGES = ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', 'onnxruntime-node', 'pako', 'protobufjs'];

/** Version of an installed package from node_modules/<name>/package.json, or `missing`. */
export function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'missing';
  }
}

/** Machine, Node, active tfjs backend and package versions. */
export function environment(): Record<string, unknown> {
  const m = machineInfo();
  return {
    cpu: m.cpu,
    cores: m.cores,
    node: m.node,
    platform: `${m.platform} ${m.arch}`,
    // Timings are only comparable as ratios within a run; the load says how busy the machine was.
    loadAverage1m: os.loadavg()[0],
    backend: currentBackend()?.name ?? tf.getBackend() ?? 'none',
    wasmThreads: currentBackend()?.threads,
    packages: Object.fromEntries(TRACKED_PACKAGES.map((p) => [p, packageVersion(p)])),
  };
}

/**
 * Write `bench/results/<name>.json` atomically with the environment and a date; returns the path.
 *
 * @example
 * writeResult('infer-latency', { rows, summary: lines });
 */
export function writeResult(name: string, result: Record<string, unknown>): string {
  const path = join(root, 'bench', 'results', `${name}.json`);
  const value = { benchmark: name, date: new Date().toISOString(), environment: environment(), ...result };
  writeJsonAtomic(path, value);
  lastResult = { path, value };
  return path;
}

let lastResult: { path: string; value: Record<string, unknown> } | undefined;

/**
 * Forget the last written result: bench/run.ts calls this before each benchmark, so summary lines a
 * benchmark prints before its own `writeResult` are not filed under the previous benchmark's result.
 */
export function beginBenchmark(): void {
  lastResult = undefined;
}

/**
 * Print one summary line (prefixed so `npm run bench | grep '^B'` collects them), add it to the
 * `summary` list of the result this benchmark wrote last (so docs/benchmarks.md can quote it),
 * and return it.
 */
export function summary(line: string): string {
  console.log(line);
  if (lastResult) {
    const list = Array.isArray(lastResult.value.summary) ? (lastResult.value.summary as unknown[]) : [];
    if (!list.includes(line)) {
      lastResult.value.summary = [...list, line];
      writeJsonAtomic(lastResult.path, lastResult.value);
    }
  }
  return line;
}

/** `a / b` as `1.27x`, or `n/a` when either side is missing. */
export function ratio(a: number | undefined, b: number | undefined): string {
  return a !== undefined && b !== undefined && b > 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : 'n/a';
}

/**
 * Integer of at least `min` (default 1) from an environment variable, with a default (quick runs
 * shrink a benchmark with these).
 */
export function envInt(name: string, fallback: number, min = 1): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

/** Comma list of numbers from an environment variable (default `fallback`), each accepted by `valid`. */
export function envNumbers(name: string, fallback: string, valid: (n: number) => boolean): number[] {
  const text = process.env[name] ?? fallback;
  // An empty entry is an error, not 0 (Number('') is 0).
  const values = text.split(',').map((t) => (t.trim() === '' ? NaN : Number(t)));
  if (values.some((v) => !Number.isFinite(v) || !valid(v))) throw new Error(`${name} must be a comma list of valid numbers, got '${text}'`);
  return values;
}

/** Samples held out of the 60,000 MNIST training images for tuning (the last 10,000, as Hinton et al. did). */
export const VALIDATION_SAMPLES = 10_000;

/**
 * The tuning split BENCHMARKS.md asks for: the training set without its last `validation` samples
 * (fit on it) and those samples (choose temperature, learning rate, epochs on them). The test set
 * is scored once, for the choices made here.
 *
 * @example const { fit, validation } = validationSplit(loadMnist({ split: 'train' }));
 */
export function validationSplit(train: TensorDataset, validation = VALIDATION_SAMPLES): { fit: TensorDataset; validation: TensorDataset } {
  if (!(validation > 0 && validation < train.size)) throw new Error(`validation split: ${validation} samples out of ${train.size}`);
  const cut = train.size - validation;
  return {
    fit: train.select(Int32Array.from({ length: cut }, (_, i) => i)),
    validation: train.select(Int32Array.from({ length: validation }, (_, i) => cut + i)),
  };
}
