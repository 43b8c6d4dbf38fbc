import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerInfoCommands } from '../../src/cli/commands/info.js';
import { loadMnist } from '../../src/data/mnist.js';
import { exportOnnx } from '../../src/export/index.js';
import { fileHandler } from '../../src/model/io.js';
import { loadLayersModel } from '../../src/model/load.js';
import { summary } from '../../src/model/summary.js';
import { packArtifacts } from '../../src/serialize/index.js';
import { useBackend } from '../helpers/backend.js';
import { REAL, stockGraphModel, stockLayersModel } from '../model/graph-helpers.js';
import { runCommands } from '../helpers/cli.js';

const root = join(import.meta.dirname, '..', '..');
const GRAPH = join(REAL, 'jsimluken-mnist', 'web_model2');
const LAYERS = join(REAL, 'jsimluken-mnist', 'web_model');
// jsimluken-mnist was trained on (x - 127.5) / 128.
const SCALE = ['--input-scale', String(1 / 128), '--input-offset', String(-127.5 / 128)];
const N = 500;

/** Run CLI commands in-process and return what they printed. */
const run = (...args: string[]) => runCommands((p) => { registerInfoCommands(p); }, args);

/** Accuracy of stock tfjs predictions (argmax) on the first N MNIST test digits scaled here, independently. */
function stockAccuracy(predict: (x: tf.Tensor) => tf.Tensor, scale: (raw: number) => number): number {
  const raw = loadMnist({ split: 'test', limit: N, normalize: false });
  const x = tf.tensor(Float32Array.from(raw.x, scale), [N, 28, 28, 1]);
  const pred = tf.tidy(() => tf.argMax(predict(x), -1).dataSync());
  x.dispose();
  return Array.from(pred).reduce((s, p, i) => s + (p === raw.labels![i] ? 1 : 0), 0) / N;
}

let dir: string;
let onnxPath: string;
let graphContainer: string;
/** Counts of the layers model the ONNX file was exported from. */
let exported: { params: number; nonZeros: number; tensors: number };
beforeAll(async () => {
  await useBackend();
  dir = mkdtempSync(join(tmpdir(), 'model-forms-'));
  // An .onnx and a graph container of the same network, written to a temp dir (fixtures stay read-only).
  // The ONNX comes from the graph rebuilt as layers (the exporter takes layers models).
  const { model } = await loadLayersModel(GRAPH, { command: 'test' });
  onnxPath = join(dir, 'web_model2.onnx');
  writeFileSync(onnxPath, (await exportOnnx(model)).bytes);
  exported = { params: model.countParams(), nonZeros: summary(model).nonZeros, tensors: model.weights.length };
  model.dispose();
  graphContainer = join(dir, 'web_model2.tfjsc');
  writeFileSync(graphContainer, packArtifacts(await fileHandler(GRAPH).load!()));
});

describe('info takes every model form', () => {
  it('graph model: op histogram, weights and totals match the raw model.json and shard', async () => {
    const s = JSON.parse(await run('info', GRAPH, '--json'));
    const json = JSON.parse(readFileSync(join(GRAPH, 'model.json'), 'utf8'));
    const ops: Record<string, number> = {};
    for (const n of json.modelTopology.node) ops[n.op] = (ops[n.op] ?? 0) + 1;
    expect(s.format).toBe('graph-model');
    expect(s.ops).toEqual(ops);
    // Non-zeros and bytes straight from the shard bytes, in manifest order.
    const bin = readFileSync(join(GRAPH, json.weightsManifest[0].paths[0]));
    let off = 0;
    let params = 0;
    let nonZeros = 0;
    for (const w of json.weightsManifest[0].weights) {
      const n = w.shape.reduce((a: number, b: number) => a * b, 1);
      const view = w.dtype === 'float32' ? new Float32Array(bin.buffer.slice(bin.byteOffset + off, bin.byteOffset + off + 4 * n)) : undefined;
      if (view) {
        params += n;
        nonZeros += view.filter((v) => v !== 0).length;
      }
      const mine = s.weights.find((x: { name: string }) => x.name === w.name);
      expect(mine, w.name).toMatchObject({ shape: w.shape, dtype: w.dtype, params: n });
      off += 4 * n;
    }
    expect(s.params).toBe(params);
    expect(s.nonZeros).toBe(nonZeros);
    expect(s.bytes).toBe(statSync(join(GRAPH, json.weightsManifest[0].paths[0])).size);
    expect(s.inputs).toEqual([{ name: 'input_1', shape: [-1, 28, 28, 1], dtype: 'float32' }]);
    expect(s.outputs[0].shape).toEqual([-1, 10]);
    const text = await run('info', GRAPH);
    expect(text).toMatch(/_FusedConv2D x3/);
    expect(text).toMatch(/total\s+277962\s+277962\s+0\.0%\s+1111860/);
  });

  it('layers model as before, and a graph container like its folder', async () => {
    const stock = await stockLayersModel(join(LAYERS, 'model.json'));
    const s = JSON.parse(await run('info', LAYERS, '--json'));
    expect(s.params).toBe(stock.countParams());
    expect(s.layers.map((l: { name: string }) => l.name)).toEqual(stock.layers.map((l) => l.name));
    stock.dispose();
    const c = JSON.parse(await run('info', graphContainer, '--json'));
    const g = JSON.parse(await run('info', GRAPH, '--json'));
    expect(c.format).toBe('container');
    expect({ ...c, model: '', format: '' }).toEqual({ ...g, model: '', format: '' });
  });

  it('.onnx: initializers and ops decoded from the protobuf', async () => {
    const s = JSON.parse(await run('info', onnxPath, '--json'));
    expect(s.format).toBe('onnx');
    expect(s.ops.Conv).toBe(3);
    expect(s.inputs).toHaveLength(1);
    expect(s.inputs[0].shape.slice(1)).toEqual([28, 28, 1]);
    // The same counts as the layers model it was exported from (kernels transposed, not changed).
    expect(s.params).toBe(exported.params);
    expect(s.nonZeros).toBe(exported.nonZeros);
    expect(s.weights.filter((w: { dtype: string }) => w.dtype === 'float32')).toHaveLength(exported.tensors);
    expect(s.outputs[0].shape).toEqual([-1, 10]);
  });
});

describe('eval takes every model form', () => {
  it('web_model2 (graph) scores exactly like its layers twin and like stock tfjs', async () => {
    const g = JSON.parse(await run('eval', GRAPH, '--limit', String(N), '--json', ...SCALE));
    const l = JSON.parse(await run('eval', LAYERS, '--limit', String(N), '--json', ...SCALE));
    expect(g.samples).toBe(N);
    expect(g.accuracy).toBe(l.accuracy);
    expect(g.top5).toBe(l.top5);
    expect(g.loss).toBeCloseTo(l.loss, 4);
    // Softmax outputs read as probabilities: a loss near log(10) would mean they were softmaxed again.
    expect(g.loss).toBeLessThan(0.2);
    const stock = await stockGraphModel(join(GRAPH, 'model.json'));
    const acc = stockAccuracy((x) => stock.predict(x) as tf.Tensor, (v) => (v - 127.5) / 128);
    stock.dispose();
    expect(g.accuracy).toBeCloseTo(acc, 10);
    expect(acc).toBeGreaterThan(0.97);
    // The graph container and the ONNX file give the same accuracy.
    const c = JSON.parse(await run('eval', graphContainer, '--limit', String(N), '--json', ...SCALE));
    expect(c.accuracy).toBe(g.accuracy);
    const o = JSON.parse(await run('eval', onnxPath, '--limit', String(N), '--json', ...SCALE));
    expect(Math.abs(o.accuracy - g.accuracy)).toBeLessThanOrEqual(0.002);
    expect(o.loss).toBeCloseTo(g.loss, 3);
  });

  it('keras3-export-mnist-graph (signature-named output, x/255) against stock tfjs', async () => {
    const path = join(REAL, 'keras3-export-mnist-graph');
    const r = JSON.parse(await run('eval', path, '--limit', String(N), '--json', '--input-range', '0..1'));
    const stock = await stockGraphModel(join(path, 'model.json'));
    const acc = stockAccuracy((x) => stock.predict(x) as tf.Tensor, (v) => v / 255);
    stock.dispose();
    expect(r.accuracy).toBeCloseTo(acc, 10);
    expect(r.accuracy).toBeGreaterThan(0.97);
    expect(r.loss).toBeLessThan(0.2);
  });

  it('bad scaling flags and refused formats fail in one line naming the flag or format', async () => {
    await expect(run('eval', GRAPH, '--input-range', '0..9')).rejects.toThrow(/--input-range.*unknown input range '0\.\.9': expected one of 0\.\.1, 0\.\.255, -1\.\.1/);
    await expect(run('eval', GRAPH, '--input-range', '0..1', '--input-scale', '2')).rejects.toThrow(/cannot be combined/);
    const txt = join(dir, 'notes.txt');
    writeFileSync(txt, 'hello');
    await expect(run('info', txt)).rejects.toThrow(/notes\.txt: not a model file the SDK reads/);
  });

  it('the real CLI exits 1 with one line on a model it cannot read', () => {
    writeFileSync(join(dir, 'broken.json'), '{"modelTopology": {"node": []}, "format": "graph-model", "weightsManifest": [{"paths": ["nope.bin"], "weights": []}]}');
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), '--quiet', 'eval', join(dir, 'broken.json'), '--limit', '10'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tfjs-compress: error: .*broken\.json.*nope\.bin/);
  });
});
