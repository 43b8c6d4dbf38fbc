import * as tf from '@tensorflow/tfjs';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../../src/data/mnist.js';
import { loadKerasModel } from '../../src/model/keras/index.js';
import { loadModel } from '../../src/model/load.js';
import { useBackend } from '../helpers/backend.js';

/*
 * Keras files read in TypeScript against independent references: the tensorflowjs converter's own
 * output of the same model (loaded by stock tfjs), the BN-folded graph twin of the Xception, and
 * real MNIST accuracy.
 */

const FIXTURES = join(__dirname, '..', '..', '..', 'shared', 'fixtures', 'real-models');
const fixture = (p: string) => join(FIXTURES, p);

/** Stock tfjs reading a model.json and its shards by hand; `patch` rewrites the topology first. */
function stockArtifacts(jsonPath: string, patch?: (topology: any) => void) {
  const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as tf.io.ModelJSON;
  patch?.(json.modelTopology);
  const shards = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(jsonPath), p))));
  return {
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: new Uint8Array(Buffer.concat(shards)).buffer,
    format: json.format,
  };
}

/** Each manifest weight's bytes in the shard equal the loaded model's weight of that name. */
async function expectSameWeightBytes(model: tf.LayersModel, artifacts: ReturnType<typeof stockArtifacts>) {
  const byName = new Map(model.weights.map((w) => [w.originalName, w]));
  let offset = 0;
  for (const spec of artifacts.weightSpecs) {
    const bytes = spec.shape.reduce((a, b) => a * b, 1) * 4;
    const expected = new Uint8Array(artifacts.weightData, offset, bytes);
    offset += bytes;
    const w = byName.get(spec.name);
    expect(w, spec.name).toBeDefined();
    const got = new Uint8Array(((await w!.read().data()) as Float32Array).buffer);
    expect(Buffer.compare(Buffer.from(got), Buffer.from(expected)), spec.name).toBe(0);
  }
  expect(artifacts.weightSpecs.length).toBe(model.weights.length);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => a.sub(b).abs().max().dataSync()[0]!);
}

/** Accuracy on the first `n` MNIST test digits, scaled as the model's authors did. */
function mnistAccuracy(model: tf.LayersModel, scale: (x: tf.Tensor) => tf.Tensor, n = 10000): number {
  const test = loadMnist({ split: 'test', limit: n, normalize: false });
  let correct = 0;
  for (let start = 0; start < n; start += 1000) {
    const idx = Int32Array.from({ length: Math.min(1000, n - start) }, (_, i) => start + i);
    correct += tf.tidy(() => {
      const x = test.xsOf(idx);
      const pred = (model.predict(scale(x)) as tf.Tensor).argMax(-1);
      return pred.equal(tf.tensor1d(Array.from(idx, (i) => test.labels![i]!), 'int32')).sum().dataSync()[0]!;
    });
  }
  return correct / n;
}

beforeAll(async () => {
  await useBackend();
});

describe('Keras 2 HDF5 whole-model file vs the converter output of the same model', () => {
  it('tiny_mnist.h5 has the web_model weights byte for byte and the same outputs on real MNIST', async () => {
    const before = tf.memory().numTensors;
    const keras = await loadKerasModel(fixture('jsimluken-mnist/tiny_mnist.h5'));
    const artifacts = stockArtifacts(fixture('jsimluken-mnist/web_model/model.json'));
    const stock = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    await expectSameWeightBytes(keras, artifacts);
    expect(keras.countParams()).toBe(278410);

    const digits = loadMnist({ split: 'test', limit: 64, normalize: false });
    const x = tf.tidy(() => digits.xsOf(Int32Array.from({ length: 64 }, (_, i) => i)).sub(127.5).div(128));
    const [a, b] = [keras.predict(x) as tf.Tensor, stock.predict(x) as tf.Tensor];
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-6);
    // The digits are really recognised (not two equally wrong models).
    const acc = tf.tidy(() => a.argMax(-1).equal(tf.tensor1d(Array.from(digits.labels!.subarray(0, 64)), 'int32')).mean().dataSync()[0]!);
    expect(acc).toBeGreaterThan(0.9);
    tf.dispose([x, a, b]);
    keras.dispose();
    stock.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('Keras 3 .keras zip vs its converted layers model (batch_shape topology)', () => {
  const webModel = fixture('fashion-mnist-keras3/web_model_cnn');
  const jsonPath = join(webModel, 'model.json');

  it('stock tfjs refuses the Keras-3 topology as it is (the reason for the translation)', async () => {
    await expect(tf.loadLayersModel(tf.io.fromMemory(stockArtifacts(jsonPath)))).rejects.toThrow(/batchInputShape/);
  });

  it('loads through loadModel, matching stock tfjs with the repo\'s own batch_shape patch', async () => {
    const m = await loadModel(webModel, { command: 'test', accept: ['layers'] });
    expect(m.kind).toBe('layers');
    if (m.kind !== 'layers') return;
    // The fixture repo's own workaround: copy batch_shape to batchInputShape on the InputLayer.
    const patched = stockArtifacts(jsonPath, (topo) => {
      for (const l of topo.model_config.config.layers) if (l.config.batch_shape) l.config.batchInputShape = l.config.batch_shape;
    });
    const stock = await tf.loadLayersModel(tf.io.fromMemory(patched));
    await expectSameWeightBytes(m.model, patched);
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 3);
    const [a, b] = [m.model.predict(x) as tf.Tensor, stock.predict(x) as tf.Tensor];
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-6);
    tf.dispose([x, a, b]);
    m.model.dispose();
    stock.dispose();
  });

  it('the .keras file has the web model weights byte for byte and the same outputs', async () => {
    const before = tf.memory().numTensors;
    const keras = await loadKerasModel(fixture('fashion-mnist-keras3/Fashion_MNIST_CNN_model.keras'));
    const artifacts = stockArtifacts(jsonPath);
    await expectSameWeightBytes(keras, artifacts);
    expect(keras.countParams()).toBe(37610);
    const web = await loadModel(webModel, { command: 'test', accept: ['layers'] });
    if (web.kind !== 'layers') throw new Error('expected a layers model');
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 4);
    const [a, b] = [keras.predict(x) as tf.Tensor, web.model.predict(x) as tf.Tensor];
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-6);
    tf.dispose([x, a, b]);
    keras.dispose();
    web.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('Keras 3 files without a tfjs twin: real MNIST accuracy', () => {
  for (const file of ['mnist_model.keras', 'mnist_model.h5']) {
    it(`moonflower ${file} classifies MNIST (x/255) above 95%`, async () => {
      const m = await loadModel(fixture(`moonflower-mnist-keras3/${file}`), { command: 'test', accept: ['layers'] });
      if (m.kind !== 'layers') throw new Error('expected a layers model');
      expect(m.format).toBe(file.endsWith('.keras') ? 'keras-v3' : 'keras-h5');
      expect(m.model.countParams()).toBe(34826);
      const acc = mnistAccuracy(m.model, (x) => x.div(255), 5000);
      expect(acc).toBeGreaterThan(0.95);
      m.model.dispose();
    });
  }
});

describe('Keras 2.0.5 Xception with optimizer state vs its BN-folded graph twin', () => {
  it('matches human-emotion-graph on random [-1,1] inputs within 1e-4', async () => {
    const before = tf.memory().numTensors;
    const keras = await loadKerasModel(fixture('oarriaga-fer2013-xception-h5/fer2013_big_XCEPTION.54-0.66.hdf5'));
    expect(keras.countParams()).toBe(208871);
    const classes = keras.layers.map((l) => l.getClassName());
    expect(classes.filter((c) => c === 'SeparableConv2D')).toHaveLength(4);
    expect(classes.filter((c) => c === 'BatchNormalization')).toHaveLength(8);
    expect(classes.filter((c) => c === 'Add')).toHaveLength(2);
    const graph = await loadGraphModel(tf.io.fromMemory(stockArtifacts(fixture('human-emotion-graph/emotion.json'))));
    const x = tf.randomUniform([6, 64, 64, 1], -1, 1, 'float32', 5);
    const a = keras.predict(x) as tf.Tensor;
    const b = graph.predict(x) as tf.Tensor;
    expect(a.shape).toEqual([6, 7]);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-4);
    tf.dispose([x, a, b]);
    keras.dispose();
    graph.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
