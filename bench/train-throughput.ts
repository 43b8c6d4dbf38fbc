/**
 * B5 train-throughput: samples/s of one training epoch (Adam, batch 128) and one distillation
 * epoch (student + frozen teacher forward, KD loss) for the zoo models `mlp` (784-800-800-10)
 * and `cnn` (conv32-conv64-pool-dense128-dense10), on the default backend, against PyTorch on
 * the same CPU (shared/peers/torch_peer.py), measured in this run with the peer's protocol:
 * random inputs, one warm-up epoch, then one timed epoch.
 * Env: B5_SAMPLES (default 4096), B5_MODELS (comma list, default mlp,cnn).
 */
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/backend/index.js';
import { TensorDataset, oneHot, seededRandom } from '../src/data/dataset.js';
import { buildZooModel } from '../src/model/zoo.js';
import { train } from '../src/train/index.js';
import { distill } from '../src/distill/index.js';
import { runTorchPeer, type TorchPeerResult } from '../scripts/peers.js';
import { envInt, ratio, summary, writeResult } from './common.js';

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

/** Samples/s of the second (timed) epoch of plain training. */
async function oursTrain(model: string, data: TensorDataset): Promise<number> {
  const m = buildZooModel(model, { seed: 1 });
  const r = await train(m, data, { epochs: 2, batchSize: BATCH, seed: 1 });
  m.dispose();
  return r.history[1]!.samples_per_s!;
}

/** Samples/s of the second (timed) epoch of distillation from a frozen teacher of the same architecture. */
async function oursDistill(model: string, data: TensorDataset): Promise<number> {
  const teacher = buildZooModel(model, { seed: 2 });
  const student = buildZooModel(model, { seed: 1 });
  const r = await distill({ teacher, student, data, epochs: 2, batchSize: BATCH, temperature: TEMPERATURE, alpha: ALPHA, seed: 1 });
  teacher.dispose();
  student.dispose();
  return data.size / r.epochSeconds[1]!;
}

function peer(task: 'train' | 'distill', model: string, samples: number): TorchPeerResult | string {
  const args = ['--task', task, '--model', model, '--threads', '2', '--batch', String(BATCH), '--samples', String(samples)];
  if (task === 'distill') args.push('--teacher', model, '--temperature', String(TEMPERATURE), '--alpha', String(ALPHA));
  return runTorchPeer(args);
}

/** Benchmark entry point (see bench/run.ts). */
export default async function run(): Promise<void> {
  const backend = await setBackend('auto');
  const samples = envInt('B5_SAMPLES', 4096);
  const models = (process.env.B5_MODELS ?? 'mlp,cnn').split(',');
  const data = randomData(samples, 0);
  const rows: Array<Record<string, unknown>> = [];
  const lines: string[] = [];
  for (const model of models) {
    for (const task of ['train', 'distill'] as const) {
      const ours = task === 'train' ? await oursTrain(model, data) : await oursDistill(model, data);
      const t = peer(task, model, samples);
      const torch = typeof t === 'string' ? undefined : t.samples_per_s;
      rows.push({ model, task, oursSamplesPerSec: ours, torchSamplesPerSec: torch, torchNote: typeof t === 'string' ? t : undefined, torchThreads: typeof t === 'string' ? undefined : t.threads });
      lines.push(
        summary(
          `B5 train-throughput ${model} ${task}: ${ours.toFixed(0)} samples/s (${backend.name}) vs torch ` +
            `${torch === undefined ? `n/a (${t as string})` : `${torch.toFixed(0)} samples/s`} = ${ratio(ours, torch)} (goal 1.0x)`,
        ),
      );
    }
  }
  writeResult('train-throughput', { samples, batchSize: BATCH, temperature: TEMPERATURE, alpha: ALPHA, numTensors: tf.memory().numTensors, rows, summary: lines });
}
