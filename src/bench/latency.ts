import * as tf from '@tensorflow/tfjs';
import { seededRandom } from '../data/dataset.js';
import type { InputSpec } from '../model/input-shape.js';
import type { Feed, ModelRunner, RuntimeName } from './runner.js';
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

/**
 * Seeded random values for every input of a model: uniform [0, 1) floats, and integers in
 * `[0, indexRange)` for token-id inputs (Embedding / Gather), so lookups stay in range. Unknown
 * per-sample dims (e.g. a free sequence length) are taken as 1.
 *
 * @example
 * randomFeeds(runner.inputs!, 32); // acgan: [{ shape: [32, 100], float32 }, { shape: [32, 1], int32 in 0..9 }]
 */
export function randomFeeds(inputs: readonly InputSpec[], batch: number, seed = 1): Feed[] {
  const rand = seededRandom(seed);
  return inputs.map((spec) => {
    const shape = [batch, ...spec.shape.map((d) => d ?? 1)];
    const n = shape.reduce((a, b) => a * b, 1);
    const dtype = spec.dtype === 'int32' || spec.dtype === 'int64' ? 'int32' : 'float32';
    const range = spec.indexRange ?? (dtype === 'int32' ? 2 : undefined);
    const data = dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = range ? Math.floor(rand() * range) : rand();
    return { data, shape, dtype };
  });
}

/** True when a runner needs a feed per input: several inputs, integer inputs or token ids. */
export function needsFeeds(runner: ModelRunner): boolean {
  const specs = runner.inputs;
  return !!runner.runFeeds && !!specs && (specs.length > 1 || specs.some((s) => s.dtype !== 'float32' || s.indexRange !== undefined));
}

/** One inference call of `batch` samples: every input fed for multi-input models, else the first. */
function inferenceCall(runner: ModelRunner, batch: number, shape?: number[], input?: Float32Array): { call: () => Promise<unknown>; full?: [Float32Array, number[]] } {
  if (!input && needsFeeds(runner)) {
    const feeds = randomFeeds(runner.inputs!, batch);
    return { call: () => runner.runFeeds!(feeds) };
  }
  const s = resolveShape(runner, shape);
  const x = input ?? randomInput(batch, s);
  const full = [batch, ...s];
  if (x.length !== full.reduce((a, b) => a * b, 1)) {
    throw new Error(`latency: input has ${x.length} values, expected ${full.reduce((a, b) => a * b, 1)} for shape [${full}]`);
  }
  return { call: () => runner.predict(x, full), full: [x, full] };
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
  const { call, full } = inferenceCall(runner, batch, args.inputShape, args.input);
  for (let i = 0; i < warmup; i++) {
    await call();
    args.onStep?.();
  }
  const before = process.memoryUsage();
  const times = new Float64Array(repeats);
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await call();
    times[i] = performance.now() - t0;
    args.onStep?.();
  }
  const after = process.memoryUsage();
  const memory: MemoryStats = { rssDeltaBytes: after.rss - before.rss, heapDeltaBytes: after.heapUsed - before.heapUsed };
  if (runner.peakBytes && full) {
    memory.tfPeakBytes = await runner.peakBytes(...full);
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
    await inferenceCall(runner, batch, args.inputShape).call();
  } catch (err) {
    runner.dispose();
    throw err;
  }
  const t2 = performance.now();
  return { runner, cold: { runtime: runner.runtime, loadMs: t1 - t0, firstInferenceMs: t2 - t1, totalMs: t2 - t0 } };
}
