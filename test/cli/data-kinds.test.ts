import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { useBackend } from '../helpers/backend.js';
import { loadMnist } from '../../src/data/mnist.js';
import { writeNpy } from '../../src/data/npy.js';
import { saveLayersModel } from '../../src/model/io.js';
import { registerInfoCommands } from '../../src/cli/commands/info.js';
import { registerBenchCommand } from '../../src/cli/commands/bench.js';
import { registerTrainCommand } from '../../src/cli/commands/train.js';
import { registerDistillCommand } from '../../src/cli/commands/distill.js';

/*
 * Every data-taking command of this area (eval, bench, train, distill) takes every data kind,
 * and a [28, 28]-input model is fed exactly like its [28, 28, 1] twin (same weights). The npy
 * accuracy is checked against stock tfjs predicting on the very arrays written to disk.
 */

const dir = mkdtempSync(join(tmpdir(), 'cli-kinds-'));
const N = 100;
let npy: string;
let folder: string;

/** Run commands in-process; returns what they printed. */
async function run(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerInfoCommands(program);
  registerBenchCommand(program);
  registerTrainCommand(program);
  registerDistillCommand(program);
  const lines: string[] = [];
  const [log, err] = [console.log, console.error];
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  console.error = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    await program.parseAsync(['node', 'x', ...args]);
  } finally {
    [console.log, console.error] = [log, err];
  }
  return lines.join('\n');
}

/** A small classifier on `shape`; the twin built from the same seed has identical weights. */
function classifier(shape: number[]): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: shape }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
}

beforeAll(async () => {
  await useBackend();
  // A briefly trained classifier, so scores mean something; the twin gets the same weights.
  const flat = classifier([28, 28]);
  const tr = loadMnist({ split: 'train', limit: 2000 });
  flat.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  const [xs, ys] = [tf.tensor(tr.x, [tr.size, 28, 28]), tf.tensor(tr.y, [tr.size, 10])];
  await flat.fit(xs, ys, { epochs: 2, batchSize: 100, verbose: 0 });
  tf.dispose([xs, ys]);
  const chan = classifier([28, 28, 1]);
  chan.setWeights(flat.getWeights());
  await saveLayersModel(flat, join(dir, 'flat'));
  await saveLayersModel(chan, join(dir, 'chan'));
  flat.dispose();
  chan.dispose();
  const ds = loadMnist({ split: 'test', limit: N });
  writeNpy(join(dir, 'x.npy'), ds.x, [N, 28, 28, 1]);
  writeNpy(join(dir, 'y.npy'), Int32Array.from(ds.labels!), [N], { dtype: '<i4' });
  writeNpy(join(dir, 'xt.npy'), ds.x, [N, 28, 28, 1]);
  writeNpy(join(dir, 'yt.npy'), Int32Array.from(ds.labels!), [N], { dtype: '<i4' });
  npy = `npy:${join(dir, 'x.npy')},${join(dir, 'y.npy')},${join(dir, 'xt.npy')},${join(dir, 'yt.npy')}`;
  folder = join(dir, 'digits');
  const raw = loadMnist({ split: 'test', limit: N, normalize: false });
  for (let i = 0; i < N; i++) {
    const cls = join(folder, String(raw.labels![i]));
    mkdirSync(cls, { recursive: true });
    const px = Buffer.from(Uint8Array.from(raw.x.subarray(i * 784, (i + 1) * 784)));
    await sharp(px, { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(cls, `${i}.png`));
  }
});

const score = (out: string) => JSON.parse(out.split('\n').find((l) => l.startsWith('{'))!) as { accuracy: number; loss: number; samples: number };

describe('every data kind, [28, 28] and [28, 28, 1] models alike', () => {
  it('eval: identical scores for the twins on mnist, fashion-mnist, folder: and npy:; npy matches stock tfjs', async () => {
    const kinds = ['mnist', 'fashion-mnist', `folder:${folder}`, npy];
    for (const kind of kinds) {
      const a = score(await run('eval', join(dir, 'flat'), '--data', kind, '--limit', String(N), '--json'));
      const b = score(await run('eval', join(dir, 'chan'), '--data', kind, '--limit', String(N), '--json'));
      expect(a.samples, kind).toBeGreaterThan(0);
      expect([a.accuracy, a.loss, a.samples], kind).toEqual([b.accuracy, b.loss, b.samples]);
      // Digits are learnt (folder: holds out only 20 images); Fashion-MNIST is not what it was trained on.
      if (kind !== 'fashion-mnist') expect(a.accuracy, kind).toBeGreaterThan(0.6);
    }
    // Stock tfjs on the saved files and the arrays in the .npy files (read back by hand, not by our loaders).
    const json = JSON.parse(readFileSync(join(dir, 'flat', 'model.json'), 'utf8'));
    const bin = readFileSync(join(dir, 'flat', 'weights.bin'));
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) }),
    );
    // .npy v1: 6-byte magic, 2 version bytes, uint16 LE header length, header, then the data.
    const file = readFileSync(join(dir, 'xt.npy'));
    const start = file.byteOffset + 10 + file.readUInt16LE(8);
    const x = new Float32Array(file.buffer.slice(start, start + N * 784 * 4));
    const ds = loadMnist({ split: 'test', limit: N });
    const pred = tf.tidy(() => (model.predict(tf.tensor(x.subarray(0, N * 784), [N, 28, 28])) as tf.Tensor).argMax(-1).dataSync());
    model.dispose();
    let ok = 0;
    for (let i = 0; i < N; i++) if (pred[i] === ds.labels![i]) ok++;
    expect(score(await run('eval', join(dir, 'flat'), '--data', npy, '--json')).accuracy).toBeCloseTo(ok / N, 6);
  }, 60_000);

  it('bench --data scores the twins the same on every kind', async () => {
    for (const kind of [`folder:${folder}`, npy, 'fashion-mnist']) {
      const json = join(dir, `bench-${kind.length}.json`);
      await run('bench', join(dir, 'flat'), join(dir, 'chan'), '--data', kind, '--limit', String(N), '--runtime', 'tfjs', '--batch', '1', '--repeats', '1', '--warmup', '0', '--no-progress', '--json', json);
      const r = JSON.parse(readFileSync(json, 'utf8'));
      expect(r.models[0].skipped, kind).toEqual([]);
      expect(r.models[0].quality.accuracy, kind).toBe(r.models[1].quality.accuracy);
    }
  }, 60_000);

  it('train and distill take folder: and npy: data, with either twin as the teacher', async () => {
    for (const [i, kind] of [`folder:${folder}`, npy].entries()) {
      const out = await run('train', '--arch', 'mlp', '--data', kind, '--epochs', '1', '--batch-size', '16', '--no-progress', '--out', join(dir, `t${i}`));
      expect(out).toMatch(/test accuracy/);
      for (const teacher of ['flat', 'chan']) {
        const d = await run('distill', '--teacher', join(dir, teacher), '--student', 'zoo:mlp', '--data', kind, '--epochs', '1', '--batch-size', '16', '--no-progress', '--out', join(dir, `d${i}-${teacher}`));
        expect(d).toMatch(/distilled \d+\.\d+%/);
      }
    }
  }, 120_000);
});
