import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerDistillCommand } from '../../src/cli/commands/distill.js';
import { loadMnist } from '../../src/data/mnist.js';
import { useBackend } from '../helpers/backend.js';
import { REAL, stockGraphModel, stockLayersModel } from '../model/graph-helpers.js';
import { runCommands } from '../helpers/cli.js';

const TEACHER = join(REAL, 'jsimluken-mnist', 'web_model2');
const STUDENT = join(REAL, 'keras3-export-mnist-graph');

/** Run CLI commands in-process and return what they printed. */
const run = (...args: string[]) => runCommands((p) => { registerDistillCommand(p); }, args);

let dir: string;
beforeAll(async () => {
  await useBackend();
  dir = mkdtempSync(join(tmpdir(), 'distill-forms-'));
});

describe('distill CLI with graph models', () => {
  it('a graph teacher and a graph student (rebuilt as layers) on scaled MNIST', async () => {
    const out = join(dir, 'student');
    const text = await run(
      'distill', '--teacher', TEACHER, '--student', STUDENT, '--data', 'mnist', '--limit', '256', '--test-limit', '200',
      '--epochs', '1', '--batch-size', '64', '--input-range', '-1..1', '--no-progress', '--out', out,
    );
    expect(text).toMatch(/student .*keras3-export-mnist-graph: graph model rebuilt as \d+ layers/);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    // Teacher accuracy against stock tfjs on the same inputs, scaled here independently to [-1, 1].
    const raw = loadMnist({ split: 'test', limit: 200, normalize: false });
    const stock = await stockGraphModel(join(TEACHER, 'model.json'));
    const pred = tf.tidy(() => tf.argMax(stock.predict(tf.tensor(Float32Array.from(raw.x, (v) => v / 127.5 - 1), [200, 28, 28, 1])) as tf.Tensor, -1).dataSync());
    stock.dispose();
    expect(report.teacherAccuracy).toBeCloseTo(Array.from(pred).reduce((s, p, i) => s + (p === raw.labels![i] ? 1 : 0), 0) / 200, 10);
    expect(report.teacherAccuracy).toBeGreaterThan(0.95);
    // The student started from trained weights: still accurate after one epoch at alpha 0.1.
    expect(report.results[0].accuracy).toBeGreaterThan(0.9);
    const saved = await stockLayersModel(join(out, 'model.json'));
    expect(saved.outputs[0]!.shape).toEqual([null, 10]);
    saved.dispose();
  });

  it('--teacher-outputs is validated, and an ONNX teacher is refused in one line', async () => {
    await expect(run('distill', '--teacher', TEACHER, '--student', 'zoo:mlp', '--teacher-outputs', 'soft', '--out', join(dir, 'x'))).rejects.toThrow(
      "--teacher-outputs expects one of logits, probabilities, auto, got 'soft'",
    );
    const onnx = join(dir, 'm.onnx');
    writeFileSync(onnx, new Uint8Array([8, 7]));
    const err = await run('distill', '--teacher', onnx, '--student', 'zoo:mlp', '--limit', '64', '--test-limit', '64', '--out', join(dir, 'y')).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^distill --teacher takes .*graph models.*'.*m\.onnx' is an? ONNX model/);
    expect((err as Error).message).not.toMatch(/\n/);
  });
});
