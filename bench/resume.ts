/**
 * B14 resume: is a resumed training run bit-identical to an uninterrupted one, and what does a
 * checkpoint cost? LeNet-300-100 with Adam on MNIST (RESUME_SAMPLES, default all 60,000), 3 epochs
 * uninterrupted vs killed after epoch 1 and resumed from the checkpoint; the same resume with
 * Adam's beta powers recomputed the way tfjs' `setWeights` does (`pow(beta, t + 1)`, what the
 * version-1 checkpoints relied on) shows the drift that used to appear. Also: checkpoint bytes,
 * save time per epoch, and how many write boundaries a save has (each one is a kill point tested
 * in test/reliability/atomic-checkpoint.test.ts).
 *
 * Prints `B14 resume: ...` lines; writes bench/results/resume.json.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setBackend, currentBackend } from '../src/backend/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { buildZooModel } from '../src/model/zoo.js';
import { train, saveCheckpoint, fingerprintOf } from '../src/train/index.js';
import type { TrainArgs, TrainCallback } from '../src/train/index.js';
import { setWriteFaultHook } from '../src/util/atomic.js';
import { envInt, summary, writeResult } from './common.js';

/** Weights that differ (bitwise) and the largest difference. */
function compare(a: tf.LayersModel, b: tf.LayersModel): { differ: number; total: number; maxAbs: number } {
  let differ = 0;
  let total = 0;
  let maxAbs = 0;
  a.weights.forEach((w, i) => {
    const x = w.read().dataSync();
    const y = b.weights[i]!.read().dataSync();
    total += x.length;
    for (let j = 0; j < x.length; j++) {
      if (!Object.is(x[j], y[j])) {
        differ++;
        maxAbs = Math.max(maxAbs, Math.abs(x[j]! - y[j]!));
      }
    }
  });
  return { differ, total, maxAbs };
}

const dieAt = (k: number): TrainCallback => ({
  onEpochBegin(epoch) {
    if (epoch === k) throw new Error('simulated kill');
  },
});

/** What version-1 checkpoints did on resume: tfjs' setWeights sets beta^t from pow(), not the running product. */
const tfjsBetaPowers: TrainCallback = {
  onTrainBegin(ctx) {
    const o = ctx.optimizer as unknown as { beta1: number; beta2: number; accBeta1: tf.Variable; accBeta2: tf.Variable; iterations_: number };
    tf.tidy(() => {
      o.accBeta1.assign(tf.pow(o.beta1, o.iterations_ + 1));
      o.accBeta2.assign(tf.pow(o.beta2, o.iterations_ + 1));
    });
  },
};

/** Run B14. */
export default async function run(): Promise<void> {
  await setBackend('wasm');
  const samples = envInt('RESUME_SAMPLES', 60_000);
  const data = loadMnist({ split: 'train', limit: samples });
  const args: TrainArgs = { epochs: 3, batchSize: 128, seed: 1 };
  const tmp = mkdtempSync(join(tmpdir(), 'bench-resume-'));
  try {
    const full = buildZooModel('lenet300', { seed: 1 });
    await train(full, data, args);
    const again = buildZooModel('lenet300', { seed: 1 });
    await train(again, data, args);
    const repeat = compare(full, again);

    const resumed = async (extra: TrainCallback[]) => {
      const dir = join(tmp, `ckpt-${Math.random().toString(36).slice(2)}`);
      const a = buildZooModel('lenet300', { seed: 1 });
      await train(a, data, { ...args, checkpointDir: dir, callbacks: [dieAt(1)] }).catch(() => undefined);
      a.dispose();
      const b = buildZooModel('lenet300', { seed: 2 });
      await train(b, data, { ...args, checkpointDir: dir, callbacks: extra });
      const c = compare(full, b);
      b.dispose();
      return c;
    };
    const ours = await resumed([]);
    const old = await resumed([tfjsBetaPowers]);

    // Cost of one checkpoint of this model (Adam: weights + two moments), and its write boundaries.
    const dir = join(tmp, 'cost');
    const opt = tf.train.adam(1e-3);
    await train(full, data.take(128), { epochs: 1, batchSize: 128, optimizer: opt }); // creates Adam's slots
    let boundaries = 0;
    setWriteFaultHook(() => void boundaries++);
    const times: number[] = [];
    const perSave: number[] = [];
    for (let i = 0; i < 5; i++) {
      boundaries = 0;
      const t0 = performance.now();
      await saveCheckpoint(dir, full, opt, { epoch: i + 1, step: i, history: [], fingerprint: fingerprintOf(i) });
      times.push(performance.now() - t0);
      perSave.push(boundaries);
    }
    setWriteFaultHook(undefined);
    const gen = readdirSync(dir).find((n) => n.startsWith('gen-'))!;
    const bytes = readdirSync(join(dir, gen)).reduce((s, f) => s + statSync(join(dir, gen, f)).size, 0) + statSync(join(dir, 'checkpoint.json')).size;
    opt.dispose();
    full.dispose();
    again.dispose();

    const b = currentBackend();
    const env = `${b?.name}${b?.threads ? `, ${b.threads} threads` : ''}`;
    const fmt = (c: { differ: number; total: number; maxAbs: number }) => `${c.differ.toLocaleString('en-US')} of ${c.total.toLocaleString('en-US')} weights differ (max |diff| ${c.maxAbs.toExponential(2)})`;
    const median = [...times].sort((x, y) => x - y)[2]!;
    writeResult('resume', { samples, epochs: 3, stoppedAfter: 1, repeat, resumed: ours, tfjsSetWeightsResume: old, checkpointBytes: bytes, saveMs: times, boundariesPerSave: perSave });
    summary(`B14 resume lenet300 (${samples} MNIST samples, 3 epochs, killed after epoch 1, ${env}): resumed ${fmt(ours)}; two uninterrupted runs: ${fmt(repeat)}; with tfjs setWeights' beta powers (the old checkpoint path): ${fmt(old)}`);
    summary(`B14 resume checkpoint: ${(bytes / 1024).toFixed(0)} KiB (weights + Adam moments), saved in ${median.toFixed(0)} ms median of 5, ${perSave.at(-1)} write boundaries per save (${perSave[0]} for the first; each one kill-tested)`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
