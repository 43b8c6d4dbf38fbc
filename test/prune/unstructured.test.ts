import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { loadMnist } from '../../src/data/mnist.js';
import { buildZooModel } from '../../src/model/zoo.js';
import { saveLayersModel } from '../../src/model/io.js';
import {
  ConstantSparsity,
  PolynomialDecay,
  PruningCallback,
  disposeMasks,
  keptCount,
  levelPrune,
  magnitudePrune,
  maskSparsity,
  resolveTargets,
  sparsityReport,
  strip,
} from '../../src/prune/index.js';
import type { TrainCallback } from '../../src/train/index.js';
import { tinyMlp, weightValues, zeros } from './helpers.js';

beforeAll(async () => {
  await setBackend('wasm');
});

describe('level pruner', () => {
  it('hits the exact TF-MOT kept count and prunes only the smallest |w|', async () => {
    const model = tinyMlp();
    const before = weightValues(model, 'dense_1').slice();
    const { model: pruned, masks } = await levelPrune(model, { configList: [{ opTypes: ['Dense'], sparsity: 0.8 }, { opNames: ['logits'], exclude: true }] });
    const after = weightValues(pruned, 'dense_1');
    expect(after.length - zeros(after)).toBe(keptCount(784 * 64, 0.8));
    // Independent check: every kept |w| >= every pruned |w| of the original.
    let minKept = Infinity;
    let maxPruned = 0;
    after.forEach((v, i) => (v === 0 ? (maxPruned = Math.max(maxPruned, Math.abs(before[i]!))) : (minKept = Math.min(minKept, Math.abs(before[i]!)))));
    expect(maxPruned).toBeLessThanOrEqual(minKept);
    // Kept weights are unchanged, the excluded layer and biases untouched, the input model untouched.
    after.forEach((v, i) => v !== 0 && expect(v).toBe(before[i]));
    expect(zeros(weightValues(pruned, 'logits'))).toBe(0);
    expect(zeros(weightValues(model, 'dense_1'))).toBe(0);
    expect(Object.keys(masks).sort()).toEqual(['dense_1', 'dense_2']);
    expect(maskSparsity(masks).dense_2!.kernel).toBeCloseTo(1 - keptCount(64 * 32, 0.8) / (64 * 32), 10);
    disposeMasks(masks);
  });

  it('global ranking prunes the low-magnitude layer harder, same total', async () => {
    const model = tinyMlp();
    const k = model.getLayer('dense_2').weights[0]!;
    const scaled = tf.mul(k.read(), 0.01);
    k.write(scaled);
    scaled.dispose();
    const { model: pruned, masks } = await levelPrune(model, { configList: [{ opNames: ['dense_1', 'dense_2'], sparsity: 0.5 }], ranking: 'global' });
    const z1 = zeros(weightValues(pruned, 'dense_1'));
    const z2 = zeros(weightValues(pruned, 'dense_2'));
    const total = 784 * 64 + 64 * 32;
    expect(total - z1 - z2).toBe(keptCount(total, 0.5));
    expect(z2).toBe(64 * 32); // all of the 100x smaller layer goes first
    disposeMasks(masks);
  });

  it('block 1x4 granularity zeroes whole blocks ranked by mean |w|', async () => {
    const model = tinyMlp();
    const before = weightValues(model, 'dense_2').slice();
    const { model: pruned, masks } = await levelPrune(model, { configList: [{ opNames: ['dense_2'], sparsity: 0.75, granularity: 'block1x4' }] });
    const after = weightValues(pruned, 'dense_2');
    const blocks: { mean: number; kept: boolean }[] = [];
    for (let r = 0; r < 64; r++) {
      for (let c = 0; c < 32; c += 4) {
        const vals = [0, 1, 2, 3].map((j) => after[r * 32 + c + j]!);
        const kept = vals.every((v) => v !== 0);
        expect(kept || vals.every((v) => v === 0)).toBe(true);
        blocks.push({ kept, mean: [0, 1, 2, 3].reduce((s, j) => s + Math.abs(before[r * 32 + c + j]!), 0) / 4 });
      }
    }
    expect(blocks.filter((b) => b.kept).length).toBe(keptCount(blocks.length, 0.75));
    const minKept = Math.min(...blocks.filter((b) => b.kept).map((b) => b.mean));
    const maxPruned = Math.max(...blocks.filter((b) => !b.kept).map((b) => b.mean));
    expect(maxPruned).toBeLessThanOrEqual(minKept);
    disposeMasks(masks);
  });

  it('2:4 keeps the two largest of every 4 consecutive inputs, per output', async () => {
    const model = buildZooModel('cnn', { seed: 2 });
    const before = weightValues(model, 'conv_2').slice(); // [3, 3, 32, 64]
    const { model: pruned, masks } = await levelPrune(model, { configList: [{ opNames: ['conv_2', 'dense_1'], granularity: '2:4' }] });
    const after = weightValues(pruned, 'conv_2');
    for (let p = 0; p < 9; p++) {
      for (let o = 0; o < 64; o++) {
        for (let g = 0; g < 32; g += 4) {
          const idx = [0, 1, 2, 3].map((j) => (p * 32 + g + j) * 64 + o);
          expect(idx.filter((i) => after[i] !== 0).length).toBe(2);
          const byMag = [...idx].sort((a, b) => Math.abs(before[b]!) - Math.abs(before[a]!));
          expect(new Set(idx.filter((i) => after[i] !== 0))).toEqual(new Set(byMag.slice(0, 2)));
        }
      }
    }
    expect(zeros(weightValues(pruned, 'dense_1'))).toBe(9216 * 128 / 2);
    disposeMasks(masks);
    expect(() => resolveTargets(model, [{ opNames: ['conv_1'], granularity: '2:4' }])).toThrow(/layer 'conv_1' weight 'kernel': input dimension 1 is not a multiple of m=4/);
  });
});

describe('config list validation', () => {
  const model = tinyMlp();
  it.each([
    [[{ opNames: ['dense_9'], sparsity: 0.5 }], /configList\[0\]\.opNames: 'dense_9' matches no layer; the model has: input \(InputLayer\), flatten \(Flatten\), dense_1 \(Dense\)/],
    [[{ opTypes: ['Dense'], sparsity: 1.5 }], /configList\[0\]\.sparsity: sparsity must be < 1/],
    [[{ opTypes: ['Dense'], sparse_threshold: 0.5 }], /configList\[0\]: Unrecognized key.*sparse_threshold/],
    [[{ sparsity: 0.5 }], /needs at least one selector/],
    [[{ opTypes: ['Dense'] }], /needs 'sparsity'/],
    [[{ opTypes: ['Dense'], sparsity: 0.5, granularity: 'rows' }], /configList\[0\]\.granularity: granularity must be 'element', 'N:M'/],
    [[{ opTypes: ['BatchNormalization'], sparsity: 0.5 }], /opTypes: 'BatchNormalization' has no prunable weights by default; prunable classes: Dense, Conv1D/],
    [[{ opNamesRe: '^conv', sparsity: 0.5 }], /opNamesRe: '\^conv' matches no layer/],
    [[{ opNames: ['flatten'], sparsity: 0.5 }], /layer 'flatten' \(Flatten\) has no prunable weights/],
    [[], /config list is empty/],
  ])('rejects %j', (list, message) => {
    expect(() => resolveTargets(model, list)).toThrow(message);
  });

  it('later entries override earlier ones; exclude wins wherever it is', () => {
    const t = resolveTargets(model, [
      { opNames: ['dense_2'], exclude: true },
      { opTypes: ['Dense'], sparsity: 0.8 },
      { opNamesRe: '^logits$', sparsity: 0.5 },
    ]);
    expect(t.map((x) => [x.layer.name, x.sparsity])).toEqual([['dense_1', 0.8], ['logits', 0.5]]);
  });
});

describe('magnitude pruning during fine-tuning', () => {
  it('pruned weights stay exactly zero after every optimizer step and the schedule is followed', async () => {
    const data = loadMnist({ split: 'train', limit: 640 });
    const model = tinyMlp();
    const schedule = new PolynomialDecay({ initialSparsity: 0.3, finalSparsity: 0.7, beginStep: 2, endStep: 12, frequency: 2 });
    const cb = new PruningCallback(model, { configList: [{ opTypes: ['Dense'], sparsity: 0.7 }, { opNames: ['logits'], exclude: true }], schedule });
    const seen: number[] = [];
    const checker: TrainCallback = {
      onBatchBegin(step) {
        // Right before the forward pass: the weights must already be masked.
        for (const [layer, ws] of Object.entries(cb.masks)) {
          const m = ws.kernel!.dataSync();
          const w = weightValues(model, layer);
          let bad = 0;
          // Object.is: the zeros must be +0, not -0.
          for (let i = 0; i < w.length; i++) if (m[i] === 0 && !Object.is(w[i], 0)) bad++;
          expect(bad).toBe(0);
        }
        if (step >= 2) seen.push(1 - (weightValues(model, 'dense_1').length - zeros(weightValues(model, 'dense_1'))) / (784 * 64));
      },
      onBatchEnd() {
        for (const [layer, ws] of Object.entries(cb.masks)) {
          const m = ws.kernel!.dataSync();
          const w = weightValues(model, layer);
          let bad = 0;
          for (let i = 0; i < w.length; i++) if (m[i] === 0 && w[i] !== 0) bad++;
          expect(bad).toBe(0);
        }
      },
    };
    const { train } = await import('../../src/train/index.js');
    await train(model, data, { epochs: 2, batchSize: 64, callbacks: [cb, checker], learningRate: 1e-2 });
    // Sparsity seen before batch `step` = schedule at the last pruning step <= step.
    const expected = Array.from({ length: 18 }, (_, i) => {
      const step = i + 2;
      const last = Math.min(step - (step % 2), 12);
      return 1 - keptCount(784 * 64, schedule.at(last).sparsity) / (784 * 64);
    });
    seen.forEach((s, i) => expect(s).toBeCloseTo(expected[i]!, 10));
    expect(cb.lastSparsity['dense_1/kernel']).toBeCloseTo(0.7, 12);
    expect(zeros(weightValues(model, 'dense_2'))).toBe(64 * 32 - keptCount(64 * 32, 0.7));
    expect(zeros(weightValues(model, 'logits'))).toBe(0);
    cb.dispose();
  });

  it('magnitudePrune + strip give a plain model that stock tf.loadLayersModel loads (memory and files)', async () => {
    const data = loadMnist({ split: 'train', limit: 256 });
    const model = tinyMlp();
    const r = await magnitudePrune(model, data, {
      epochs: 1,
      batchSize: 64,
      configList: [{ opTypes: ['Dense'], sparsity: 0.6 }],
      schedule: (s) => new ConstantSparsity({ targetSparsity: s, frequency: 1 }),
    });
    const exported = await strip(r.model, r.masks);
    disposeMasks(r.masks);
    const report = sparsityReport(exported);
    expect(report.layers.find((l) => l.name === 'dense_1')!.nonZeros).toBe(keptCount(784 * 64, 0.6) + 64 - zeros(weightValues(exported, 'dense_1', 'bias')));
    let saved: tf.io.ModelArtifacts | undefined;
    await exported.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const fromMem = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    const dir = mkdtempSync(join(tmpdir(), 'prune-strip-'));
    try {
      await saveLayersModel(exported, dir);
      const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
      const classes = JSON.stringify(json.modelTopology).match(/"class_name":"[A-Za-z]+"/g)!;
      expect(new Set(classes)).toEqual(new Set(['"class_name":"Model"', '"class_name":"InputLayer"', '"class_name":"Flatten"', '"class_name":"Dense"', '"class_name":"VarianceScaling"', '"class_name":"Zeros"']));
      const bin = readFileSync(join(dir, 'weights.bin'));
      const fromFiles = await tf.loadLayersModel(
        tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: new Uint8Array(bin).buffer }),
      );
      const x = data.take(8).toTensors().xs;
      for (const m of [fromMem, fromFiles]) {
        expect(zeros(weightValues(m, 'dense_1'))).toBe(zeros(weightValues(exported, 'dense_1')));
        const a = exported.predict(x) as tf.Tensor;
        const b = m.predict(x) as tf.Tensor;
        expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
        tf.dispose([a, b]);
      }
      x.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a resumed run rebuilds the masks from the checkpointed zeros', async () => {
    const data = loadMnist({ split: 'train', limit: 128 });
    const model = tinyMlp();
    const dir = mkdtempSync(join(tmpdir(), 'prune-resume-'));
    const { train } = await import('../../src/train/index.js');
    // Prunes only at step 0; later steps must just keep the zeros.
    const make = () => new PruningCallback(model, { configList: [{ opNames: ['dense_1'], sparsity: 0.6 }], schedule: new ConstantSparsity({ targetSparsity: 0.6, endStep: 0, frequency: 1 }) });
    try {
      const cb1 = make();
      await train(model, data, { epochs: 1, batchSize: 32, checkpointDir: dir, callbacks: [cb1] });
      cb1.dispose();
      const pruned = weightValues(model, 'dense_1').map((v) => (v === 0 ? 1 : 0));
      const cb2 = make();
      const r = await train(model, data, { epochs: 2, batchSize: 32, checkpointDir: dir, callbacks: [cb2] });
      cb2.dispose();
      expect(r.resumedFromEpoch).toBe(1);
      const after = weightValues(model, 'dense_1');
      let regrown = 0;
      pruned.forEach((p, i) => p && after[i] !== 0 && regrown++);
      expect(zeros(pruned.map((p) => 1 - p))).toBe(784 * 64 - keptCount(784 * 64, 0.6));
      expect(regrown).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not leak tensors', async () => {
    const model = tinyMlp();
    const data = loadMnist({ split: 'train', limit: 128 });
    const { train } = await import('../../src/train/index.js');
    const cb = new PruningCallback(model, { configList: [{ opTypes: ['Dense'], sparsity: 0.5, granularity: 'block1x4' }], schedule: (s) => new ConstantSparsity({ targetSparsity: s, frequency: 1 }) });
    await train(model, data, { epochs: 1, batchSize: 64, callbacks: [cb] });
    cb.dispose();
    const n0 = tf.memory().numTensors;
    const cb2 = new PruningCallback(model, { configList: [{ opTypes: ['Dense'], sparsity: 0.5 }], schedule: (s) => new ConstantSparsity({ targetSparsity: s, frequency: 1 }) });
    await train(model, data, { epochs: 1, batchSize: 64, callbacks: [cb2] });
    cb2.dispose();
    const { masks } = await levelPrune(model, { configList: [{ opTypes: ['Dense'], sparsity: 0.9 }], inPlace: true });
    disposeMasks(masks);
    expect(tf.memory().numTensors).toBe(n0);
  });
});
