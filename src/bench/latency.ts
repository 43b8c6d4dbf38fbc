import * as tf from '@tensorflow/tfjs';
import { seededRandom } from '../data/dataset.js';
import type { ModelRunner, RuntimeName } from './runner.js';
import { summarize, type LatencyStats } from './stats.js';

/** Options of {@link measureLatency}. */
export interface LatencyArgs {
  /** Samples per call. */
  batch: number;
  /** Untimed calls first (JIT, kernel caches, lazy weight upload). Default 5. */
  warmup?: number;
  /** Timed calls. Default 50. */
  repeats?: number;
  /** Shape of one sample; default the runner's declared input shape. */
  inputShape?: number[];
  /** Input values (`batch * prod(inputShape)`); default seeded uniform [0, 1). */
  input?: Float32Array;
  /** Called after every call (warm-up included), e.g. to advance a progress bar. */
  onStep?: () => void;
}

/** Memory seen while timing one runner. */
export interface MemoryStats {
  /** Growth of the resident set over the timed runs, bytes (may be negative after GC). */
  rssDeltaBytes: number;
  /** Growth of the V8 heap over the timed runs, bytes. */
  heapDeltaBytes: number;
  /** Peak tensor bytes of one inference (tfjs only, from tf.profile). */
  tfPeakBytes?: number;
  /** tf.memory().numBytes after the runs (tfjs only): weights plus anything leaked. */
  tfBytes?: number;
}

/** Timings of one model on one runtime at one batch size. */
export interface LatencyResult extends LatencyStats {
  runtime: RuntimeName;
  batch: number;
  warmup: number;
  /** Mean latency divided by batch. */
  msPerSample: number;
  /** batch * 1000 / mean latency. */
  samplesPerSec: number;
  memory: MemoryStats;
}

/** Load time plus first inference, measured on a freshly opened runner. */
export interface ColdStart {
  runtime: RuntimeName;
  loadMs: number;
  firstInferenceMs: number;
  totalMs: number;
}

/** Seeded uniform [0, 1) input of `batch * prod(shape)` values. */
export function randomInput(batch: number, shape: number[], seed = 1): Float32Array {
  const n = batch * shape.reduce((a, b) => a * b, 1);
  const rand = seededRandom(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rand();
  return x;
}

function resolveShape(runner: ModelRunner, shape?: number[]): number[] {
  const s = shape ?? runner.inputShape;
  if (!s) throw new Error(`model '${runner.name}': input shape unknown; pass inputShape (e.g. [28, 28, 1])`);
  return s;
}

/**
 * Time repeated inferences after a warm-up. Each call resolves only once the output is on the
 * CPU, so asynchronous backends are measured fully.
 *
 * @example
 * const r = await measureLatency(runner, { batch: 32, repeats: 50 });
 * console.log(r.p50Ms, r.samplesPerSec);
 */
export async function measureLatency(runner: ModelRunner, args: LatencyArgs): Promise<LatencyResult> {
  const { batch, warmup = 5, repeats = 50 } = args;
  if (!(Number.isInteger(batch) && batch > 0)) throw new Error(`latency: batch must be a positive integer, got ${batch}`);
  if (!(Number.isInteger(repeats) && repeats > 0)) throw new Error(`latency: repeats must be a positive integer, got ${repeats}`);
  if (!(Number.isInteger(warmup) && warmup >= 0)) throw new Error(`latency: warmup must be a non-negative integer, got ${warmup}`);
  const shape = resolveShape(runner, args.inputShape);
  const x = args.input ?? randomInput(batch, shape);
  const full = [batch, ...shape];
  if (x.length !== full.reduce((a, b) => a * b, 1)) {
    throw new Error(`latency: input has ${x.length} values, expected ${full.reduce((a, b) => a * b, 1)} for shape [${full}]`);
  }
  for (let i = 0; i < warmup; i++) {
    await runner.predict(x, full);
    args.onStep?.();
  }
  const before = process.memoryUsage();
  const times = new Float64Array(repeats);
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await runner.predict(x, full);
    times[i] = performance.now() - t0;
    args.onStep?.();
  }
  const after = process.memoryUsage();
  const memory: MemoryStats = { rssDeltaBytes: after.rss - before.rss, heapDeltaBytes: after.heapUsed - before.heapUsed };
  if (runner.peakBytes) {
    memory.tfPeakBytes = await runner.peakBytes(x, full);
    memory.tfBytes = tf.memory().numBytes;
  }
  const stats = summarize(times);
  return {
    runtime: runner.runtime,
    batch,
    warmup,
    ...stats,
    msPerSample: stats.meanMs / batch,
    samplesPerSec: (batch * 1000) / stats.meanMs,
    memory,
  };
}

/**
 * Cold start: time `open()` (load) and the first inference separately; returns the runner
 * so it can be timed warm afterwards.
 */
export async function measureColdStart(
  open: () => Promise<ModelRunner>,
  args: { batch?: number; inputShape?: number[] } = {},
): Promise<{ runner: ModelRunner; cold: ColdStart }> {
  const t0 = performance.now();
  const runner = await open();
  const t1 = performance.now();
  const batch = args.batch ?? 1;
  try {
    const shape = resolveShape(runner, args.inputShape);
    await runner.predict(randomInput(batch, shape), [batch, ...shape]);
  } catch (err) {
    runner.dispose();
    throw err;
  }
  const t2 = performance.now();
  return { runner, cold: { runtime: runner.runtime, loadMs: t1 - t0, firstInferenceMs: t2 - t1, totalMs: t2 - t0 } };
}
