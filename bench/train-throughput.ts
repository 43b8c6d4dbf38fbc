/**
 * B5 train-throughput: samples/s of one training epoch (Adam, batch 128) and one distillation
 * epoch (student + frozen teacher forward, KD loss) for the zoo models `mlp` (784-800-800-10)
 * and `cnn` (conv32-conv64-pool-dense128-dense10), on the default backend, against PyTorch on
 * the same CPU (shared/peers/torch_peer.py), measured in this run with the peer's protocol on both
 * sides: random inputs, one warm-up epoch, then the best of B5_PASSES timed epochs (the figure least
 * disturbed by a shared machine). The peer must run at its best (2 threads, an optimized BLAS, which
 * the result records); a peer that cannot stops the benchmark.
 * Every line also says what fraction of this machine's measured GEMM peak (bench/gemm-shared.ts, same
 * backend and threads, measured in this run) the step reaches: FLOPs counted over Dense and Conv2D
 * layers, a training step as 3x the forward pass, distillation adding the teacher's forward pass.
 * The peer's rate is put in the same FLOPs, so each line also says what fraction of the wasm peak
 * 1.0x would take (above 100%: more than the wasm GEMM alone reaches here, so out of reach of any
 * GEMM-based wasm kernel).
 * Env: B5_SAMPLES (default 4096), B5_MODELS (comma list, default mlp,cnn), B5_PASSES (default 3).
 */
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/backend/index.js';
import { TensorDataset, oneHot, seededRandom } from '../src/data/dataset.js';
import { buildZooModel } from '../src/model/zoo.js';
import { train } from '../src/train/index.js';
import { distill } from '../src/distill/index.js';
import { requireTorchPeer, type TorchPeerResult } from '../scripts/peers.js';
import { envInt, ratio, summary, writeResult } from './common.js';
import { forwardFlopsPerSample, gemmPeak, trainingFlopsPerSample } from './gemm-shared.js';

const BATCH = 128;
const TEMPERATURE = 4; // the peer's defaults
const ALPHA = 0.1;

/** Random inputs and labels like the peer's (`torch.rand`, `torch.randint`). */
function randomData(samples: number, seed: number): TensorDataset {
  const rand = seededRandom(seed);
  const x = Float32Array.from({ length: samples * 784 }, () => rand());
  const labels = Int32Array.from({ length: samples }, () => Math.floor(rand() * 10));
  return new TensorDataset(x, [28, 28, 1], oneHot(labels, 10), [10], labels);
}

/** Seconds of each timed epoch of plain training (the first epoch is the warm-up). */
async function oursTrain(model: string, data: TensorDataset, passes: number): Promise<number[]> {
  const m = buildZooModel(model, { seed: 1 });
  const r = await train(m, data, { epochs: 1 + passes, batchSize: BATCH, seed: 1 });
  m.dispose();
  return r.history.slice(1).map((h) => data.size / h.samples_per_s!);
}

/** Seconds of each timed epoch of distillation from a frozen teacher of the same architecture. */
async function oursDistill(model: string, data: TensorDataset, passes: number): Promise<number[]> {
  const teacher = buildZooModel(model, { seed: 2 });
  const student = buildZooModel(model, { seed: 1 });
  const r = await distill({ teacher, student, data, epochs: 1 + passes, batchSize: BATCH, temperature: TEMPERATURE, alpha: ALPHA, seed: 1 });
  teacher.dispose();
  student.dispose();
  return r.epochSeconds.slice(1);
}

function peer(task: 'train' | 'distill', model: string, samples: number, passes: number): TorchPeerResult | string {
  const args = ['--task', task, '--model', model, '--threads', '2', '--batch', String(BATCH), '--samples', String(samples), '--repeats', String(passes)];
  if (task === 'distill') args.push('--teacher', model, '--temperature', String(TEMPERATURE), '--alpha', String(ALPHA));
  return requireTorchPeer(args);
}

/** Benchmark entry point (see bench/run.ts). */
export default async function run(): Promise<void> {
  const backend = await setBackend('auto');
  const samples = envInt('B5_SAMPLES', 4096);
  const passes = envInt('B5_PASSES', 3);
  const peakGflops = await gemmPeak();
  const models = (process.env.B5_MODELS ?? 'mlp,cnn').split(',');
  const data = randomData(samples, 0);
  const rows: Array<Record<string, unknown>> = [];
  const lines: string[] = [];
  for (const model of models) {
    for (const task of ['train', 'distill'] as const) {
      const oursSeconds = task === 'train' ? await oursTrain(model, data, passes) : await oursDistill(model, data, passes);
      const ours = data.size / Math.min(...oursSeconds);
      const probe = buildZooModel(model, { seed: 1 });
      const flopsPerSample = trainingFlopsPerSample(probe) + (task === 'distill' ? forwardFlopsPerSample(probe) : 0);
      probe.dispose();
      const gflops = (ours * flopsPerSample) / 1e9;
      const t = peer(task, model, samples, passes);
      const torch = typeof t === 'string' ? undefined : t.samples_per_s;
      // The peer's rate in the same FLOP count: how much of the wasm peak 1.0x would take.
      const torchGflops = torch === undefined ? undefined : (torch * flopsPerSample) / 1e9;
      rows.push({
        model, task, passes, oursSamplesPerSec: ours, flopsPerSample, oursGflops: gflops, peakGflops, torchGflops, fractionOfPeak: gflops / peakGflops, oursSecondsAll: oursSeconds, torchSamplesPerSec: torch,
        torchNote: typeof t === 'string' ? t : undefined,
        ...(typeof t === 'string' ? {} : { torchThreads: t.threads, torchBlas: t.blas, torchVersion: t.version, torchSecondsAll: t.seconds_all }),
      });
      const peerText = typeof t === 'string' ? `n/a (${t})` : `${torch!.toFixed(0)} samples/s (${t.threads} threads, ${t.blas.split('/').pop()})`;
      lines.push(
        summary(
          `B5 train-throughput ${model} ${task}: ${ours.toFixed(0)} samples/s (${backend.name}${backend.threads ? `, ${backend.threads} threads` : ''}) vs torch ` +
            `${peerText} = ${ratio(ours, torch)}, best of ${passes} passes each (goal 1.0x); ` +
            `ours ${gflops.toFixed(1)} GFLOP/s = ${((gflops / peakGflops) * 100).toFixed(0)}% of the measured ${peakGflops.toFixed(1)} GFLOP/s GEMM peak` +
            (torchGflops === undefined ? '' : `; torch's rate is ${torchGflops.toFixed(1)} GFLOP/s = ${((torchGflops / peakGflops) * 100).toFixed(0)}% of that wasm peak, what 1.0x would need`),
        ),
      );
    }
  }
  writeResult('train-throughput', { samples, passes, protocol: 'random inputs; one warm-up epoch, then the best of `passes` timed epochs on both sides', batchSize: BATCH, temperature: TEMPERATURE, alpha: ALPHA, numTensors: tf.memory().numTensors, rows, summary: lines });
}
