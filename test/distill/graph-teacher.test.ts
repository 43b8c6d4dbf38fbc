import * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { join } from 'node:path';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import type { TensorDataset } from '../../src/data/dataset.js';
import { loadMnist } from '../../src/data/mnist.js';
import { inputScaling, scaleInputs } from '../../src/data/transform.js';
import { distill } from '../../src/distill/distill.js';
import { freezeTeacher } from '../../src/distill/teacher.js';
import { cloneModel } from '../../src/model/clone.js';
import { useBackend } from '../helpers/backend.js';
import { REAL, stockGraphModel, stockLayersModel } from '../model/graph-helpers.js';
import { tinyMlp } from './helpers.js';

// The same trained weights as a layers model and as a converted graph model (Softmax -> Identity).
const DIR = join(REAL, 'jsimluken-mnist');
const scaling = inputScaling({ scale: 1 / 128, offset: -127.5 / 128 });

let layersTeacher: tf.LayersModel;
let graphTeacher: GraphModel;
let train: TensorDataset;
let val: TensorDataset;
beforeAll(async () => {
  await useBackend();
  layersTeacher = await stockLayersModel(join(DIR, 'web_model', 'model.json'));
  graphTeacher = await stockGraphModel(join(DIR, 'web_model2', 'model.json'));
  train = scaleInputs(loadMnist({ split: 'train', limit: 256 }), scaling);
  val = scaleInputs(loadMnist({ split: 'test', limit: 256 }), scaling);
});
afterAll(() => {
  layersTeacher.dispose();
  graphTeacher.dispose();
});

describe('distillation from a converted graph teacher', () => {
  it('detects the softmax behind the Identity output and gives the layers twin\'s log-probabilities', () => {
    const g = freezeTeacher(graphTeacher);
    const l = freezeTeacher(layersTeacher);
    expect(g.outputsProbabilities).toBe(true);
    expect(l.outputsProbabilities).toBe(true);
    const xs = val.xsOf([0, 1, 2, 3]);
    const a = g.run(xs, []).logits;
    const b = l.run(xs, []).logits;
    // Independent check: log of stock tfjs predictions of the graph.
    const ref = tf.tidy(() => tf.log(tf.clipByValue(graphTeacher.predict(xs) as tf.Tensor, 1e-7, 1)));
    expect(tf.max(tf.abs(tf.sub(a, ref))).dataSync()[0]).toBeLessThan(1e-5);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-3);
    tf.dispose([xs, a, b, ref]);
  });

  it('the same weights as a layers teacher and as a graph teacher give the same distillation loss', async () => {
    const student = tinyMlp({ hidden: 32, seed: 7 });
    const twin = await cloneModel(student);
    const wrong = await cloneModel(student);
    const common = { data: train, validation: val, epochs: 1, batchSize: 64, temperature: 4, alpha: 0.1, seed: 1 };
    const before = tf.memory().numTensors;
    const fromLayers = await distill({ ...common, teacher: layersTeacher, student });
    const fromGraph = await distill({ ...common, teacher: graphTeacher, student: twin });
    // Reading the graph's probabilities as logits was the bug (3.26 vs 0.036 on the run).
    const asLogits = await distill({ ...common, teacher: graphTeacher, teacherOutputs: 'logits', student: wrong });
    expect(tf.memory().numTensors).toBe(before);
    const [l, g, w] = [fromLayers, fromGraph, asLogits].map((r) => r.history[0]!);
    expect(g.distill_loss).toBeCloseTo(l.distill_loss!, 3);
    expect(g.val_distill_loss).toBeCloseTo(l.val_distill_loss!, 3);
    expect(Math.abs(w.val_distill_loss! - l.val_distill_loss!)).toBeGreaterThan(0.1);
    for (const m of [student, twin, wrong]) m.dispose();
  });

  it('teacherOutputs overrides the detection, and a bad value is named', () => {
    expect(freezeTeacher(graphTeacher, { outputs: 'logits' }).outputsProbabilities).toBe(false);
    expect(freezeTeacher(layersTeacher, { outputs: 'logits' }).outputsProbabilities).toBe(false);
    expect(() => freezeTeacher(graphTeacher, { outputs: 'soft' as never })).toThrow("teacher outputs must be one of logits, probabilities, auto, got 'soft'");
  });
});
