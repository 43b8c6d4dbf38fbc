/**
 * B5 companion `train-profile`: where a training step of the zoo `mlp` and `cnn` goes on the default
 * backend. Every kernel registered for the backend is wrapped with a wall-clock timer (wasm kernels
 * run synchronously, so wall time around the kernel function is its cost; kernels our kernels call
 * internally are counted in their caller, not twice). Prints a per-kernel table (ms per step, share
 * of the step, GFLOP/s for the GEMM-type kernels and their fraction of the GEMM peak measured in this
 * run, bench/gemm-shared.ts) for a step exactly like train()'s: softmax cross-entropy + accuracy count,
 * `optimizer.minimize` with Adam, batch 128, random inputs.
 * Then (TP_AB=0 skips it) B5's epochs, A/B in this process, alternating rounds: train()/distill() on
 * this backend vs trainParallel() over worker threads with one single-threaded wasm backend each
 * (src/train/parallel), best timed epoch of each, samples/s and CPU ms per sample.
 * Env: TP_AB_SAMPLES (default 2048), TP_AB_PASSES (timed epochs per call, default 2), TP_AB_ROUNDS
 * (default 2), TP_WORKERS (default 2).
 * Env: TP_MODELS (default mlp,cnn), TP_STEPS (timed steps, default 5; per-kernel and step medians
 * are reported), TP_BATCH (default 128), TP_CLOCK=cpu: time with the process's CPU clock instead of
 * wall time: far less sensitive to other processes on a shared machine; with one thread
 * (TFJS_COMPRESS_THREADS=1) it is the kernels' cost, with more it adds XNNPACK's pool threads (their
 * spinning included), so it is not a wall time.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/backend/index.js';
import { captureStock } from '../src/backend/wasm/kernel_utils.js';
import { TensorDataset, oneHot, seededRandom } from '../src/data/dataset.js';
import { distill } from '../src/distill/index.js';
import { buildZooModel } from '../src/model/zoo.js';
import { train } from '../src/train/index.js';
import { trainParallel } from '../src/train/parallel/index.js';
import type { TrainCallback } from '../src/train/types.js';
import { countCorrect, crossEntropyFor } from '../src/train/metrics.js';
import { envInt, summary, writeResult } from './common.js';
import { PEAK_SHAPES } from './gemm-shared.js';

/** CPU milliseconds of the whole process (all threads; microsecond resolution). */
function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The clock the profile uses: wall time, or the process's CPU time with TP_CLOCK=cpu. */
export const clock: () => number = process.env.TP_CLOCK === 'cpu' ? processCpuMs : () => performance.now();

/** FLOPs (2 per multiply-add) of the GEMM-type kernels; 0 for everything else. */
export function kernelFlops(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap | undefined): number {
  const a = (attrs ?? {}) as Record<string, unknown>;
  const conv = (xShape: number[], filterShape: number[]) => {
    const info = tf.backend_util.computeConv2DInfo(
      xShape as [number, number, number, number], filterShape as [number, number, number, number],
      a.strides as [number, number], (a.dilations as [number, number] | undefined) ?? 1, a.pad as 'same', a.dimRoundingMode as 'floor' | undefined,
    );
    return 2 * info.batchSize * info.outHeight * info.outWidth * info.filterHeight * info.filterWidth * info.inChannels * info.outChannels;
  };
  switch (name) {
    case 'Conv2D':
    case 'FusedConv2D':
      return conv(inputs.x!.shape, inputs.filter!.shape);
    case 'Conv2DBackpropInput':
      return conv(a.inputShape as number[], inputs.filter!.shape);
    case 'Conv2DBackpropFilter':
      return conv(inputs.x!.shape, a.filterShape as number[]);
    case 'BatchMatMul':
    case '_FusedMatMul': {
      const sa = inputs.a!.shape;
      const sb = inputs.b!.shape;
      const m = a.transposeA ? sa[sa.length - 1]! : sa[sa.length - 2]!;
      const k = a.transposeA ? sa[sa.length - 2]! : sa[sa.length - 1]!;
      const n = a.transposeB ? sb[sb.length - 2]! : sb[sb.length - 1]!;
      const batch = Math.max(sa.slice(0, -2).reduce((x, y) => x * y, 1), sb.slice(0, -2).reduce((x, y) => x * y, 1));
      return 2 * batch * m * k * n;
    }
    default:
      return 0;
  }
}

/** One profiled kernel call site (kernel name + input shapes + flags). */
export interface KernelRow {
  key: string;
  kernel: string;
  calls: number;
  ms: number[];
  flops: number;
}

/**
 * Wrap every kernel of `backendName` with a timer; returns the recorder and an `unwrap()` that
 * re-registers the original kernels. Nested kernel calls (our kernels calling stock ones through the
 * registry) are only timed at the outermost level.
 */
export function instrumentKernels(backendName: string): { rows: Map<string, KernelRow>; newStep(): void; unwrap(): void } {
  const originals = tf.getKernelsForBackend(backendName);
  // Our kernels capture stock kernels lazily: capture them now, unwrapped.
  for (const k of originals) captureStock(k.kernelName);
  const rows = new Map<string, KernelRow>();
  let step = -1;
  let depth = 0;
  for (const k of originals) {
    const f = k.kernelFunc;
    const wrapped: tf.KernelFunc = (args) => {
      if (depth > 0) return f(args);
      depth++;
      const t0 = clock();
      try {
        return f(args);
      } finally {
        const ms = clock() - t0;
        depth--;
        const shapes = Object.values(args.inputs).filter((t) => t !== undefined && t !== null).map((t) => `[${t!.shape.join(',')}]`).join(' ');
        const flags = args.attrs && ((args.attrs as Record<string, unknown>).transposeA || (args.attrs as Record<string, unknown>).transposeB)
          ? ` tA=${Number(Boolean(args.attrs.transposeA))} tB=${Number(Boolean(args.attrs.transposeB))}` : '';
        const key = `${k.kernelName} ${shapes}${flags}`;
        let row = rows.get(key);
        if (!row) {
          row = { key, kernel: k.kernelName, calls: 0, ms: [], flops: kernelFlops(k.kernelName, args.inputs, args.attrs) };
          rows.set(key, row);
        }
        if (step >= 0) {
          row.ms[step] = (row.ms[step] ?? 0) + ms;
          row.calls++;
        }
      }
    };
    tf.unregisterKernel(k.kernelName, backendName);
    tf.registerKernel({ ...k, kernelFunc: wrapped });
  }
  return {
    rows,
    newStep: () => { step++; },
    unwrap: () => {
      for (const k of originals) {
        tf.unregisterKernel(k.kernelName, backendName);
        tf.registerKernel(k);
      }
    },
  };
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : 0;
};

/** A train()-style step: loss + accuracy count inside optimizer.minimize. */
export function makeStep(model: tf.LayersModel, batch: number, seed: number): { step(): number; dispose(): void } {
  const opt = tf.train.adam(1e-3);
  const ce = crossEntropyFor(model);
  const inShape = model.inputs[0]!.shape.slice(1) as number[];
  const xs = tf.randomUniform([batch, ...inShape], 0, 1, 'float32', seed);
  const ys = tf.tidy(() => tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', seed + 1) as tf.Tensor1D, 10).toFloat());
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  return {
    step() {
      let correct: tf.Scalar | undefined;
      const loss = opt.minimize(() => {
        const out = model.apply(xs, { training: true }) as tf.Tensor;
        correct = tf.keep(countCorrect(ys, out));
        return ce(ys, out);
      }, true, trainable)!;
      const v = loss.dataSync()[0]!;
      correct!.dataSync();
      tf.dispose([loss, correct!]);
      return v;
    },
    dispose() {
      tf.dispose([xs, ys]);
      opt.dispose();
    },
  };
}

/** Profile `steps` steps of `model` (after 2 warm-up steps); returns the table rows and step times. */
export function profileModel(modelName: string, steps: number, batch: number): { rows: KernelRow[]; stepMs: number[] } {
  const model = buildZooModel(modelName, { seed: 1 });
  const s = makeStep(model, batch, 7);
  try {
    s.step();
    s.step();
    const inst = instrumentKernels(tf.getBackend());
    const stepMs: number[] = [];
    try {
      for (let i = 0; i < steps; i++) {
        inst.newStep();
        const t0 = clock();
        s.step();
        stepMs.push(clock() - t0);
      }
    } finally {
      inst.unwrap();
    }
    const rows = [...inst.rows.values()].filter((r) => r.calls > 0);
    for (const r of rows) for (let i = 0; i < steps; i++) r.ms[i] ??= 0;
    return { rows, stepMs };
  } finally {
    s.dispose();
    model.dispose();
  }
}

/** Render the profile table (markdown), per-kernel medians over the timed steps. */
export function profileTable(rows: KernelRow[], stepMs: number[], peakGflops: number, top = 18): string {
  const steps = stepMs.length;
  const step = median(stepMs);
  const med = rows.map((r) => ({ ...r, med: median(r.ms) })).sort((a, b) => b.med - a.med);
  const lines = ['| kernel (inputs) | calls/step | ms/step | % of step | GFLOP/s | % of peak |', '|---|---:|---:|---:|---:|---:|'];
  const fmt = (r: { key: string; calls: number; med: number; flops: number }) => {
    const g = r.flops > 0 ? (r.flops * (r.calls / steps)) / (r.med * 1e6) : undefined;
    return `| ${r.key} | ${(r.calls / steps).toFixed(0)} | ${r.med.toFixed(1)} | ${((r.med / step) * 100).toFixed(1)} | ${g ? g.toFixed(1) : ''} | ${g ? ((g / peakGflops) * 100).toFixed(0) : ''} |`;
  };
  for (const r of med.slice(0, top)) lines.push(fmt(r));
  const rest = med.slice(top);
  const restMs = rest.reduce((a, r) => a + r.med, 0);
  lines.push(`| ${rest.length} other kernel call sites | ${rest.reduce((a, r) => a + r.calls / steps, 0).toFixed(0)} | ${restMs.toFixed(1)} | ${((restMs / step) * 100).toFixed(1)} | | |`);
  const inKernels = med.reduce((a, r) => a + r.med, 0);
  lines.push(`| outside kernels (engine, tape, JS; step median minus kernel medians) | | ${(step - inKernels).toFixed(1)} | ${(((step - inKernels) / step) * 100).toFixed(1)} | | |`);
  const gemm = med.filter((r) => r.flops > 0);
  const gemmMs = gemm.reduce((a, r) => a + r.med, 0);
  const gemmFlops = gemm.reduce((a, r) => a + (r.flops * r.calls) / steps, 0);
  lines.push(`| **GEMM-type kernels** | | **${gemmMs.toFixed(1)}** | ${((gemmMs / step) * 100).toFixed(1)} | ${(gemmFlops / (gemmMs * 1e6)).toFixed(1)} | ${((gemmFlops / (gemmMs * 1e6) / peakGflops) * 100).toFixed(0)} |`);
  lines.push(`| **whole step** (median of ${steps}) | | **${step.toFixed(1)}** | 100 | ${(gemmFlops / (step * 1e6)).toFixed(1)} | ${((gemmFlops / (step * 1e6) / peakGflops) * 100).toFixed(0)} |`);
  return lines.join('\n');
}

/** The GEMM peak (bench/gemm-shared.ts's shapes, best of 5 after a warm-up) measured with {@link clock}. */
function gemmPeakGflops(): number {
  let best = 0;
  for (const sh of PEAK_SHAPES) {
    const a = tf.randomUniform([sh.m, sh.k], -1, 1, 'float32', 1);
    const b = tf.randomUniform([sh.k, sh.n], -1, 1, 'float32', 2);
    for (let i = 0; i <= 5; i++) {
      const t0 = clock();
      const c = tf.matMul(a, b);
      c.dataSync();
      const ms = clock() - t0;
      c.dispose();
      if (i > 0) best = Math.max(best, (2 * sh.m * sh.k * sh.n) / (ms * 1e6));
    }
    tf.dispose([a, b]);
  }
  return best;
}

/** B5's random data (bench/train-throughput.ts). */
function randomData(samples: number, seed: number): TensorDataset {
  const rand = seededRandom(seed);
  const x = Float32Array.from({ length: samples * 784 }, () => rand());
  const labels = Int32Array.from({ length: samples }, () => Math.floor(rand() * 10));
  return new TensorDataset(x, [28, 28, 1], oneHot(labels, 10), [10], labels);
}

/** Per timed epoch: seconds and process CPU ms (a callback around each epoch). */
class EpochCpu implements TrainCallback {
  cpu: number[] = [];
  private c0 = 0;
  onEpochBegin(): void { this.c0 = processCpuMs(); }
  onEpochEnd(): void { this.cpu.push(processCpuMs() - this.c0); }
}

/** One A/B side: best timed epoch (samples/s) and its CPU ms per sample. */
interface Side { samplesPerSec: number; cpuMsPerSample: number }

async function single(model: string, task: 'train' | 'distill', data: TensorDataset, passes: number): Promise<Side> {
  const m = buildZooModel(model, { seed: 1 });
  const teacher = task === 'distill' ? buildZooModel(model, { seed: 2 }) : undefined;
  const cb = new EpochCpu();
  try {
    const history = teacher
      ? (await distill({ teacher, student: m, data, epochs: 1 + passes, batchSize: 128, temperature: 4, alpha: 0.1, seed: 1, callbacks: [cb] })).history
      : (await train(m, data, { epochs: 1 + passes, batchSize: 128, seed: 1, callbacks: [cb] })).history;
    const sps = history.map((h) => h.samples_per_s!);
    const best = sps.slice(1).reduce((b, v, i) => (v > sps[b + 1]! ? i : b), 0) + 1;
    return { samplesPerSec: sps[best]!, cpuMsPerSample: cb.cpu[best]! / data.size };
  } finally {
    m.dispose();
    teacher?.dispose();
  }
}

async function parallel(model: string, task: 'train' | 'distill', data: TensorDataset, passes: number, workers: number): Promise<Side> {
  const m = buildZooModel(model, { seed: 1 });
  const teacher = task === 'distill' ? buildZooModel(model, { seed: 2 }) : undefined;
  try {
    const r = await trainParallel(m, data, { epochs: 1 + passes, batchSize: 128, seed: 1, workers, teacher, temperature: 4, alpha: 0.1 });
    const sps = r.history.map((h) => h.samples_per_s!);
    const best = sps.slice(1).reduce((b, v, i) => (v > sps[b + 1]! ? i : b), 0) + 1;
    const cpu = r.phases[best]!.reduce((a, p) => a + (p.cpu ?? NaN), 0);
    return { samplesPerSec: sps[best]!, cpuMsPerSample: cpu / data.size };
  } finally {
    m.dispose();
    teacher?.dispose();
  }
}

/**
 * B5 epochs A/B: single-process training on the active backend vs trainParallel, alternating
 * `rounds` times (a shared machine's load shifts between rounds), best epoch of each side.
 */
export async function parallelAB(models: string[], samples: number, passes: number, rounds: number, workers: number) {
  const data = randomData(samples, 0);
  const rows: Array<{ model: string; task: string; single: Side; parallel: Side }> = [];
  for (const model of models) {
    for (const task of ['train', 'distill'] as const) {
      let a: Side = { samplesPerSec: 0, cpuMsPerSample: NaN };
      let b: Side = { samplesPerSec: 0, cpuMsPerSample: NaN };
      for (let r = 0; r < rounds; r++) {
        const s = await single(model, task, data, passes);
        if (s.samplesPerSec > a.samplesPerSec) a = s;
        const p = await parallel(model, task, data, passes, workers);
        if (p.samplesPerSec > b.samplesPerSec) b = p;
      }
      rows.push({ model, task, single: a, parallel: b });
    }
  }
  return rows;
}

/** Benchmark entry point (see bench/run.ts). */
export default async function run(): Promise<void> {
  const backend = await setBackend('auto');
  const steps = envInt('TP_STEPS', 5);
  const batch = envInt('TP_BATCH', 128);
  const models = (process.env.TP_MODELS ?? 'mlp,cnn').split(',');
  const n0 = tf.memory().numTensors;
  // The peak is measured before and after the profiles (best of both): a shared machine's noise only lowers it.
  let peak = gemmPeakGflops();
  const profiles = models.map((model) => ({ model, ...profileModel(model, steps, batch) }));
  peak = Math.max(peak, gemmPeakGflops());
  if (tf.memory().numTensors !== n0) throw new Error(`train-profile leaked ${tf.memory().numTensors - n0} tensors`);
  const results: Record<string, unknown>[] = [];
  const lines: string[] = [];
  const clockName = process.env.TP_CLOCK === 'cpu' ? 'process CPU ms' : 'wall ms';
  for (const { model, rows, stepMs } of profiles) {
    const table = profileTable(rows, stepMs, peak);
    console.log(`\n${model}, batch ${batch}, ${backend.name}${backend.threads ? ` (${backend.threads} threads)` : ''}, ${clockName}, GEMM peak ${peak.toFixed(1)} GFLOP/s\n${table}\n`);
    const step = median(stepMs);
    const gemm = rows.filter((r) => r.flops > 0);
    const gemmMs = gemm.reduce((a, r) => a + median(r.ms), 0);
    const gemmFlops = gemm.reduce((a, r) => a + (r.flops * r.calls) / steps, 0);
    results.push({ model, batch, steps, stepMs, rows: rows.map((r) => ({ key: r.key, kernel: r.kernel, callsPerStep: r.calls / steps, msMedian: median(r.ms), flopsPerCall: r.flops })), table });
    lines.push(
      `B5 train-profile ${model} (${backend.threads ?? 1} thread${backend.threads === 1 ? '' : 's'}, ${clockName}): step ${step.toFixed(0)} ms (batch ${batch} = ${((batch * 1000) / step).toFixed(0)} samples/s); ` +
        `GEMM-type kernels ${gemmMs.toFixed(0)} ms = ${((gemmMs / step) * 100).toFixed(0)}% of the step at ${(gemmFlops / (gemmMs * 1e6)).toFixed(1)} GFLOP/s ` +
        `(${((gemmFlops / (gemmMs * 1e6) / peak) * 100).toFixed(0)}% of the ${peak.toFixed(1)} GFLOP/s peak); whole step ${((gemmFlops / (step * 1e6) / peak) * 100).toFixed(0)}% of peak`,
    );
  }
  let ab: Awaited<ReturnType<typeof parallelAB>> = [];
  if (process.env.TP_AB !== '0') {
    const workers = envInt('TP_WORKERS', 2);
    const rounds = envInt('TP_AB_ROUNDS', 2);
    const passes = envInt('TP_AB_PASSES', 2);
    ab = await parallelAB(models, envInt('TP_AB_SAMPLES', 2048), passes, rounds, workers);
    const threads = `${backend.name}${backend.threads ? `, ${backend.threads} threads` : ''}`;
    for (const r of ab) {
      lines.push(
        `B5 train-profile A/B ${r.model} ${r.task}: trainParallel (${workers} workers x 1-thread wasm) ${r.parallel.samplesPerSec.toFixed(0)} samples/s vs ` +
          `${r.task}() (${threads}) ${r.single.samplesPerSec.toFixed(0)} = ${(r.parallel.samplesPerSec / r.single.samplesPerSec).toFixed(2)}x; ` +
          `CPU ${r.parallel.cpuMsPerSample.toFixed(2)} vs ${r.single.cpuMsPerSample.toFixed(2)} ms/sample (best of ${passes} epochs x ${rounds} alternating rounds, load ${os.loadavg()[0]!.toFixed(1)})`,
      );
    }
  }
  writeResult('train-profile', { backend: backend.name, threads: backend.threads, clock: clockName, peakGflops: peak, results, parallelAB: ab });
  for (const l of lines) summary(l);
}
