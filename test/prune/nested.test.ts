import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerPruneCommand } from '../../src/cli/commands/prune.js';
import { fileHandler, saveLayersModel } from '../../src/model/io.js';
import { leafLayers } from '../../src/model/summary.js';
import { disposeMasks, disposePlan, flattenNested, levelPrune, maskedReference, planStructured, speedup } from '../../src/prune/index.js';
import { useBackend } from '../helpers/backend.js';
import { REAL_MODELS } from '../helpers/fixtures.js';

// Teachable Machine export: Sequential > Sequential > functional MobileNetV2 (alpha 0.35, 224x224x3).
const TM = `${REAL_MODELS}/tm-nail-biting-mobilenet`;
const dir = mkdtempSync(join(tmpdir(), 'prune-nested-'));
let tm: tf.LayersModel;
let x: tf.Tensor;

/** Dispose a model and any weight tfjs leaves behind (a nested Sequential applied twice keeps its own). */
function disposeAll(m: tf.LayersModel): void {
  const vars = leafLayers(m).flatMap((l) => l.layer.weights);
  m.dispose();
  for (const v of vars) {
    try {
      v.dispose();
    } catch {
      // already disposed by model.dispose()
    }
  }
}

/** Weights of a saved layers model read straight from model.json + weights.bin (float32 only). */
function savedWeights(folder: string): Map<string, Float32Array> {
  const json = JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8'));
  const out = new Map<string, Float32Array>();
  for (const group of json.weightsManifest) {
    const bytes = Buffer.concat(group.paths.map((p: string) => readFileSync(join(folder, p))));
    let off = 0;
    for (const w of group.weights) {
      expect(w.dtype).toBe('float32');
      const n = w.shape.reduce((a: number, b: number) => a * b, 1);
      out.set(w.name, new Float32Array(bytes.buffer.slice(bytes.byteOffset + off, bytes.byteOffset + off + n * 4)));
      off += n * 4;
    }
  }
  return out;
}

/** Stock tfjs loading a saved folder through its own fromMemory handler. */
async function stockLoad(folder: string): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8'));
  const bin = readFileSync(join(folder, json.weightsManifest[0].paths[0]));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }));
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

beforeAll(async () => {
  await useBackend();
  tm = await tf.loadLayersModel(fileHandler(TM));
  x = tf.randomUniform([4, 224, 224, 3], -1, 1, 'float32', 7);
});
afterAll(() => {
  vi.restoreAllMocks();
  disposeAll(tm);
  x.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('pruning nested models (Teachable Machine MobileNetV2)', () => {
  it('unstructured pruning reaches the inner Conv2D/Dense kernels, by type and by path', async () => {
    const before = tf.memory().numTensors;
    const { model, masks } = await levelPrune(tm, {
      configList: [{ opTypes: ['Conv2D', 'Dense'], sparsity: 0.8 }, { opNames: ['sequential_1/model1/Conv1'], sparsity: 0.5 }],
    });
    const out = join(dir, 'unstructured');
    try {
      expect(Object.keys(masks)).toContain('sequential_1/model1/block_16_project');
      expect(Object.keys(masks)).toContain('sequential_3/dense_Dense1');
      await saveLayersModel(model, out);
    } finally {
      disposeMasks(masks);
      disposeAll(model);
    }
    // Counted from the saved bytes, not through the code under test.
    const saved = savedWeights(out);
    const kernels = [...saved].filter(([n]) => /(Conv1|block_\d+_(expand|project)|expanded_conv_project|Conv_1|dense_Dense\d)\/kernel$/.test(n));
    expect(kernels.length).toBe(35 + 2);
    for (const [name, v] of kernels) {
      const zeros = v.reduce((a, w) => a + (w === 0 ? 1 : 0), 0);
      const want = /Conv1\/kernel$/.test(name) ? 0.5 : 0.8;
      expect(Math.abs(zeros / v.length - want), name).toBeLessThan(1 / v.length + 1e-9);
    }
    const depthwise = [...saved].filter(([n]) => /depthwise_kernel$/.test(n));
    expect(depthwise.length).toBe(17);
    for (const [, v] of depthwise) expect(v.some((w) => w === 0)).toBe(false);
    const stock = await stockLoad(out);
    try {
      expect(stock.countParams()).toBe(tm.countParams());
      expect((stock.predict(x.slice(0, 1)) as tf.Tensor).shape).toEqual([1, 2]);
    } finally {
      disposeAll(stock);
    }
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 2);
  });

  it('structured pruning works through the nesting: ratio 0 is the model itself, ratio 0.5 equals the masked nested original', async () => {
    const before = tf.memory().numTensors;
    const same = planStructured(tm, { ratio: 0, strict: false });
    const copy = await speedup(tm, same);
    disposePlan(same);
    const want = tm.predict(x) as tf.Tensor;
    const got = copy.predict(x) as tf.Tensor;
    // Logits of the TM head differ across inputs: a check that compares something.
    expect(tf.tidy(() => tf.moments(want, 0).variance.max().dataSync()[0]!)).toBeGreaterThan(1e-6);
    expect(maxDiff(got, want)).toBeLessThan(1e-5);
    copy.dispose();

    const plan = planStructured(tm, { ratio: 0.25, strict: false });
    const small = await speedup(tm, plan);
    const ref = await maskedReference(tm, plan); // the nested model, masked by path, run by tfjs as is
    const out = join(dir, 'structured');
    try {
      expect(plan.groups.length).toBeGreaterThan(20);
      expect(small.countParams()).toBeLessThan(tm.countParams() * 0.7);
      const a = small.predict(x) as tf.Tensor;
      const b = ref.predict(x) as tf.Tensor;
      expect(maxDiff(a, b)).toBeLessThan(1e-4);
      tf.dispose([a, b]);
      // The softmax saturates on noise: compare the kept hidden units of the head too (flattening is checked above).
      const flatRef = flattenNested(ref);
      const hidden = (m: tf.LayersModel) => tf.model({ inputs: m.inputs, outputs: m.getLayer('dense_Dense1').output as tf.SymbolicTensor });
      const kept = Array.from(plan.groups.find((g) => g.group.producers[0]!.name === 'dense_Dense1')!.keep);
      const ha = hidden(small).predict(x) as tf.Tensor;
      const hb = tf.tidy(() => tf.gather(hidden(flatRef.model).predict(x) as tf.Tensor, kept, 1));
      expect(tf.tidy(() => tf.moments(hb, 0).variance.max().dataSync()[0]!)).toBeGreaterThan(1e-4);
      expect(maxDiff(ha, hb)).toBeLessThan(1e-4);
      tf.dispose([ha, hb]);
      flatRef.model.dispose();
      await saveLayersModel(small, out);
      const stock = await stockLoad(out);
      const [c, d] = [stock.predict(x) as tf.Tensor, small.predict(x) as tf.Tensor];
      expect(maxDiff(c, d)).toBeLessThan(1e-6);
      tf.dispose([c, d]);
      stock.dispose();
    } finally {
      disposePlan(plan);
      small.dispose();
      disposeAll(ref);
      tf.dispose([want, got]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the prune command prunes it from folder: images decoded at 224x224x3 (unstructured, fine-tuned; structured, one-shot)', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const images = join(dir, 'images');
    for (const [c, label] of ['normal', 'nail-biting'].entries()) {
      mkdirSync(join(images, label), { recursive: true });
      for (let i = 0; i < 5; i++) {
        const px = Buffer.from(Array.from({ length: 40 * 30 * 3 }, (_, j) => (j * (i + 3) + c * 99) % 256));
        await sharp(px, { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(join(images, label, `${i}.png`));
      }
    }
    const run = (...args: string[]) => {
      const p = new Command('tfjs-compress').exitOverride();
      registerPruneCommand(p);
      return p.parseAsync(['node', 'x', 'prune', '--model', TM, '--data', `folder:${images}`, '--input-range', '-1..1', '--batch-size', '4', ...args]);
    };
    await run('--epochs', '1', '--sparsity', '0.8', '--out', join(dir, 'cli-u'));
    const k = savedWeights(join(dir, 'cli-u')).get('block_16_project/kernel')!;
    expect(k.filter((w) => w === 0).length).toBe(k.length - Math.round(k.length * 0.2));
    await run('--structured', '--ratio', '0.5', '--epochs', '0', '--out', join(dir, 'cli-s'));
    const small = await stockLoad(join(dir, 'cli-s'));
    try {
      expect(small.countParams()).toBeLessThan(tm.countParams() * 0.4);
      expect((small.predict(x.slice(0, 1)) as tf.Tensor).shape).toEqual([1, 2]);
    } finally {
      small.dispose();
    }
  }, 60_000);

  it('flattenNested renames colliding inner names to their path and keeps the outputs', () => {
    const before = tf.memory().numTensors;
    const block = (name: string, seed: number) =>
      tf.sequential({ name, layers: [tf.layers.dense({ units: 4, inputShape: [4], activation: 'relu', name: 'dense', kernelInitializer: tf.initializers.glorotUniform({ seed }) })] });
    const input = tf.input({ shape: [4] });
    const [a, b] = [block('left', 1), block('right', 2)];
    const merged = tf.layers.add().apply([a.apply(input) as tf.SymbolicTensor, b.apply(input) as tf.SymbolicTensor]) as tf.SymbolicTensor;
    const m = tf.model({ inputs: input, outputs: merged });
    const { model: flat, paths } = flattenNested(m);
    const v = tf.randomNormal([3, 4], 0, 1, 'float32', 5);
    const [want, got] = [m.predict(v) as tf.Tensor, flat.predict(v) as tf.Tensor];
    expect(maxDiff(got, want)).toBeLessThan(1e-6);
    expect(tf.tidy(() => tf.abs(want).sum().dataSync()[0]!)).toBeGreaterThan(0);
    expect([...paths]).toEqual([['dense', 'left/dense'], ['right__dense', 'right/dense'], [flat.layers[flat.layers.length - 1]!.name, m.layers[m.layers.length - 1]!.name]]);
    tf.dispose([v, want, got]);
    flat.dispose();
    disposeAll(m);
    expect(tf.memory().numTensors).toBe(before);
  });
});
