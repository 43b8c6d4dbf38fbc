import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerQuantizeCommand } from '../../src/cli/commands/quantize.js';
import { loadMnist } from '../../src/data/mnist.js';
import { writeNpy } from '../../src/data/npy.js';
import { saveLayersModel } from '../../src/model/io.js';
import { useBackend } from '../helpers/backend.js';
import { runCommands } from '../helpers/cli.js';

/* `quantize --data` takes every data kind other commands take, into a [28, 28]-input model. */

const dir = mkdtempSync(join(tmpdir(), 'quantize-data-'));
const flat = join(dir, 'flat');
const npyX = join(dir, 'x.npy');
const npyY = join(dir, 'y.npy');
const folder = join(dir, 'images');
let model: tf.LayersModel;
let digits: ReturnType<typeof loadMnist>;

const quantize = (...args: string[]) => runCommands(registerQuantizeCommand, ['quantize', ...args]);

beforeAll(async () => {
  await useBackend();
  // A [28, 28]-input net trained briefly on real MNIST, so accuracy means something.
  model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [28, 28] }),
      tf.layers.dense({ units: 32, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(3e-3), loss: 'categoricalCrossentropy' });
  const train = loadMnist({ split: 'train', limit: 2000 });
  const { xs, ys } = train.toTensors();
  await model.fit(tf.reshape(xs, [-1, 28, 28]), ys, { epochs: 3, batchSize: 64, verbose: 0, shuffle: false });
  tf.dispose([xs, ys]);
  await saveLayersModel(model, flat);
  // 100 real test digits as npy ([n, 28, 28] in 0..1) and as PNG folders.
  digits = loadMnist({ split: 'test', limit: 100 });
  writeNpy(npyX, digits.x, [digits.size, 28, 28]);
  writeNpy(npyY, Int32Array.from(digits.labels!), [digits.size]);
  const px = Uint8Array.from(digits.x, (v) => Math.round(v * 255));
  for (let i = 0; i < digits.size; i++) {
    const c = join(folder, `d${digits.labels![i]}`);
    mkdirSync(c, { recursive: true });
    await sharp(Buffer.from(px.subarray(i * 784, (i + 1) * 784)), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(c, `${i}.png`));
  }
}, 60_000);
afterAll(() => {
  model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('quantize takes every data kind', () => {
  it.each(['mnist', 'fashion-mnist', 'npy', 'folder'])('%s into a [28, 28]-input model: accuracy before/after printed', async (kind) => {
    const data = kind === 'npy' ? `npy:${npyX},${npyY},${npyX},${npyY}` : kind === 'folder' ? `folder:${folder}` : kind;
    const text = await quantize('--model', flat, '--mode', 'int8', '--data', data, '--limit', '100', '--max-accuracy-drop', '100', '--probe', '0', '--out', join(dir, `q-${kind}`));
    const m = /accuracy: ([\d.]+)% -> ([\d.]+)% \((\d+) test samples\)/.exec(text);
    expect(m).not.toBeNull();
    if (kind === 'npy') {
      // Hand-computed: argmax of stock predict on the same 100 digits, reshaped to [28, 28].
      const acc = tf.tidy(() => {
        const p = model.predict(tf.tensor(digits.x, [digits.size, 28, 28])) as tf.Tensor;
        return tf.mean(tf.cast(tf.equal(tf.argMax(p, 1), tf.tensor1d(digits.labels!, 'int32')), 'float32')).dataSync()[0]!;
      });
      expect(Number(m![1])).toBeCloseTo(acc * 100, 1);
      expect(Number(m![3])).toBe(100);
    }
    if (kind === 'mnist') expect(Number(m![1])).toBeGreaterThan(80);
  }, 60_000);

  it('codebook fine-tuning reshapes [28, 28, 1] MNIST batches to the [28, 28] input', async () => {
    const text = await quantize('--model', flat, '--mode', 'codebook', '--bits', '3', '--data', 'mnist', '--limit', '200', '--train-limit', '256', '--fine-tune-steps', '4', '--probe', '16', '--out', join(dir, 'q-ft'));
    expect(text).toMatch(/fine-tune: 4 steps, loss /);
    expect(text).toMatch(/output agreement on 16 seeded inputs: argmax \d+\/16/);
  }, 60_000);

  it('data that does not fit the model is refused in one line naming the shapes', async () => {
    const cnn = join(dir, 'rgb');
    const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 3] }), tf.layers.dense({ units: 10 })] });
    await saveLayersModel(m, cnn);
    m.dispose();
    await expect(quantize('--model', cnn, '--mode', 'int8', '--data', 'mnist', '--limit', '10', '--out', join(dir, 'bad'))).rejects.toThrow(
      /^quantize: --data mnist does not fit '.*rgb': samples have shape \[28, 28, 1\] but the model takes \[8, 8, 3\]; drop --data/,
    );
  });
});
