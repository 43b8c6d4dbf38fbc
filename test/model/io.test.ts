import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, writeFileSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildZooModel, zooNames } from '../../src/model/zoo.js';
import { loadLayersModelFromFiles, saveLayersModel } from '../../src/model/io.js';
import { loadLayersModel } from '../../src/model/load.js';
import { summary } from '../../src/model/summary.js';
import { cloneModel } from '../../src/model/clone.js';
import { useBackend } from '../helpers/backend.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'io-'));

describe('model I/O on the file system', () => {
  beforeAll(() => useBackend());

  it('saves and loads a layers model bit-exactly, readable by stock tfjs from memory', async () => {
    const model = buildZooModel('lenet5', { seed: 3 });
    const dir = tmp();
    await saveLayersModel(model, dir);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const loaded = await loadLayersModelFromFiles(dir);
    const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 1);
    const a = model.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    // Independent reader: stock tfjs from the raw files, none of our code on the path.
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const bin = readFileSync(join(dir, 'weights.bin'));
    const stock = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest[0].weights,
        weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
      }),
    );
    expect(Array.from((stock.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([x, a, b]);
  });

  it('gives clear errors for missing, malformed, mis-sized and escaping inputs, and never modifies them', async () => {
    const dir = tmp();
    await saveLayersModel(buildZooModel('lenet300', { seed: 1 }), dir);
    await expect(loadLayersModelFromFiles(join(dir, 'nope'))).rejects.toThrow(/model not found: .*nope does not exist/);

    const bad = tmp();
    writeFileSync(join(bad, 'model.json'), '{ not json');
    await expect(loadLayersModelFromFiles(bad)).rejects.toThrow(/model.json: not valid JSON/);

    writeFileSync(join(bad, 'model.json'), JSON.stringify({ weightsManifest: [] }));
    await expect(loadLayersModelFromFiles(bad)).rejects.toThrow(/field 'modelTopology' is missing/);

    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const short = tmp();
    writeFileSync(join(short, 'model.json'), JSON.stringify(json));
    writeFileSync(join(short, 'weights.bin'), readFileSync(join(dir, 'weights.bin')).subarray(0, 100));
    const before = statSync(join(short, 'weights.bin')).mtimeMs;
    await expect(loadLayersModelFromFiles(short)).rejects.toThrow(/hold 100 bytes but the manifest declares 1066440/);
    expect(statSync(join(short, 'weights.bin')).mtimeMs).toBe(before);

    const escape = tmp();
    json.weightsManifest[0].paths = ['../../etc/passwd'];
    writeFileSync(join(escape, 'model.json'), JSON.stringify(json));
    await expect(loadLayersModelFromFiles(escape)).rejects.toThrow(/escapes the model folder/);
  });

  it('resolves zoo specs and rejects unknown names with the list', async () => {
    const m = (await loadLayersModel('zoo:tfmot-cnn', { command: 'test' })).model;
    expect(m.countParams()).toBe(20410);
    await expect(loadLayersModel('zoo:nope', { command: 'test' })).rejects.toThrow(/unknown zoo model 'nope'.*expected one of mlp/);
  });
});

describe('zoo and summary', () => {
  beforeAll(() => useBackend());

  it('builds every zoo model with the documented parameter counts, repeatably per seed', () => {
    const hand: Record<string, number> = {
      mlp: 784 * 800 + 800 + 800 * 800 + 800 + 800 * 10 + 10,
      'mlp-big': 784 * 1200 + 1200 + 1200 * 1200 + 1200 + 1200 * 10 + 10,
      lenet300: 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10,
      cnn: 9 * 32 + 32 + 9 * 32 * 64 + 64 + 9216 * 128 + 128 + 128 * 10 + 10,
      'tfmot-cnn': 9 * 12 + 12 + 12 * 13 * 13 * 10 + 10,
    };
    for (const name of zooNames()) {
      const a = buildZooModel(name, { seed: 5 });
      if (hand[name]) expect(a.countParams(), name).toBe(hand[name]);
      const b = buildZooModel(name, { seed: 5 });
      expect(Array.from(a.weights[0]!.read().dataSync())).toEqual(Array.from(b.weights[0]!.read().dataSync()));
    }
  });

  it('counts non-zeros and sparsity by hand', async () => {
    const m = buildZooModel('lenet300', { seed: 2 });
    const k = m.getLayer('dense_2');
    const [w, bias] = k.getWeights();
    const mask = tf.tidy(() => tf.cast(tf.greater(tf.abs(w!), 0.05), 'float32'));
    const masked = tf.mul(w!, mask);
    k.setWeights([masked, tf.zerosLike(bias!)]);
    const expectedNz = (await mask.sum().data())[0]!;
    const s = summary(m).layers.find((l) => l.name === 'dense_2')!;
    expect(s.params).toBe(300 * 100 + 100);
    expect(s.nonZeros).toBe(expectedNz);
    expect(s.sparsity).toBeCloseTo(1 - expectedNz / 30100, 10);
    tf.dispose([mask, masked]);
  });

  it('clones a model with equal weights that do not alias the original', async () => {
    const m = buildZooModel('lenet300', { seed: 2 });
    const c = await cloneModel(m);
    expect(Array.from(c.weights[0]!.read().dataSync())).toEqual(Array.from(m.weights[0]!.read().dataSync()));
    c.weights[0]!.write(tf.zerosLike(c.weights[0]!.read()));
    expect(m.weights[0]!.read().dataSync().some((v) => v !== 0)).toBe(true);
  });
});
