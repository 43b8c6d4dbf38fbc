import * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { seededRandom } from '../../src/data/dataset.js';
import { loadMnist } from '../../src/data/mnist.js';
import { exportOnnx } from '../../src/export/index.js';
import { graphToLayers } from '../../src/model/index.js';
import { loadGraphModelFromFiles, loadLayersModelFromFiles, saveLayersModel } from '../../src/model/io.js';
import { registerConvertCommand } from '../../src/cli/commands/convert.js';
import { useBackend } from '../helpers/backend.js';
import { loadWithStockTfjs, maxAbsDiff, onnxCheck } from '../export/helpers.js';

// ../shared/fixtures beside the repository, as on the developers' machines and in CI.
const FIX = join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'real-models');
const dir = mkdtempSync(join(tmpdir(), 'g2l-fixtures-'));
const onnxFiles: string[] = [];
let mnist: tf.Tensor;

beforeAll(async () => {
  await useBackend();
  mnist = loadMnist({ split: 'test', limit: 32 }).toTensors().xs.reshape([32, 28, 28, 1]);
});
afterAll(() => mnist.dispose());

/** Inputs drawn independently of the converter: floats in [-1, 1], ids in [0, hi). */
function inputsFor(graph: GraphModel, n: number, intHi: number[] = []): tf.Tensor[] {
  const rand = seededRandom(7);
  return graph.inputs.map((info, i) => {
    const shape = [n, ...info.shape!.slice(1)];
    const size = shape.reduce((a, b) => a * b, 1);
    return info.dtype === 'int32'
      ? tf.tensor(Int32Array.from({ length: size }, () => Math.floor(rand() * (intHi[i] ?? 10))), shape, 'int32')
      : tf.tensor(Float32Array.from({ length: size }, () => rand() * 2 - 1), shape);
  });
}

/** max |layers - stock GraphModel.execute| per output, computed here (not by the converter). */
function diffVsGraph(graph: GraphModel, model: tf.LayersModel, xs: tf.Tensor[]): number[] {
  const ref = graph.execute(xs.length === 1 ? xs[0]! : xs, graph.outputs.map((o) => o.name));
  const got = model.predict(xs.length === 1 ? xs[0]! : xs);
  const r = Array.isArray(ref) ? ref : [ref];
  const g = Array.isArray(got) ? got : [got];
  const d = r.map((t, i) => maxAbsDiff(t.dataSync(), g[i]!.dataSync()));
  [...r, ...g].forEach((t) => t.dispose());
  return d;
}

interface Fixture {
  path: string;
  /** Independent parity inputs; batch-1 graphs get one sample. */
  inputs: (g: GraphModel) => tf.Tensor[];
  outputs: number;
}

const mnistScaled = (f: (x: tf.Tensor) => tf.Tensor) => () => [tf.tidy(() => f(mnist.slice(0, 8)))];
const FIXTURES: Record<string, Fixture> = {
  'jsimluken-mnist/web_model2': { path: `${FIX}/jsimluken-mnist/web_model2`, inputs: mnistScaled((x) => x.mul(255).sub(127.5).div(128)), outputs: 1 },
  'keras3-export-mnist-graph': { path: `${FIX}/keras3-export-mnist-graph`, inputs: mnistScaled((x) => x.clone()), outputs: 1 },
  'human-emotion-graph': { path: `${FIX}/human-emotion-graph/emotion.json`, inputs: (g) => inputsFor(g, 4), outputs: 1 },
  'tfjs-automl-flowers-graph': { path: `${FIX}/tfjs-automl-flowers-graph`, inputs: (g) => inputsFor(g, 1), outputs: 1 },
  'tfjs-mobilenet-segmentation-graph': { path: `${FIX}/tfjs-mobilenet-segmentation-graph`, inputs: (g) => inputsFor(g, 1), outputs: 2 },
  'tfjs-examples-prefetch-embedding-graph': { path: `${FIX}/tfjs-examples-prefetch-embedding-graph`, inputs: (g) => inputsFor(g, 16, [101, 1000]), outputs: 1 },
};

describe('graph fixtures -> layers -> ONNX', () => {
  for (const [name, fx] of Object.entries(FIXTURES)) {
    it(`${name}: converts with parity <= 1e-5, reloads in stock tfjs, exports to ONNX with onnxruntime parity`, async () => {
      const graph = await loadGraphModelFromFiles(fx.path);
      const xs = fx.inputs(graph);
      const before = tf.memory().numTensors;
      const { model, report } = await graphToLayers(graph, { inputs: xs, name });
      expect(report.parity.maxAbsDiff).toBeLessThanOrEqual(1e-5);
      expect(report.parity.perOutput).toHaveLength(fx.outputs);
      expect(model.outputs).toHaveLength(fx.outputs);
      // Our own comparison against stock GraphModel.execute, not the converter's report.
      for (const d of diffVsGraph(graph, model, xs)) expect(d).toBeLessThanOrEqual(1e-5);
      expect(report.params).toBe(model.countParams());

      // Saved, it loads in stock tfjs and computes the same.
      const out = join(dir, name.replace(/\//g, '_'));
      await saveLayersModel(model, out);
      const reloaded = await loadWithStockTfjs(out);
      for (const d of diffVsGraph(graph, reloaded, xs)) expect(d).toBeLessThanOrEqual(1e-5);
      reloaded.dispose();

      const { bytes, report: onnx } = await exportOnnx(model, { verify: { inputs: xs, tolerance: 1e-4 } });
      expect(onnx.verify!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
      const f = join(dir, `${name.replace(/\//g, '_')}.onnx`);
      writeFileSync(f, bytes);
      onnxFiles.push(f);
      console.log(`${name}: ${report.layers} layers, ${report.params} params, parity ${report.parity.maxAbsDiff.toExponential(2)}, onnx ${onnx.verify!.maxAbsDiff.toExponential(2)}`);

      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
      xs.forEach((t) => t.dispose());
      graph.dispose();
    });
  }

  it('every exported file passes the ONNX checker', () => {
    expect(onnxFiles.length).toBe(Object.keys(FIXTURES).length);
    const r = onnxCheck(onnxFiles);
    expect(r.out).not.toContain('"ok": false');
    expect(r.status, r.out).toBe(0);
  });
});

describe('converted models are the original networks, and trainable', () => {
  it('jsimluken web_model2 (graph) converted matches its layers twin web_model on MNIST', async () => {
    const graph = await loadGraphModelFromFiles(`${FIX}/jsimluken-mnist/web_model2`);
    const twin = await loadLayersModelFromFiles(`${FIX}/jsimluken-mnist/web_model`);
    const { model } = await graphToLayers(graph, { samples: 2 });
    const x = tf.tidy(() => mnist.mul(255).sub(127.5).div(128));
    const a = model.predict(x) as tf.Tensor;
    const b = twin.predict(x) as tf.Tensor;
    // The twin runs BatchNormalization with its own statistics; the graph has them folded into Mul/Add.
    const d = maxAbsDiff(a.dataSync(), b.dataSync());
    console.log(`web_model2 converted vs web_model twin: max|diff| ${d.toExponential(2)} on ${x.shape[0]} MNIST images`);
    expect(d).toBeLessThanOrEqual(1e-5);
    expect(Array.from(a.argMax(-1).dataSync())).toEqual(Array.from(b.argMax(-1).dataSync()));
    [a, b, x].forEach((t) => t.dispose());
    [model, twin].forEach((m) => m.dispose());
    graph.dispose();
  });

  for (const name of ['jsimluken-mnist/web_model2', 'keras3-export-mnist-graph']) {
    it(`${name}: fitting one small batch lowers the loss (gradients flow through every converted layer)`, async () => {
      const graph = await loadGraphModelFromFiles(`${FIX}/${name}`);
      const { model } = await graphToLayers(graph, { samples: 2 });
      graph.dispose();
      const ds = loadMnist({ split: 'test', limit: 32 }).toTensors();
      const x = tf.tidy(() => ds.xs.reshape([32, 28, 28, 1]));
      const y = ds.ys; // one-hot [32, 10]
      model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
      const trainable = model.trainableWeights.map((w) => w.read().clone());
      const h = await model.fit(x, y, { epochs: 5, batchSize: 32, verbose: 0 });
      const loss = h.history.loss as number[];
      expect(loss[loss.length - 1]!).toBeLessThan(loss[0]!);
      // Every trainable weight moved: no layer is cut off from the gradient.
      model.trainableWeights.forEach((w, i) => expect(maxAbsDiff(w.read().dataSync(), trainable[i]!.dataSync())).toBeGreaterThan(0));
      [...trainable, x, ds.xs, ds.ys].forEach((t) => t.dispose());
      model.dispose();
    });
  }
});

describe('tfjs-compress convert', () => {
  it('writes a stock-loadable layers model with the graph signature, atomically', async () => {
    const out = join(dir, 'cli-emotion');
    const program = new Command('tfjs-compress').exitOverride();
    registerConvertCommand(program);
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    try {
      await program.parseAsync(['node', 'x', 'convert', `${FIX}/human-emotion-graph`, '--out', out, '--samples', '2']);
      // A second run replaces the folder it wrote.
      await program.parseAsync(['node', 'x', 'convert', `${FIX}/human-emotion-graph/emotion.json`, '--out', out, '--samples', '2']);
    } finally {
      spy.mockRestore();
    }
    expect(lines.join('\n')).toMatch(/graph -> layers: 21 layers, 205,127 params; parity \(layers vs GraphModel.execute, 2 seeded random inputs\): max\|diff\| \S+ <= 0.00001 ok/);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.userDefinedMetadata.signature.outputs['Identity:0'].name).toBe('Identity:0');
    const m = await loadWithStockTfjs(out);
    expect(m.countParams()).toBe(205127);
    m.dispose();
  });

  it('refuses a non-model input and a non-model output folder in one line', async () => {
    const program = new Command('tfjs-compress').exitOverride();
    registerConvertCommand(program);
    const notModel = mkdtempSync(join(tmpdir(), 'g2l-empty-'));
    await expect(program.parseAsync(['node', 'x', 'convert', notModel, '--out', join(dir, 'x')])).rejects.toThrow(/has no model\.json/);
    const junk = mkdtempSync(join(tmpdir(), 'g2l-junk-'));
    writeFileSync(join(junk, 'notes.txt'), 'keep me');
    await expect(program.parseAsync(['node', 'x', 'convert', `${FIX}/keras3-export-mnist-graph`, '--out', junk, '--samples', '1'])).rejects.toThrow(/refusing to replace/);
    expect(readFileSync(join(junk, 'notes.txt'), 'utf8')).toBe('keep me');
    // Writing over the graph model's own folder would delete the source.
    const copy = mkdtempSync(join(tmpdir(), 'g2l-copy-'));
    cpSync(`${FIX}/keras3-export-mnist-graph`, copy, { recursive: true });
    await expect(program.parseAsync(['node', 'x', 'convert', copy, '--out', copy])).rejects.toThrow(/is the input model's own folder/);
  });
});
