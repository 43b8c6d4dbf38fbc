import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerPruneCommand } from '../../src/cli/commands/prune.js';
import { loadMnist } from '../../src/data/mnist.js';
import { writeNpy } from '../../src/data/npy.js';
import { loadLayersModelFromFiles, saveLayersModel } from '../../src/model/io.js';
import { useBackend } from '../helpers/backend.js';
import { zeros } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'prune-inputs-'));
let errors: string[] = [];
const flat = join(dir, 'flat-input'); // a [28, 28]-input model
const npyX = join(dir, 'x.npy');
const npyY = join(dir, 'y.npy');
const folder = join(dir, 'images');

beforeAll(async () => {
  await useBackend();
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
  const m = tf.sequential({
    name: 'flat',
    layers: [
      tf.layers.flatten({ inputShape: [28, 28] }),
      tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  await saveLayersModel(m, flat);
  m.dispose();
  // 40 real MNIST digits as npy ([n, 28, 28], already scaled to 0..1) and as a folder of PNGs.
  const ds = loadMnist({ split: 'train', limit: 40 });
  const px = Float32Array.from(ds.x, (v) => Math.round(v * 255));
  writeNpy(npyX, ds.x, [ds.size, 28, 28]);
  writeNpy(npyY, Int32Array.from(ds.labels!), [ds.size]);
  for (let i = 0; i < ds.size; i++) {
    const c = join(folder, `d${ds.labels![i]}`);
    mkdirSync(c, { recursive: true });
    await sharp(Buffer.from(px.subarray(i * 784, (i + 1) * 784)), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(c, `${i}.png`));
  }
});
afterAll(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

async function prune(...args: string[]): Promise<void> {
  const p = new Command('tfjs-compress').exitOverride();
  registerPruneCommand(p);
  await p.parseAsync(['node', 'x', 'prune', ...args]);
}

describe('prune takes every data kind and [28, 28] inputs', () => {
  it.each([
    ['mnist', ['--limit', '64', '--test-limit', '32']],
    ['fashion-mnist', ['--limit', '64', '--test-limit', '32']],
    ['npy', []],
    ['folder', []],
  ])('%s data into a [28, 28]-input model, gradual and structured', async (kind, extra) => {
    const data = kind === 'npy' ? `npy:${npyX},${npyY}` : kind === 'folder' ? `folder:${folder}` : kind;
    const out = join(dir, `out-${kind}`);
    await prune('--model', flat, '--data', data, '--epochs', '1', '--batch-size', '16', '--sparsity', '0.5', '--out', out, ...extra);
    const m = await loadLayersModelFromFiles(out);
    const k = m.layers[1]!.getWeights()[0]!;
    expect(zeros(k.dataSync())).toBe(k.size / 2);
    expect(m.inputs[0]!.shape).toEqual([null, 28, 28]);
    m.dispose();
    const slim = join(dir, `slim-${kind}`);
    await prune('--model', flat, '--data', data, '--structured', '--ratio', '0.5', '--epochs', '1', '--batch-size', '16', '--out', slim, ...extra);
    const s = await loadLayersModelFromFiles(slim);
    expect(s.layers[1]!.getWeights()[0]!.shape).toEqual([784, 8]);
    s.dispose();
  });

  it('warns when test accuracy drops more than --warn-accuracy-drop', async () => {
    // Train the tiny model a little so there is accuracy to lose, then prune it one-shot to 95%.
    const trained = join(dir, 'trained');
    errors = [];
    await prune('--model', flat, '--data', 'mnist', '--limit', '2000', '--test-limit', '500', '--epochs', '2', '--sparsity', '0.01', '--lr', '0.01', '--out', trained);
    expect(errors.filter((e) => e.startsWith('warning'))).toEqual([]);
    await prune('--model', trained, '--data', 'mnist', '--test-limit', '500', '--epochs', '0', '--sparsity', '0.95', '--warn-accuracy-drop', '0.5', '--out', join(dir, 'hard'));
    const report = JSON.parse(readFileSync(join(dir, 'hard', 'prune-report.json'), 'utf8'));
    const drop = (report.accuracyBefore - report.accuracyAfter) * 100;
    expect(drop).toBeGreaterThan(0.5);
    expect(errors.some((e) => e.startsWith(`warning: test accuracy dropped ${drop.toFixed(2)} points`))).toBe(true);
  });
});
