import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { TensorDataset } from '../../data/dataset.js';
import type { Logs } from '../types.js';
import { STATS, type Command, type EpochStats, type InitMessage, type ModelTransfer, type WorkerMessage } from './protocol.js';
import { allocateShared } from './shared.js';

/** Options of {@link ParallelTrainer.start} and {@link trainParallel}. */
export interface ParallelOptions {
  /** Global batch size (split over the workers; default 128). */
  batchSize?: number;
  /** Worker threads, each with a single-threaded wasm backend (default: the CPU count, at most 8). */
  workers?: number;
  /** Optimizer name (see makeOptimizer; default adam). */
  optimizer?: string;
  learningRate?: number;
  seed?: number;
  shuffle?: boolean;
  /**
   * Distil from this frozen teacher (a layers model): loss = alpha * CE + (1 - alpha) * soft loss,
   * like distill(). Its forward pass runs in every worker on that worker's shard.
   */
  teacher?: tf.LayersModel;
  temperature?: number;
  alpha?: number;
  /** Registered distillation loss name (default `logits`, distill()'s default). */
  distillLoss?: string;
}

/** Options of {@link trainParallel}. */
export interface TrainParallelArgs extends ParallelOptions {
  epochs: number;
}

/** What {@link trainParallel} returns (the fields of TrainResult it can fill). */
export interface TrainParallelResult {
  history: Logs[];
  steps: number;
  stopReason?: string;
  samplesPerSecond: number;
  workers: number;
  /** Per epoch and worker: milliseconds spent in each phase (gradients, copy, all-reduce wait + sum, optimizer) and on-CPU ms. */
  phases: Array<Array<Record<string, number>>>;
}

/** One epoch as {@link ParallelTrainer.runEpoch} reports it. */
export interface ParallelEpoch {
  /** Mean loss, accuracy, samples/s (time of the slowest worker), like train()'s epoch logs. */
  logs: Logs;
  steps: number;
  /** Samples trained on and wall seconds of the slowest worker. */
  seen: number;
  seconds: number;
  /** Set when the loss became non-finite: the epoch stopped before applying that batch. */
  stopReason?: string;
  /** Per worker, in rank order. */
  phases: Array<Record<string, number>>;
}

function transfer(model: tf.LayersModel): ModelTransfer {
  return {
    topology: JSON.stringify(model.toJSON(null, false)),
    weights: model.getWeights().map((w) => w.dataSync() as Float32Array),
  };
}

function shared(src: Float32Array): SharedArrayBuffer {
  const buf = new SharedArrayBuffer(src.byteLength);
  new Float32Array(buf).set(src);
  return buf;
}

const requireHere = createRequire(import.meta.url);

/**
 * How to start a worker: the built `worker.js` (or `parallel-worker.js` beside a bundle) directly;
 * from source, a small data-URL bootstrap that registers tsx's loader in the worker first (loader
 * flags in execArgv do not reach worker threads on Node 20) and then imports `worker.ts`.
 */
function startWorker(): Worker {
  for (const name of ['./worker.js', './parallel-worker.js']) {
    const url = new URL(name, import.meta.url);
    if (fs.existsSync(fileURLToPath(url))) return new Worker(url);
  }
  const ts = new URL('./worker.ts', import.meta.url);
  if (!fs.existsSync(fileURLToPath(ts))) throw new Error(`trainParallel: worker script not found beside ${fileURLToPath(import.meta.url)}`);
  const api = pathToFileURL(path.join(path.dirname(requireHere.resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  const boot = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(ts.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { execArgv: [] });
}

/**
 * Data-parallel training over worker threads, one epoch at a time (what train() needs to drive it):
 * each of `workers` threads runs a single-threaded wasm backend with a copy of the model, computes the
 * gradient of its shard of every batch, and the shards' gradients are summed through a
 * SharedArrayBuffer (sharded all-reduce, two barriers per step). Every worker then applies the same
 * optimizer update, so the copies stay identical. Unlike one backend with an XNNPACK thread pool,
 * this also runs the JS kernels (im2col, pooling gradients, bias sums) and tfjs's per-op overhead in
 * parallel.
 *
 * Same batches (order and size) and loss as train(); the loss is the batch mean, so an update equals
 * one process training on the whole batch up to float rounding. Limits: layers models built from
 * registered layers (the topology is rebuilt in each worker); the optimizer state lives in the
 * workers; BatchNorm statistics are per shard (like PyTorch DDP without SyncBatchNorm).
 *
 * @example
 * const t = await ParallelTrainer.start(model, data, { workers: 2 });
 * try { for (let e = 0; e < 3; e++) console.log((await t.runEpoch(e)).logs); await t.copyWeightsTo(model); }
 * finally { await t.stop(); }
 */
export class ParallelTrainer {
  private failure?: Error;
  private waiting: Array<{ rank: number; type: WorkerMessage['type']; resolve: (m: WorkerMessage) => void; reject: (e: Error) => void }> = [];
  private learningRate: number;

  private constructor(private readonly pool: Worker[], readonly workers: number, learningRate: number) {
    this.learningRate = learningRate;
    pool.forEach((w, rank) => {
      w.on('message', (msg: WorkerMessage) => {
        if (msg.type === 'error') return this.fail(new Error(`trainParallel worker ${msg.rank}: ${msg.message}`));
        const i = this.waiting.findIndex((q) => q.rank === msg.rank && q.type === msg.type);
        if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(msg);
      });
      w.on('error', (e: Error) => this.fail(new Error(`trainParallel worker ${rank}: ${e.message}`)));
      w.on('exit', (code) => { if (code !== 0) this.fail(new Error(`trainParallel worker ${rank} exited with code ${code}`)); });
    });
  }

  /** Start the workers (each loads tfjs, wasm and the model) and wait until all are ready. */
  static async start(model: tf.LayersModel, data: TensorDataset, opts: ParallelOptions = {}): Promise<ParallelTrainer> {
    const workers = opts.workers ?? Math.min(8, os.availableParallelism?.() ?? os.cpus().length);
    if (!(Number.isInteger(workers) && workers >= 1 && workers <= 64)) throw new Error(`trainParallel: workers must be an integer in 1..64, got ${workers}`);
    const batchSize = opts.batchSize ?? 128;
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`trainParallel: batchSize must be a positive integer, got ${batchSize}`);
    if (data.size === 0) throw new Error('trainParallel: the training dataset is empty');
    const learningRate = opts.learningRate ?? 1e-3;
    const params = model.trainableWeights.reduce((a, w) => a + w.read().size, 0);
    const base: Omit<InitMessage, 'rank'> = {
      shared: allocateShared(workers, params + STATS),
      student: transfer(model),
      teacher: opts.teacher ? transfer(opts.teacher) : undefined,
      x: shared(data.x),
      y: shared(data.y),
      xShape: data.xShape,
      yShape: data.yShape,
      size: data.size,
      batchSize,
      shuffle: opts.shuffle ?? true,
      seed: opts.seed ?? 0,
      optimizer: opts.optimizer ?? 'adam',
      learningRate,
      temperature: opts.temperature ?? 4,
      alpha: opts.alpha ?? 0.1,
      distillLoss: opts.distillLoss ?? 'logits',
    };
    const t = new ParallelTrainer(Array.from({ length: workers }, () => startWorker()), workers, learningRate);
    try {
      await t.all('ready', (w, rank) => w.postMessage({ ...base, rank } satisfies InitMessage));
    } catch (e) {
      await t.terminate();
      throw e;
    }
    return t;
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const q of this.waiting.splice(0)) q.reject(this.failure);
  }

  /** Send to every worker (or one) and wait for the reply of each. */
  private async all<T extends WorkerMessage['type']>(type: T, send: (w: Worker, rank: number) => void, ranks = this.pool.map((_, i) => i)): Promise<Array<Extract<WorkerMessage, { type: T }>>> {
    if (this.failure) throw this.failure;
    const replies = ranks.map((rank) => new Promise<WorkerMessage>((resolve, reject) => this.waiting.push({ rank, type, resolve, reject })));
    ranks.forEach((rank) => send(this.pool[rank]!, rank));
    return (await Promise.all(replies)) as Array<Extract<WorkerMessage, { type: T }>>;
  }

  private command(c: Command, w: Worker): void {
    w.postMessage(c);
  }

  /** Learning rate for the next epochs (e.g. from a schedule or ReduceLROnPlateau). */
  setLearningRate(lr: number): void {
    if (!(lr > 0)) throw new Error(`trainParallel: learningRate must be > 0, got ${lr}`);
    this.learningRate = lr;
  }

  /** One epoch (batches in train()'s order for this seed and epoch number). */
  async runEpoch(epoch: number): Promise<ParallelEpoch> {
    const rows = (await this.all('epoch', (w) => this.command({ cmd: 'epoch', epoch, learningRate: this.learningRate }, w))) as EpochStats[];
    // Statistics are global (reduced), so every worker reports the same; time = the slowest worker.
    const r = rows[0]!;
    const seconds = Math.max(...rows.map((q) => q.seconds));
    const logs: Logs = r.seen > 0 ? { loss: r.loss / r.seen, accuracy: r.correct / r.seen, samples_per_s: r.seen / seconds, lr: this.learningRate } : {};
    return { logs, steps: r.steps, seen: r.seen, seconds, stopReason: r.stopReason, phases: rows.map((q) => q.phases) };
  }

  /** Write the workers' current weights (all identical; read from worker 0) into `model`. */
  async copyWeightsTo(model: tf.LayersModel): Promise<void> {
    const [reply] = await this.all('weights', (w) => this.command({ cmd: 'getWeights' }, w), [0]);
    const tensors = model.weights.map((w, i) => tf.tensor(reply!.weights[i]!, w.shape as number[], 'float32'));
    model.setWeights(tensors);
    tf.dispose(tensors);
  }

  /** Replace the workers' weights with `model`'s (after a callback changed them, e.g. pruning masks). */
  async copyWeightsFrom(model: tf.LayersModel): Promise<void> {
    const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
    await this.all('ok', (w) => this.command({ cmd: 'setWeights', weights }, w));
  }

  /** Free every worker's tensors and end the threads. */
  async stop(): Promise<void> {
    try {
      if (!this.failure) await this.all('ok', (w) => this.command({ cmd: 'stop' }, w));
    } finally {
      await this.terminate();
    }
  }

  private async terminate(): Promise<void> {
    // Workers blocked in a barrier after another failed never return on their own.
    this.failure ??= new Error('trainParallel: stopped');
    await Promise.all(this.pool.map((w) => w.terminate()));
  }
}

/**
 * Train `model` for `epochs` with {@link ParallelTrainer} and write the trained weights back into it.
 * No callbacks, validation or checkpoints (train() would drive a ParallelTrainer for those).
 *
 * @example
 * const r = await trainParallel(buildZooModel('cnn'), data, { epochs: 2, workers: 2 });
 */
export async function trainParallel(model: tf.LayersModel, data: TensorDataset, args: TrainParallelArgs): Promise<TrainParallelResult> {
  if (!(Number.isInteger(args.epochs) && args.epochs > 0)) throw new Error(`trainParallel: epochs must be a positive integer, got ${args.epochs}`);
  const t = await ParallelTrainer.start(model, data, args);
  const history: Logs[] = [];
  const phases: TrainParallelResult['phases'] = [];
  let steps = 0;
  let stopReason: string | undefined;
  let seconds = 0;
  let samples = 0;
  try {
    for (let epoch = 0; epoch < args.epochs && !stopReason; epoch++) {
      const e = await t.runEpoch(epoch);
      steps += e.steps;
      stopReason = e.stopReason;
      phases.push(e.phases);
      if (e.seen > 0) history.push(e.logs);
      seconds += e.seconds;
      samples += e.seen;
    }
    await t.copyWeightsTo(model);
  } finally {
    await t.stop();
  }
  return { history, steps, stopReason, samplesPerSecond: samples / Math.max(seconds, 1e-9), workers: t.workers, phases };
}
