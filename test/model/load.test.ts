import * as tf from '@tensorflow/tfjs';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildZooModel } from '../../src/model/zoo.js';
import { loadModel, locateModel } from '../../src/model/load.js';
import { packModel } from '../../src/serialize/index.js';
import { useBackend } from '../helpers/backend.js';
import { REAL_MODELS as FIXTURES } from '../helpers/fixtures.js';
import { stockGraphModel } from './graph-helpers.js';

const fixture = (p: string) => join(FIXTURES, p);

let tmp: string;
beforeAll(async () => {
  await useBackend();
  tmp = mkdtempSync(join(tmpdir(), 'tfjs-compress-load-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('locateModel recognises formats from the files', () => {
  it('tells layers models, graph models, Keras files and zoo specs apart', () => {
    expect(locateModel(fixture('jsimluken-mnist/web_model')).format).toBe('layers-model');
    expect(locateModel(fixture('jsimluken-mnist/web_model2')).format).toBe('graph-model');
    expect(locateModel(fixture('jsimluken-mnist/web_model2/model.json')).format).toBe('graph-model');
    expect(locateModel(fixture('jsimluken-mnist/tiny_mnist.h5')).format).toBe('keras-h5');
    expect(locateModel(fixture('oarriaga-fer2013-xception-h5/fer2013_big_XCEPTION.54-0.66.hdf5')).format).toBe('keras-h5');
    expect(locateModel(fixture('fashion-mnist-keras3/Fashion_MNIST_CNN_model.keras')).format).toBe('keras-v3');
    expect(locateModel('zoo:cnn').format).toBe('zoo');
  });

  it('finds a graph model whose JSON is not called model.json', () => {
    const loc = locateModel(fixture('human-emotion-graph'));
    expect(loc.format).toBe('graph-model');
    expect(basename(loc.path!)).toBe('emotion.json');
  });

  it('recognises a container by its magic bytes, whatever its name', async () => {
    const m = buildZooModel('mlp', { seed: 1 });
    const path = join(tmp, 'packed.bin');
    writeFileSync(path, await packModel(m));
    m.dispose();
    expect(locateModel(path).format).toBe('container');
  });

  it('refuses what it cannot read in one line that names the file and never quotes it', () => {
    const binary = join(tmp, 'garbage.json');
    writeFileSync(binary, Uint8Array.from({ length: 4096 }, (_, i) => (i * 37 + 11) % 256));
    const notModel = join(tmp, 'other.json');
    writeFileSync(notModel, JSON.stringify({ hello: 'x'.repeat(5000) }));
    const cases: Array<[string, RegExp]> = [
      [join(tmp, 'missing'), /does not exist/],
      [binary, /garbage\.json: not a model file the SDK reads/],
      [notModel, /other\.json: JSON without a 'modelTopology'/],
      ['zoo:nope', /unknown zoo model 'nope'.*expected one of/],
      [tmp, /has no model\.json/],
    ];
    for (const [spec, re] of cases) {
      let msg = '';
      try {
        locateModel(spec);
      } catch (err) {
        msg = (err as Error).message;
      }
      expect(msg).toMatch(re);
      expect(msg).not.toContain('\n');
      expect(msg.length).toBeLessThan(300);
    }
  });

  it('reports invalid JSON by position, without the file content', () => {
    const bad = join(tmp, 'broken');
    cpSync(fixture('jsimluken-mnist/web_model2'), bad, { recursive: true });
    const text = readFileSync(join(bad, 'model.json'), 'utf8');
    writeFileSync(join(bad, 'model.json'), text.slice(0, text.length / 2));
    expect(() => locateModel(bad)).toThrow(/model\.json: not valid JSON/);
    try {
      locateModel(bad);
    } catch (err) {
      expect((err as Error).message.length).toBeLessThan(300);
    }
  });
});

describe('loadModel', () => {
  it('loads a graph model that predicts exactly like stock tf.loadGraphModel on the same files', async () => {
    const before = tf.memory().numTensors;
    const m = await loadModel(fixture('keras3-export-mnist-graph'), { command: 'eval', accept: ['layers', 'graph'] });
    expect(m.kind).toBe('graph');
    const stock = await stockGraphModel(fixture('keras3-export-mnist-graph/model.json'));
    const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 7);
    const ours = (m.kind === 'graph' ? m.model.execute(x) : undefined) as tf.Tensor;
    const ref = stock.execute(x) as tf.Tensor;
    expect(Array.from(await ours.data())).toEqual(Array.from(await ref.data()));
    tf.dispose([x, ours, ref]);
    if (m.kind === 'graph') m.model.dispose();
    stock.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('loads a container as the layers model that was packed (weights bit-exact)', async () => {
    const orig = buildZooModel('lenet5', { seed: 3 });
    const path = join(tmp, 'lenet.tfjsc');
    writeFileSync(path, await packModel(orig));
    const m = await loadModel(path, { command: 'eval', accept: ['layers', 'graph'] });
    expect(m.kind).toBe('layers');
    if (m.kind !== 'layers') return;
    const a = orig.getWeights();
    const b = m.model.getWeights();
    expect(b.length).toBe(a.length);
    for (let i = 0; i < a.length; i++) expect(Array.from(b[i]!.dataSync())).toEqual(Array.from(a[i]!.dataSync()));
    orig.dispose();
    m.model.dispose();
  });

  it('refuses a kind the command does not take in one line, without leaking the loaded model', async () => {
    const before = tf.memory().numTensors;
    await expect(loadModel(fixture('jsimluken-mnist/web_model2'), { command: 'summary', accept: ['layers'] }))
      .rejects.toThrow(/^summary takes tfjs layers models .*; '.*web_model2' is a tfjs graph model$/);
    expect(tf.memory().numTensors).toBe(before);
    await expect(loadModel(fixture('jsimluken-mnist/tiny_mnist.h5'), { command: 'infer', accept: ['onnx'] }))
      .rejects.toThrow(/^infer takes \.onnx files; '.*tiny_mnist\.h5' is a Keras HDF5 file$/);
    expect(tf.memory().numTensors).toBe(before);
    const onnx = join(tmp, 'm.onnx');
    writeFileSync(onnx, new Uint8Array([8, 7]));
    await expect(loadModel(onnx, { command: 'prune', accept: ['layers', 'graph'] })).rejects.toThrow(/^prune takes .*; '.*m\.onnx' is an ONNX model$/);
    const r = await loadModel(onnx, { command: 'bench', accept: ['layers', 'graph', 'onnx'] });
    expect(r.kind).toBe('onnx');
  });

  it('frees the weights of nested models (Teachable Machine) when the outer model is disposed', async () => {
    const before = tf.memory().numTensors;
    const m = await loadModel(fixture('tm-nail-biting-mobilenet'), { command: 'info', accept: ['layers'] });
    if (m.kind !== 'layers') throw new Error('expected a layers model');
    expect(m.model.layers.some((l) => l instanceof tf.LayersModel)).toBe(true);
    m.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names the file when a shard does not match its manifest', async () => {
    const dir = join(tmp, 'short-shard');
    cpSync(fixture('keras3-export-mnist-graph'), dir, { recursive: true });
    const shard = join(dir, 'group1-shard1of1.bin');
    writeFileSync(shard, readFileSync(shard).subarray(0, 1000));
    await expect(loadModel(dir, { command: 'eval', accept: ['graph'] })).rejects.toThrow(/model\.json: weight files \[group1-shard1of1\.bin\] hold 1000 bytes but the manifest declares 139312/);
  });
});
