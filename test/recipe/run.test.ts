import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '../helpers/backend.js';
import { loadMnist } from '../../src/data/mnist.js';
import { loadLayersModelFromFiles } from '../../src/model/io.js';
import { loadContainer } from '../../src/serialize/index.js';
import { parseRecipe, runRecipe, type StageReport } from '../../src/recipe/index.js';
import type { TrainCallback } from '../../src/train/index.js';

const quiet = () => undefined;

function recipe(sparsity = 0.75) {
  return parseRecipe({
    name: 't',
    seed: 3,
    data: { kind: 'mnist', trainLimit: 256, testLimit: 128 },
    stages: [
      { train: { name: 'teacher', model: 'cnn-small', epochs: 2, batchSize: 64 } },
      { distill: { name: 'student', teacher: 'teacher', student: 'keras-kd-student', epochs: 1, batchSize: 64 } },
      { prune: { name: 'pruned', from: 'student', method: 'level', sparsity, fineTune: { epochs: 1, batchSize: 64, distillFrom: 'teacher' } } },
      { quantize: { name: 'q', from: 'pruned', mode: 'int8' } },
      { pack: { name: 'packed', from: 'q' } },
      { export: { name: 'deploy', from: 'q' } },
      { bench: { batches: [1], warmup: 0, repeats: 2, runtimes: ['tfjs-default', 'onnx'] } },
    ],
  });
}

function report(dir: string): StageReport {
  return JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as StageReport;
}

function argmaxRows(values: ArrayLike<number>, classes: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < values.length / classes; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (values[r * classes + c]! > values[r * classes + best]!) best = c;
    out.push(best);
  }
  return out;
}

describe('recipe runner', () => {
  const out = mkdtempSync(join(tmpdir(), 'recipe-run-'));
  const test = loadMnist({ split: 'test', limit: 128 });
  beforeAll(() => useBackend());

  it('runs every stage end to end, with figures that independent checks reproduce', async () => {
    const before = tf.memory().numTensors;
    const r = await runRecipe(recipe(), { outDir: out, log: quiet, progress: false });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.stages.map((s) => [s.name, s.status])).toEqual([
      ['teacher', 'ran'], ['student', 'ran'], ['pruned', 'ran'], ['q', 'ran'], ['packed', 'ran'], ['deploy', 'ran'], ['bench', 'ran'],
    ]);
    expect(readdirSync(out).sort()).toEqual(['.cache', '01-teacher', '02-student', '03-pruned', '04-q', '05-packed', '06-deploy', '07-bench', 'run.json']);

    // Teacher accuracy in the report = accuracy recomputed from the saved files.
    const teacher = await loadLayersModelFromFiles(join(out, '01-teacher/teacher'));
    const logits = tf.tidy(() => (teacher.predict(tf.tensor(test.x, [test.size, 28, 28, 1])) as tf.Tensor).dataSync());
    const acc = argmaxRows(logits, 10).filter((p, i) => p === test.labels![i]).length / test.size;
    expect((report(join(out, '01-teacher')).metrics.teacher as { accuracy: number }).accuracy).toBeCloseTo(acc, 6);
    teacher.dispose();

    // Every pruned kernel is 75% zeros (level pruning, rounding to whole weights).
    const pruned = await loadLayersModelFromFiles(join(out, '03-pruned/pruned'));
    for (const w of pruned.weights.filter((v) => v.name.endsWith('kernel'))) {
      const v = w.read().dataSync();
      expect(v.filter((x) => x === 0).length / v.length).toBeCloseTo(0.75, 2);
    }
    pruned.dispose();

    // The container and the ONNX export predict like the quantized model they came from.
    const q = await loadLayersModelFromFiles(join(out, '04-q/q'));
    const packed = await loadContainer(join(out, '05-packed/packed.tfjsc'));
    const xs = tf.tensor(test.x, [test.size, 28, 28, 1]);
    const qOut = tf.tidy(() => (q.predict(xs) as tf.Tensor).dataSync());
    const pOut = tf.tidy(() => (packed.predict(xs) as tf.Tensor).dataSync());
    expect(Array.from(pOut)).toEqual(Array.from(qOut));
    const session = await ort.InferenceSession.create(join(out, '06-deploy/deploy-onnx.onnx'));
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', test.x, [test.size, 28, 28, 1]) };
    const onnxOut = (await session.run(feeds))[session.outputNames[0]!]!.data as Float32Array;
    await session.release();
    let maxDiff = 0;
    for (let i = 0; i < qOut.length; i++) maxDiff = Math.max(maxDiff, Math.abs(onnxOut[i]! - qOut[i]!));
    expect(maxDiff).toBeLessThan(1e-4);
    tf.dispose([xs]);
    q.dispose();
    packed.dispose();

    // The bench covers every model of the run and writes the HTML report.
    const bench = JSON.parse(readFileSync(join(out, '07-bench/bench.json'), 'utf8')) as { models: { name: string }[] };
    expect(bench.models.map((m) => m.name)).toEqual(['teacher', 'student', 'pruned', 'q', 'packed', 'deploy-onnx', 'deploy-tfjs']);
    expect(readFileSync(join(out, '07-bench/report.html'), 'utf8')).toContain('<svg');
  });

  it('skips every unchanged stage on a re-run, leaving the reports untouched', async () => {
    const stamps = readdirSync(out).filter((d) => /^\d\d-/.test(d)).map((d) => report(join(out, d)).finishedAt);
    const r = await runRecipe(recipe(), { outDir: out, log: quiet, progress: false });
    expect(r.stages.every((s) => s.status === 'skipped')).toBe(true);
    expect(readdirSync(out).filter((d) => /^\d\d-/.test(d)).map((d) => report(join(out, d)).finishedAt)).toEqual(stamps);
  });

  it('re-runs a changed stage and the stages after it, not the ones before', async () => {
    const stamps = ['01-teacher', '02-student'].map((d) => report(join(out, d)).finishedAt);
    const r = await runRecipe(recipe(0.5), { outDir: out, log: quiet, progress: false });
    expect(r.stages.map((s) => s.status)).toEqual(['skipped', 'skipped', 'ran', 'ran', 'ran', 'ran', 'ran']);
    expect(['01-teacher', '02-student'].map((d) => report(join(out, d)).finishedAt)).toEqual(stamps);
    expect((report(join(out, '03-pruned')).metrics.pruned as { sparsity: number }).sparsity).toBeGreaterThan(0.45);
    expect((report(join(out, '03-pruned')).metrics.pruned as { sparsity: number }).sparsity).toBeLessThan(0.55);
  });

  it('re-runs a stage whose outputs were tampered with (later stages skip when it rebuilds the same bytes)', async () => {
    const good = readFileSync(join(out, '05-packed/packed.tfjsc'));
    writeFileSync(join(out, '05-packed/packed.tfjsc'), 'garbage');
    const before = tf.memory().numTensors;
    const r = await runRecipe(recipe(0.5), { outDir: out, log: quiet, progress: false });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.stages.map((s) => s.status)).toEqual(['skipped', 'skipped', 'skipped', 'skipped', 'ran', 'skipped', 'skipped']);
    expect(readFileSync(join(out, '05-packed/packed.tfjsc')).equals(good)).toBe(true);
  });

  it('resumes an interrupted training stage from its last epoch checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recipe-resume-'));
    const ref = mkdtempSync(join(tmpdir(), 'recipe-ref-'));
    const r1 = () => parseRecipe({ data: { kind: 'mnist', trainLimit: 192, testLimit: 64 }, stages: [{ train: { name: 'm', model: 'keras-kd-student', epochs: 2 } }] });
    const stopAtEpoch2: TrainCallback = {
      onEpochBegin(epoch) {
        if (epoch === 1) throw new Error('simulated interruption');
      },
    };
    await expect(runRecipe(r1(), { outDir: dir, log: quiet, progress: false, callbacks: () => [stopAtEpoch2] })).rejects.toThrow('simulated interruption');
    expect(existsSync(join(dir, '01-m/report.json'))).toBe(false);
    expect(readdirSync(join(dir, '01-m')).some((n) => n.startsWith('.checkpoint-'))).toBe(true);

    const resumed = await runRecipe(r1(), { outDir: dir, log: quiet, progress: false });
    const rep = resumed.stages[0]!.report;
    expect(rep.resumedFromEpoch).toBe(1);
    expect(rep.history!.m!.loss).toHaveLength(2);
    expect(readdirSync(join(dir, '01-m')).some((n) => n.startsWith('.checkpoint-'))).toBe(false);

    // Same final weights as an uninterrupted run.
    await runRecipe(r1(), { outDir: ref, log: quiet, progress: false });
    const a = await loadLayersModelFromFiles(join(dir, '01-m/m'));
    const b = await loadLayersModelFromFiles(join(ref, '01-m/m'));
    a.weights.forEach((w, i) => {
      const x = w.read().dataSync();
      const y = b.weights[i]!.read().dataSync();
      let d = 0;
      for (let k = 0; k < x.length; k++) d = Math.max(d, Math.abs(x[k]! - y[k]!));
      expect(d).toBeLessThan(1e-5);
    });
    a.dispose();
    b.dispose();
  });

  it('structured pruning writes a physically smaller model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recipe-structured-'));
    const r = await runRecipe(
      parseRecipe({
        data: { kind: 'mnist', trainLimit: 128, testLimit: 64 },
        stages: [
          { train: { name: 'm', model: 'cnn-small', epochs: 1 } },
          { prune: { name: 's', method: 'structured', sparsity: 0.5, fineTune: { epochs: 1 } } },
        ],
      }),
      { outDir: dir, log: quiet, progress: false },
    );
    const m = r.stages[1]!.report.metrics as { structured: { paramsBefore: number; paramsAfter: number }; s: { params: number; sparsity: number } };
    const small = await loadLayersModelFromFiles(join(dir, '02-s/s'));
    const big = await loadLayersModelFromFiles(join(dir, '01-m/m'));
    expect(small.countParams()).toBe(m.structured.paramsAfter);
    expect(big.countParams()).toBe(m.structured.paramsBefore);
    expect(small.countParams()).toBeLessThan(big.countParams() * 0.6);
    expect(m.s.params).toBe(small.countParams());
    small.dispose();
    big.dispose();
  });

  it('names the field of a reference that resolves to nothing', async () => {
    const bad = parseRecipe({ data: { kind: 'mnist', trainLimit: 64, testLimit: 32 }, stages: [{ distill: { teacher: 'nope', student: 'mlp', epochs: 1 } }] });
    await expect(runRecipe(bad, { outDir: mkdtempSync(join(tmpdir(), 'recipe-bad-')), log: quiet })).rejects.toThrow(
      /stages\[0\]\.distill\.teacher: 'nope' is not an earlier stage or output \(none yet\), an architecture \(.*cnn-small.*\) or an existing path/,
    );
  });
});
