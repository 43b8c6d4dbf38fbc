import * as tf from '@tensorflow/tfjs';
import { unzipSync, zipSync } from 'fflate';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKerasModel, translateKerasConfig, translateTopology } from '../../src/model/keras/index.js';
import { loadModel } from '../../src/model/load.js';
import { useBackend } from '../helpers/backend.js';

/*
 * Keras config translation on hand-written Keras 3 configs (checked against hand-computed
 * outputs), weights-only files with a separate topology, and bad files: one line naming the file,
 * no leaked tensors, inputs untouched.
 */

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(ROOT, '..', 'shared', 'fixtures', 'real-models');
const fixture = (p: string) => join(FIXTURES, p);
/** Keras-2 `save_weights` layout (root `layer_names`), written by h5py; values from `val` below. */
const WEIGHTS_ONLY = join(__dirname, 'fixtures', 'keras2-weights-only.h5');

const POLICY = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
const kt = (layer: string, shape: (number | null)[]) => ({
  class_name: '__keras_tensor__',
  config: { shape, dtype: 'float32', keras_history: [layer, 0, 0] },
});
const node = (...args: unknown[]) => ({ args, kwargs: {} });
const wrap = (class_name: string, config: object, extra: object = {}) => ({
  module: 'keras.layers',
  class_name,
  config: { trainable: true, dtype: POLICY, ...config },
  registered_name: null,
  ...extra,
});
const init = (class_name: string, config: object = {}) => ({ module: 'keras.initializers', class_name, config, registered_name: null });

/** A Keras 3 functional config as `model.get_config()` writes it: inp -> a, b -> add -> leaky -> concat(inp) -> identity -> out. */
function functionalConfig(extraLayers: object[] = []) {
  const dense = (name: string, units: number, activation: string, input: string, shape: number) =>
    wrap(
      'Dense',
      {
        name, units, activation, use_bias: true,
        kernel_initializer: init(name === 'a' ? 'OrthogonalInitializer' : 'LecunNormal', { seed: null }),
        bias_initializer: init('Zeros'),
        kernel_regularizer: { module: 'keras.regularizers', class_name: 'L2', config: { l2: 0.01 }, registered_name: null },
      },
      { build_config: { input_shape: [null, shape] }, name, inbound_nodes: [node(kt(input, [null, shape]))] },
    );
  return {
    module: 'keras.src.models.functional',
    class_name: 'Functional',
    config: {
      name: 'fn',
      trainable: true,
      layers: [
        wrap('InputLayer', { name: 'inp', batch_shape: [null, 3], sparse: false }, { name: 'inp', inbound_nodes: [] }),
        dense('a', 2, 'linear', 'inp', 3),
        dense('b', 2, 'relu', 'inp', 3),
        wrap('Add', { name: 'add' }, { name: 'add', inbound_nodes: [node([kt('a', [null, 2]), kt('b', [null, 2])])] }),
        wrap('LeakyReLU', { name: 'leaky', negative_slope: 0.2 }, { name: 'leaky', inbound_nodes: [node(kt('add', [null, 2]))] }),
        wrap('Concatenate', { name: 'cat', axis: -1 }, { name: 'cat', inbound_nodes: [node([kt('leaky', [null, 2]), kt('inp', [null, 3])])] }),
        wrap('Identity', { name: 'ident' }, { name: 'ident', inbound_nodes: [node(kt('cat', [null, 5]))] }),
        dense('out', 1, 'silu', 'ident', 5),
        ...extraLayers,
      ],
      input_layers: ['inp', 0, 0],
      output_layers: ['out', 0, 0],
    },
  };
}

/** Deterministic weight values, the same formula as the h5py script that wrote WEIGHTS_ONLY. */
function val(shape: number[], k: number, add = 0): number[] {
  const n = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, (_, i) => Math.fround((((i * 7 + k) % 11) / 10 - 0.5) + add));
}

/** x [n] times W [n, m] (row-major) plus b, by hand. */
const affine = (x: number[], w: number[], b: number[]) => b.map((bj, j) => x.reduce((s, xi, i) => s + xi * w[i * b.length + j]!, bj));

let tmp: string;
beforeAll(async () => {
  await useBackend();
  tmp = mkdtempSync(join(tmpdir(), 'tfjs-compress-keras-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('Keras 3 config translation', () => {
  it('turns a Keras 3 functional config into one tfjs builds, computing what the layers say', async () => {
    const config = functionalConfig();
    const original = JSON.stringify(config);
    const { modelConfig, unsupported } = translateKerasConfig(config);
    expect(JSON.stringify(config)).toBe(original); // input untouched
    expect(unsupported.size).toBe(0);
    const text = JSON.stringify(modelConfig);
    expect(text).not.toMatch(/batch_shape|registered_name|__keras_tensor__|DTypePolicy|"module"/);

    const model = await tf.models.modelFromJSON({ modelTopology: modelConfig } as unknown as tf.io.ModelJSON);
    expect(model.inputs[0]!.shape).toEqual([null, 3]);
    const [wa, ba, wb, bb, wo, bo] = [val([3, 2], 1), val([2], 2), val([3, 2], 3), val([2], 4), val([5, 1], 5), val([1], 6)];
    tf.tidy(() => {
      model.getLayer('a').setWeights([tf.tensor(wa, [3, 2]), tf.tensor(ba)]);
      model.getLayer('b').setWeights([tf.tensor(wb, [3, 2]), tf.tensor(bb)]);
      model.getLayer('out').setWeights([tf.tensor(wo, [5, 1]), tf.tensor(bo)]);
    });
    const x = [0.3, -1.2, 0.8];
    const a = affine(x, wa, ba);
    const b = affine(x, wb, bb).map((v) => Math.max(0, v));
    const leaky = a.map((v, i) => v + b[i]!).map((v) => (v > 0 ? v : 0.2 * v));
    const z = affine([...leaky, ...x], wo, bo)[0]!;
    const expected = z / (1 + Math.exp(-z)); // silu = swish
    const got = tf.tidy(() => (model.predict(tf.tensor2d([x])) as tf.Tensor).dataSync()[0]!);
    expect(Math.abs(got - expected)).toBeLessThan(1e-5);
    expect(model.getLayer('ident').getClassName()).toBe('Activation');
    model.dispose();
  });

  it('names every unsupported layer class in one message, through the loader', async () => {
    const config = functionalConfig([
      wrap('Foo', { name: 'f1' }, { name: 'f1', inbound_nodes: [node(kt('out', [null, 1]))] }),
      wrap('Foo', { name: 'f2' }, { name: 'f2', inbound_nodes: [node(kt('f1', [null, 1]))] }),
      wrap('Bar', { name: 'b1' }, { name: 'b1', inbound_nodes: [node(kt('f2', [null, 1]))] }),
    ]);
    expect([...translateKerasConfig(config).unsupported]).toEqual([['Foo', 2], ['Bar', 1]]);
    // Options tfjs would silently ignore are refused the same way.
    const leaky = functionalConfig([wrap('ReLU', { name: 'r', negative_slope: 0.1 }, { name: 'r', inbound_nodes: [node(kt('out', [null, 1]))] })]);
    expect([...translateKerasConfig(leaky).unsupported]).toEqual([['ReLU(negative_slope/threshold)', 1]]);
    // Keras 3's hard_sigmoid is not tfjs's (x/6 + 0.5 against 0.2x + 0.5).
    const hard = functionalConfig([wrap('Activation', { name: 'h', activation: 'hard_sigmoid' }, { name: 'h', inbound_nodes: [node(kt('out', [null, 1]))] })]);
    expect([...translateKerasConfig(hard).unsupported]).toEqual([['Activation(hard_sigmoid: Keras 3 computes x/6+0.5, tfjs 0.2x+0.5)', 1]]);
    // A .keras zip around it, with any Keras 3 weights file inside.
    const weights = unzipSync(new Uint8Array(readFileSync(fixture('moonflower-mnist-keras3/mnist_model.keras'))))['model.weights.h5']!;
    const file = join(tmp, 'custom.keras');
    writeFileSync(file, zipSync({ 'config.json': new TextEncoder().encode(JSON.stringify(config)), 'model.weights.h5': weights }));
    const before = tf.memory().numTensors;
    await expect(loadModel(file, { command: 'info', accept: ['layers'] })).rejects.toThrow(
      `${file}: unsupported Keras layer classes: Foo x2, Bar x1 (tfjs-layers 4.22 has no equivalent)`,
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('maps layer classes tfjs lacks onto stock equivalents that pass inputs through at inference', async () => {
    const { modelConfig } = translateKerasConfig({
      module: 'keras', class_name: 'Sequential',
      config: {
        name: 's',
        layers: [
          wrap('InputLayer', { name: 'in', batch_shape: [null, 4, 4, 3] }),
          wrap('RandomFlip', { name: 'flip', mode: 'horizontal', seed: null }),
          wrap('SpatialDropout2D', { name: 'sd', rate: 0.3, data_format: 'channels_last' }),
        ],
      },
    });
    const layers = (modelConfig.config as { layers: { class_name: string; config: Record<string, unknown> }[] }).layers;
    expect(layers.map((l) => l.class_name)).toEqual(['InputLayer', 'Activation', 'Dropout']);
    expect(layers[2]!.config.noise_shape).toEqual([null, 1, 1, null]);
    const model = await tf.models.modelFromJSON({ modelTopology: modelConfig } as unknown as tf.io.ModelJSON);
    const d = tf.tidy(() => {
      const x = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 1);
      return (model.predict(x) as tf.Tensor).sub(x).abs().max().dataSync()[0]!;
    });
    expect(d).toBe(0);
    model.dispose();
  });

  it('leaves Keras 2 topologies exactly as they are', () => {
    const topo = JSON.parse(readFileSync(fixture('jsimluken-mnist/web_model/model.json'), 'utf8')).modelTopology;
    expect(translateTopology(topo, 'model.json')).toBe(topo);
  });
});

describe('weights-only files with a separate topology (<topology.json>:<weights.h5>)', () => {
  /** The Keras 2 `model.to_json()` of the model WEIGHTS_ONLY holds: 4 -> Dense 3 relu -> BN -> Dense 2 softmax. */
  const topology = {
    class_name: 'Sequential',
    config: {
      name: 'seq',
      layers: [
        { class_name: 'InputLayer', config: { batch_input_shape: [null, 4], dtype: 'float32', name: 'input_1' } },
        { class_name: 'Dense', config: { name: 'hidden', units: 3, activation: 'relu', use_bias: true } },
        { class_name: 'BatchNormalization', config: { name: 'bn', axis: -1, epsilon: 0.001, momentum: 0.99 } },
        { class_name: 'Dense', config: { name: 'out', units: 2, activation: 'softmax', use_bias: true } },
      ],
    },
    keras_version: '2.15.0',
    backend: 'tensorflow',
  };

  it('loads a Keras 2 save_weights file and computes the hand-computed output', async () => {
    const topo = join(tmp, 'topology.json');
    writeFileSync(topo, JSON.stringify(topology));
    const before = tf.memory().numTensors;
    const m = await loadModel(`${topo}:${WEIGHTS_ONLY}`, { command: 'eval', accept: ['layers'] });
    if (m.kind !== 'layers') throw new Error('expected a layers model');
    expect(m.format).toBe('keras-h5');
    const x = [0.5, -0.25, 1.5, 0.1];
    const h = affine(x, val([4, 3], 1), val([3], 2)).map((v) => Math.max(0, v));
    const [gamma, beta, mean, variance] = [val([3], 3, 1), val([3], 4), val([3], 5), val([3], 6, 1)];
    const bn = h.map((v, i) => gamma[i]! * (v - mean[i]!) / Math.sqrt(variance[i]! + 0.001) + beta[i]!);
    const logits = affine(bn, val([3, 2], 7), val([2], 8));
    const e = logits.map((v) => Math.exp(v));
    const expected = e.map((v) => v / (e[0]! + e[1]!));
    const got = tf.tidy(() => Array.from((m.model.predict(tf.tensor2d([x])) as tf.Tensor).dataSync()));
    got.forEach((g, i) => expect(Math.abs(g - expected[i]!)).toBeLessThan(1e-6));
    m.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('loads a Keras 3 weights file with its config.json, like the .keras it came from', async () => {
    const entries = unzipSync(new Uint8Array(readFileSync(fixture('fashion-mnist-keras3/Fashion_MNIST_CNN_model.keras'))));
    writeFileSync(join(tmp, 'config.json'), entries['config.json']!);
    writeFileSync(join(tmp, 'model.weights.h5'), entries['model.weights.h5']!);
    const pair = await loadKerasModel(`${join(tmp, 'config.json')}:${join(tmp, 'model.weights.h5')}`);
    const whole = await loadKerasModel(fixture('fashion-mnist-keras3/Fashion_MNIST_CNN_model.keras'));
    const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 9);
    const diff = tf.tidy(() => (pair.predict(x) as tf.Tensor).sub(whole.predict(x) as tf.Tensor).abs().max().dataSync()[0]!);
    expect(diff).toBe(0);
    tf.dispose(x);
    pair.dispose();
    whole.dispose();
  });

  it('says how to pass a weights-only file given alone, and names the layer a wrong topology misses', async () => {
    await expect(loadModel(WEIGHTS_ONLY, { command: 'info', accept: ['layers'] })).rejects.toThrow(
      /keras2-weights-only\.h5: holds weights only .*'<model\.json or Keras config \.json>:/,
    );
    const broken = join(tmp, 'broken.json');
    writeFileSync(broken, '{"class_name": ');
    await expect(loadModel(`${broken}:${WEIGHTS_ONLY}`, { command: 'info', accept: ['layers'] })).rejects.toThrow(/broken\.json: not valid JSON/);
    const wrong = join(tmp, 'wrong.json');
    const t = structuredClone(topology);
    (t.config.layers[1]!.config as { units: number }).units = 5;
    writeFileSync(wrong, JSON.stringify(t));
    const before = tf.memory().numTensors;
    await expect(loadKerasModel(`${wrong}:${WEIGHTS_ONLY}`)).rejects.toThrow(
      /keras2-weights-only\.h5: layer 'hidden': weight 'kernel' has shape \[4,3\] in the file, the model expects \[4,5\]/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('nested models (a Sequential inside a functional model)', () => {
  const FIX = (f: string) => join(__dirname, 'fixtures', f);
  /** inp [3] -> inner(Dense d1 4 relu -> BN) -> Dense head1 3 relu -> Dense head2 2, by hand (values of the h5py script). */
  function expected(x: number[]): number[] {
    const h = affine(x, val([3, 4], 1), val([4], 2)).map((v) => Math.max(0, v));
    const [gamma, beta, mean, variance] = [val([4], 3, 1), val([4], 4), val([4], 5), val([4], 6, 1)];
    const bn = h.map((v, i) => gamma[i]! * (v - mean[i]!) / Math.sqrt(variance[i]! + 0.001) + beta[i]!);
    const h1 = affine(bn, val([4, 3], 7), val([3], 8)).map((v) => Math.max(0, v));
    return affine(h1, val([3, 2], 9), val([2], 10));
  }
  const keras3Config = {
    module: 'keras.src.models.functional', class_name: 'Functional',
    config: {
      name: 'outer', trainable: true,
      layers: [
        wrap('InputLayer', { name: 'inp', batch_shape: [null, 3] }, { name: 'inp', inbound_nodes: [] }),
        {
          module: 'keras', class_name: 'Sequential', registered_name: null, name: 'inner',
          config: {
            name: 'inner', trainable: true, dtype: POLICY,
            layers: [
              wrap('InputLayer', { name: 'inner_in', batch_shape: [null, 3] }),
              wrap('Dense', { name: 'd1', units: 4, activation: 'relu', use_bias: true }),
              wrap('BatchNormalization', { name: 'bn', axis: -1, epsilon: 0.001, momentum: 0.99, synchronized: false }),
            ],
          },
          build_config: { input_shape: [null, 3] },
          inbound_nodes: [node(kt('inp', [null, 3]))],
        },
        wrap('Dense', { name: 'head1', units: 3, activation: 'relu', use_bias: true }, { name: 'head1', inbound_nodes: [node(kt('inner', [null, 4]))] }),
        wrap('Dense', { name: 'head2', units: 2, activation: 'linear', use_bias: true }, { name: 'head2', inbound_nodes: [node(kt('head1', [null, 3]))] }),
      ],
      input_layers: [['inp', 0, 0]],
      output_layers: [['head2', 0, 0]],
    },
  };

  for (const kind of ['Keras 3 .keras', 'Keras 2 .h5']) {
    it(`${kind}: the nested model's weights (BN statistics included) land in the right layers`, async () => {
      let file = FIX('keras2-nested.h5');
      if (kind.startsWith('Keras 3')) {
        file = join(tmp, 'nested.keras');
        const weights = new Uint8Array(readFileSync(FIX('keras3-nested.weights.h5')));
        writeFileSync(file, zipSync({ 'config.json': new TextEncoder().encode(JSON.stringify(keras3Config)), 'model.weights.h5': weights }));
      }
      const before = tf.memory().numTensors;
      const model = await loadKerasModel(file);
      const x = [0.4, -0.9, 1.3];
      const got = tf.tidy(() => Array.from((model.predict(tf.tensor2d([x])) as tf.Tensor).dataSync()));
      expected(x).forEach((e, i) => expect(Math.abs(got[i]! - e)).toBeLessThan(1e-5));
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe('bad Keras files: one line naming the file, no leaks, inputs untouched', () => {
  function variants() {
    const h5 = readFileSync(fixture('jsimluken-mnist/tiny_mnist.h5'));
    const keras = readFileSync(fixture('fashion-mnist-keras3/Fashion_MNIST_CNN_model.keras'));
    const entries = unzipSync(new Uint8Array(keras));
    const files: Record<string, Uint8Array> = {
      'truncated.h5': h5.subarray(0, 300_000),
      // Cut inside the last dataset: the file opens, the weight read fails.
      'truncated-late.h5': h5.subarray(0, 1_100_000),
      'garbage.h5': Uint8Array.from([...h5.subarray(0, 8), ...Array.from({ length: 4000 }, (_, i) => (i * 37 + 11) % 256)]),
      'truncated.keras': keras.subarray(0, keras.length >> 1),
      'inner-truncated.keras': zipSync({ 'config.json': entries['config.json']!, 'model.weights.h5': entries['model.weights.h5']!.subarray(0, 100_000) }),
      'no-config.keras': zipSync({ 'model.weights.h5': entries['model.weights.h5']! }),
    };
    return Object.entries(files).map(([name, bytes]) => {
      const p = join(tmp, name);
      writeFileSync(p, bytes);
      return p;
    });
  }

  it('refuses truncated and corrupt .h5 and .keras files in one line', async () => {
    const before = tf.memory().numTensors;
    for (const file of variants()) {
      const bytes = readFileSync(file);
      const err = await loadModel(file, { command: 'info', accept: ['layers'] }).then(
        () => new Error('loaded'),
        (e: Error) => e,
      );
      expect(err.message, file).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(: model\\.weights\\.h5)?: (.*: )?(not a readable|no 'config\\.json'|cannot read)`));
      expect(err.message).not.toContain('\n');
      expect(err.message.length).toBeLessThan(400);
      expect(Buffer.compare(readFileSync(file), bytes)).toBe(0);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the CLI exits non-zero with that line, and a graph-only command refuses a Keras file', async () => {
    const file = join(tmp, 'cli-truncated.h5');
    writeFileSync(file, readFileSync(fixture('jsimluken-mnist/tiny_mnist.h5')).subarray(0, 300_000));
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), '--quiet', 'info', file], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`${file}: not a readable HDF5 file`);
    await expect(loadModel(fixture('jsimluken-mnist/tiny_mnist.h5'), { command: 'bench', accept: ['onnx'] })).rejects.toThrow(
      /bench takes \.onnx files; '.*tiny_mnist\.h5' is a Keras HDF5 file$/,
    );
  });
});
