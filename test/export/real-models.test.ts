import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { loadMnist } from '../../src/data/mnist.js';
import { exportOnnx, exportTfjs, saveOnnx } from '../../src/export/index.js';
import { loadLayersModel } from '../../src/model/load.js';
import { useBackend } from '../helpers/backend.js';
import { disposeModel, loadWithStockTfjs, maxAbsDiff, onnxCheck } from './helpers.js';
import { REAL_MODELS } from '../helpers/fixtures.js';

/*
 * The layers models Keras (and tfjs) really write, from ../shared/fixtures/real-models (read in
 * place, never written): each exports to ONNX with onnxruntime-node parity on inputs scaled as its
 * SOURCE.md says, and to tfjs files that stock tf.loadLayersModel reloads with identical outputs.
 * 224x224 models run on 2 samples to keep the file fast.
 */

const FIXTURES = REAL_MODELS;
const dir = mkdtempSync(join(tmpdir(), 'export-real-'));
const written: string[] = [];
/** Per-fixture parity figures, printed at the end for the record. */
const figures: string[] = [];

const mnist = (n: number, scale: (t: tf.Tensor) => tf.Tensor) => [tf.tidy(() => scale(loadMnist({ split: 'test', limit: n }).toTensors().xs))];
const uniform = (shape: number[], lo: number, hi: number, seed: number) => tf.randomUniform(shape, lo, hi, 'float32', seed);

interface Fixture {
  path: string;
  /** Parity inputs, in the model's own input scaling. */
  inputs: () => tf.Tensor[];
  tolerance?: number;
  nchw?: boolean;
}

const fixtures: Record<string, Fixture> = {
  'nsfwjs-mobilenet-v2 (DepthwiseConv2D, BN, ReLU6, Add; uint8 manifest; x/255)': {
    path: 'nsfwjs-mobilenet-v2',
    inputs: () => [uniform([2, 224, 224, 3], 0, 1, 1)],
  },
  'tm-nail-biting-mobilenet (Sequential in Sequential in functional MobileNetV2; x/127-1)': {
    path: 'tm-nail-biting-mobilenet',
    inputs: () => [uniform([2, 224, 224, 3], -1, 1.008, 2)],
    nchw: true,
  },
  'jsimluken-mnist/web_model (BatchNormalization axis [3]; real MNIST, (x-127.5)/128)': {
    path: 'jsimluken-mnist/web_model',
    inputs: () => mnist(64, (x) => x.mul(255).sub(127.5).div(128)),
    nchw: true,
  },
  'jsimluken-mnist/tiny_mnist.h5 (the same network from Keras HDF5)': {
    path: 'jsimluken-mnist/tiny_mnist.h5',
    inputs: () => mnist(64, (x) => x.mul(255).sub(127.5).div(128)),
  },
  'fashion-mnist-keras3/web_model_cnn (Keras 3 batch_shape; real Fashion-MNIST, x/255)': {
    path: 'fashion-mnist-keras3/web_model_cnn',
    inputs: () => [tf.tidy(() => loadFashionMnist({ split: 'test', limit: 64 }).toTensors().xs)],
    nchw: true,
  },
  'fashion-mnist-keras3/Fashion_MNIST_CNN_model.keras (Keras 3 zip)': {
    path: 'fashion-mnist-keras3/Fashion_MNIST_CNN_model.keras',
    inputs: () => [tf.tidy(() => loadFashionMnist({ split: 'test', limit: 64 }).toTensors().xs)],
  },
  'moonflower-mnist-keras3/mnist_model.keras (Keras 3 zip; x/255)': {
    path: 'moonflower-mnist-keras3/mnist_model.keras',
    inputs: () => mnist(64, (x) => x),
  },
  'moonflower-mnist-keras3/mnist_model.h5 (HDF5 written by Keras 3)': {
    path: 'moonflower-mnist-keras3/mnist_model.h5',
    inputs: () => mnist(64, (x) => x),
  },
  'oarriaga-fer2013-xception-h5 (SeparableConv2D, BN, residual Add; (x/255-0.5)*2)': {
    path: 'oarriaga-fer2013-xception-h5/fer2013_big_XCEPTION.54-0.66.hdf5',
    inputs: () => [uniform([4, 64, 64, 1], -1, 1, 3)],
    nchw: true,
  },
  'tensorspace-acgan-generator (noise + Embedding label, Multiply, UpSampling2D, 7 outputs)': {
    path: 'tensorspace-acgan-generator',
    inputs: () => [tf.randomNormal([4, 100], 0, 1, 'float32', 4), tf.tensor2d([[0], [3], [7], [9]], [4, 1], 'int32')],
    nchw: true,
  },
  'reiinakano-lstm-textgen (LSTM hard_sigmoid; one-hot text)': {
    path: 'reiinakano-lstm-textgen',
    inputs: () => [oneHotText(['that which does not kill us makes us str', 'the free spirit, who has become free, an'])],
  },
  'tfjs-e2e-embedding-gru (Embedding + GRU go_backwards; token ids)': {
    path: 'tfjs-e2e-embedding-gru',
    inputs: () => [tf.tensor2d([[86, 11, 62, 40, 36, 75, 82, 94, 67, 75], [0, 1, 2, 3, 4, 5, 6, 7, 8, 99]])],
  },
};

/** The textgen model's vocabulary (indices_char.js): '\n', ' ', punctuation, digits, symbols, a-z, then 4 accented letters. */
const VOCAB = ['\n', ' ', ...'!"\'(),-.', ...'0123456789', ...':;=?[]_', ...'abcdefghijklmnopqrstuvwxyz', ...'äæéë'];

function oneHotText(lines: string[]): tf.Tensor {
  const data = new Float32Array(lines.length * 40 * VOCAB.length);
  lines.forEach((s, b) => [...s.padStart(40)].slice(-40).forEach((ch, t) => (data[(b * 40 + t) * VOCAB.length + VOCAB.indexOf(ch)] = 1)));
  return tf.tensor3d(data, [lines.length, 40, VOCAB.length]);
}

/** tfjs outputs of a model as flat arrays (one per output). */
function predictAll(model: tf.LayersModel, xs: tf.Tensor[]): Float32Array[] {
  return tf.tidy(() => {
    const out = model.predict(xs.length === 1 ? xs[0]! : xs);
    return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync() as Float32Array);
  });
}

/** Run an ONNX file in onnxruntime-node directly (not through the exporter's runner): inputs in graph order, outputs in graph order. */
async function runOrt(file: string, inputs: ort.Tensor[]): Promise<ort.Tensor[]> {
  const session = await ort.InferenceSession.create(readFileSync(file));
  try {
    const out = await session.run(Object.fromEntries(session.inputNames.map((n, i) => [n, inputs[i]!])));
    return session.outputNames.map((n) => out[n]!);
  } finally {
    await session.release();
  }
}

beforeAll(async () => {
  await useBackend();
});

describe('export of real Keras/tfjs layers models: ONNX (onnxruntime parity) and tfjs (stock reload)', () => {
  for (const [name, f] of Object.entries(fixtures)) {
    it(name, async () => {
      const { model } = await loadLayersModel(join(FIXTURES, f.path), { command: 'export' });
      const xs = f.inputs();
      const before = tf.memory().numTensors;
      try {
        for (const nchw of f.nchw ? [false, true] : [false]) {
          const { bytes, report } = await exportOnnx(model, { nchw, verify: { inputs: xs, tolerance: f.tolerance ?? 1e-4 } });
          const v = report.verify!;
          expect(v.maxAbsDiff).toBeLessThanOrEqual(f.tolerance ?? 1e-4);
          expect(v.maxAbsDiffPerOutput).toHaveLength(model.outputs.length);
          expect(v.samples).toBe(xs[0]!.shape[0]);
          figures.push(`${f.path}${nchw ? ' --nchw' : ''}: ONNX ${report.nodes} nodes, ${report.bytes} B, max|ort - tfjs| ${v.maxAbsDiff.toExponential(2)} on ${v.samples}`);
          const file = join(dir, `${f.path.replace(/\W/g, '_')}${nchw ? '_nchw' : ''}.onnx`);
          writeFileSync(file, bytes);
          written.push(file);
        }
        const out = join(dir, `${f.path.replace(/\W/g, '_')}_tfjs`);
        const r = await exportTfjs(model, out);
        expect(r.weights).toBe(model.weights.length);
        const reloaded = await loadWithStockTfjs(out);
        const a = predictAll(model, xs);
        const b = predictAll(reloaded, xs);
        disposeModel(reloaded);
        expect(b).toHaveLength(a.length);
        a.forEach((o, i) => expect(maxAbsDiff(o, b[i]!)).toBe(0));
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        xs.forEach((x) => x.dispose());
        disposeModel(model);
      }
    }, 60_000);
  }

  it('nsfwjs (a uint8 manifest) re-exported as uint8 keeps every weight on its grid, all-positive BN tensors included', async () => {
    const src = await loadWithStockTfjs(join(FIXTURES, 'nsfwjs-mobilenet-v2'));
    const out = join(dir, 'nsfwjs_uint8');
    const r = await exportTfjs(src, out, { quantize: 'uint8' });
    expect(r.quantizedWeights).toBe(266);
    const again = await loadWithStockTfjs(out);
    let worst = 0;
    src.weights.forEach((w, i) => {
      const a = w.read().dataSync();
      const b = again.weights[i]!.read().dataSync();
      let span = 0;
      for (const v of a) span = Math.max(span, Math.abs(v));
      worst = Math.max(worst, maxAbsDiff(a, b) / (span || 1));
    });
    // Relative to each tensor's magnitude: float32 rounding only, not a second uint8 rounding (>= 1e-3).
    expect(worst).toBeLessThan(1e-5);
    figures.push(`nsfwjs uint8 -> uint8 re-export: ${r.totalBytes} B (source 2,748,406 B), worst relative weight change ${worst.toExponential(2)}`);
    disposeModel(src);
    disposeModel(again);
  });

  it('jsimluken ONNX (NHWC and NCHW) classifies real MNIST like tfjs, run in onnxruntime directly', async () => {
    const { model } = await loadLayersModel(join(FIXTURES, 'jsimluken-mnist/web_model'), { command: 'export' });
    const ds = loadMnist({ split: 'test', limit: 500 });
    const x = tf.tidy(() => ds.toTensors().xs.mul(255).sub(127.5).div(128));
    try {
      const tfjsPred = tf.tidy(() => (model.predict(x) as tf.Tensor).argMax(-1).dataSync());
      const xData = x.dataSync() as Float32Array;
      const nchwData = tf.tidy(() => x.transpose([0, 3, 1, 2]).dataSync() as Float32Array);
      for (const [file, data, shape] of [
        [join(dir, 'jsimluken_mnist_web_model.onnx'), xData, [500, 28, 28, 1]],
        [join(dir, 'jsimluken_mnist_web_model_nchw.onnx'), nchwData, [500, 1, 28, 28]],
      ] as const) {
        const [out] = await runOrt(file, [new ort.Tensor('float32', data, [...shape])]);
        const probs = out!.data as Float32Array;
        let agree = 0;
        let correct = 0;
        for (let i = 0; i < 500; i++) {
          const row = Array.from(probs.subarray(i * 10, i * 10 + 10));
          const arg = row.indexOf(Math.max(...row));
          if (arg === tfjsPred[i]) agree++;
          if (arg === ds.labels![i]) correct++;
        }
        expect(agree).toBe(500);
        figures.push(`jsimluken ${shape[1] === 1 ? 'NCHW' : 'NHWC'} ONNX accuracy on 500 real MNIST test images: ${((correct / 500) * 100).toFixed(1)}%`);
        expect(correct / 500).toBeGreaterThan(0.97);
      }
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  it('tfjs-e2e GRU ONNX reproduces the tfjs repository golden vector in onnxruntime', async () => {
    const ids = Float32Array.from([86, 11, 62, 40, 36, 75, 82, 94, 67, 75]);
    const [out] = await runOrt(join(dir, 'tfjs_e2e_embedding_gru.onnx'), [new ort.Tensor('float32', ids, [1, 10])]);
    const got = out!.data as Float32Array;
    // e2e/integration_tests/load_predict_test.ts in tensorflow/tfjs.
    const golden = [-0.003578941337764263, 0.0028922036290168762, -0.002957976423203945, 0.00955402385443449];
    expect(maxAbsDiff(got, golden)).toBeLessThan(1e-7);
  });

  it('ACGAN ONNX: all 7 outputs in onnxruntime match tfjs on the cpu backend', async () => {
    const file = join(dir, 'tensorspace_acgan_generator.onnx');
    const prev = tf.getBackend();
    await tf.setBackend('cpu');
    const noise = tf.randomNormal([3, 100], 0, 1, 'float32', 9);
    const label = tf.tensor2d([[1], [5], [8]], [3, 1], 'int32');
    const { model } = await loadLayersModel(join(FIXTURES, 'tensorspace-acgan-generator'), { command: 'export' });
    try {
      const want = predictAll(model, [noise, label]);
      const out = await runOrt(file, [new ort.Tensor('float32', noise.dataSync() as Float32Array, [3, 100]), new ort.Tensor('int32', label.dataSync() as Int32Array, [3, 1])]);
      expect(out).toHaveLength(7);
      out.forEach((o, i) => expect(maxAbsDiff(o.data as Float32Array, want[i]!), `output ${i}`).toBeLessThan(1e-4));
      // The image output: [3, 28, 28, 1].
      expect(out[6]!.dims).toEqual([3, 28, 28, 1]);
    } finally {
      model.dispose();
      noise.dispose();
      label.dispose();
      await tf.setBackend(prev);
    }
  });

  it('a parity failure writes nothing and leaks nothing', async () => {
    const { model } = await loadLayersModel(join(FIXTURES, 'tfjs-e2e-embedding-gru'), { command: 'export' });
    const xs = fixtures['tfjs-e2e-embedding-gru (Embedding + GRU go_backwards; token ids)']!.inputs();
    const before = tf.memory().numTensors;
    const file = join(dir, 'never.onnx');
    // float32 rounding alone differs by ~1e-9 here: a 1e-12 tolerance must fail, naming the model.
    await expect(saveOnnx(model, file, { verify: { inputs: xs, tolerance: 1e-12 } })).rejects.toThrow(/ONNX export of 'sequential_5' failed verification: max \|onnxruntime - tfjs\| = \S+ > tolerance 1e-12/);
    expect(existsSync(file)).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
    xs.forEach((x) => x.dispose());
    model.dispose();
  });

  it('every exported file passes onnx_check.py', () => {
    const r = onnxCheck(written);
    expect(r.status, r.out).toBe(0);
    expect(written.length).toBe(Object.values(fixtures).reduce((n, f) => n + (f.nchw ? 2 : 1), 0));
    console.log(figures.join('\n'));
  });
});
