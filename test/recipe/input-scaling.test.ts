import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '../helpers/backend.js';
import { loadMnist } from '../../src/data/mnist.js';
import { INPUT_SCALING_KEY } from '../../src/data/scaling-metadata.js';
import { parseRecipe, runRecipe } from '../../src/recipe/index.js';

/*
 * A recipe's `inputScaling` scales the data of every stage and is written into every saved
 * model; without one, a model the recipe reads from a path decides (its stored metadata).
 */

/** Accuracy and cross-entropy of stock tf.loadLayersModel on MNIST test samples scaled to -1..1 by hand. */
async function stockScore(dir: string, n: number): Promise<{ accuracy: number; loss: number }> {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const bin = readFileSync(join(dir, 'weights.bin'));
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) }),
  );
  const ds = loadMnist({ split: 'test', limit: n });
  const x = Float32Array.from(ds.x, (v) => v * 2 - 1);
  const p = tf.tidy(() => (model.predict(tf.tensor(x, [ds.size, ...ds.xShape])) as tf.Tensor).dataSync());
  model.dispose();
  let ok = 0;
  let loss = 0;
  for (let i = 0; i < ds.size; i++) {
    const row = Array.from(p.subarray(i * 10, i * 10 + 10));
    if (row.indexOf(Math.max(...row)) === ds.labels![i]) ok++;
    // The zoo mlp ends in logits: cross-entropy through a stable log-softmax.
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
    loss -= row[ds.labels![i]!]! - lse;
  }
  return { accuracy: ok / ds.size, loss: loss / ds.size };
}

const stagesOf = (model: string) => [{ train: { name: 'teacher', model, epochs: 1, batchSize: 64 } }];
const meta = (dir: string) => JSON.parse(readFileSync(join(dir, '01-teacher', 'teacher', 'model.json'), 'utf8')).userDefinedMetadata?.[INPUT_SCALING_KEY];

describe('recipe inputScaling', () => {
  beforeAll(() => useBackend());

  it('is applied to the data and stored in the saved model; a path model passes its own on', async () => {
    const out = mkdtempSync(join(tmpdir(), 'recipe-scaling-'));
    const lines: string[] = [];
    const r1 = parseRecipe({ name: 'a', data: { kind: 'mnist', trainLimit: 256, testLimit: 64 }, inputScaling: '-1..1', stages: stagesOf('mlp') });
    await runRecipe(r1, { outDir: join(out, 'a'), log: (l) => lines.push(l), progress: false });
    expect(lines).toContain('input scaling -1..1 (from the recipe)');
    expect(meta(join(out, 'a'))).toEqual({ scale: 1 / 127.5, offset: -1 });
    const report = JSON.parse(readFileSync(join(out, 'a', '01-teacher', 'report.json'), 'utf8'));
    // The stage scored its model on -1..1 data: stock tfjs on the saved files, fed -1..1 by hand, agrees.
    const stock = await stockScore(join(out, 'a', '01-teacher', 'teacher'), 64);
    expect(report.metrics.teacher.accuracy).toBeCloseTo(stock.accuracy, 6);
    expect(report.metrics.teacher.loss).toBeCloseTo(stock.loss, 3);

    // No recipe setting: the model read from a path decides.
    const lines2: string[] = [];
    const r2 = parseRecipe({ name: 'b', data: { kind: 'mnist', trainLimit: 256, testLimit: 64 }, stages: stagesOf(join(out, 'a', '01-teacher', 'teacher')) });
    await runRecipe(r2, { outDir: join(out, 'b'), log: (l) => lines2.push(l), progress: false });
    expect(lines2.some((l) => l.startsWith("input scaling -1..1 (from the model's metadata)"))).toBe(true);
    expect(meta(join(out, 'b'))).toEqual({ scale: 1 / 127.5, offset: -1 });

    // Neither: the default, said so, and stored.
    const lines3: string[] = [];
    const r3 = parseRecipe({ name: 'c', data: { kind: 'mnist', trainLimit: 128, testLimit: 32 }, stages: stagesOf('mlp') });
    await runRecipe(r3, { outDir: join(out, 'c'), log: (l) => lines3.push(l), progress: false });
    expect(lines3).toContain('input scaling 0..1 (default; no flag and none in the model)');
    expect(meta(join(out, 'c'))).toEqual({ scale: 1 / 255, offset: 0 });
  }, 120_000);

  it('a bad setting names the field and the presets', () => {
    expect(() => parseRecipe({ data: 'mnist', inputScaling: '0..2', stages: stagesOf('mlp') })).toThrow(
      /inputScaling: expected a preset \(0\.\.1, 0\.\.255, -1\.\.1, imagenet\), \{ scale, offset \} or \{ mean: \[\.\.\.\], std: \[\.\.\.\] \}/,
    );
    expect(() => parseRecipe({ data: 'mnist', inputScaling: { mean: [1, 2], std: [1] }, stages: stagesOf('mlp') })).toThrow(/inputScaling/);
  });
});
