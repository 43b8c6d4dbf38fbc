import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { writeJsonAtomic } from '../src/util/atomic.js';

const requireFromHere = createRequire(import.meta.url);

function version(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(requireFromHere.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Machine and package facts recorded with every distillation benchmark result. */
export function environment(): Record<string, unknown> {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    loadAverage1m: os.loadavg()[0],
    node: process.version,
    backend: tf.getBackend(),
    packages: Object.fromEntries(['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-converter'].map((p) => [p, version(p)])),
    date: new Date().toISOString(),
  };
}

/** Write `bench/results/<name>.json` atomically (environment included). */
export function writeResult(name: string, result: Record<string, unknown>): string {
  const path = join(import.meta.dirname, 'results', `${name}.json`);
  writeJsonAtomic(path, { benchmark: name, environment: environment(), ...result });
  return path;
}

/** Integer from an environment variable, with a default (lets quick runs shrink a benchmark). */
export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
}
