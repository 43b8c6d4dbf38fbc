import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../../src/data/mnist.js';
import { createCollector, decodeModel, exportOnnxStaticInt8 } from '../../src/export/index.js';
import { buildZooModel } from '../../src/model/zoo.js';
import { train } from '../../src/train/index.js';
import { useBackend } from '../helpers/backend.js';
import { REAL_MODELS } from '../helpers/fixtures.js';
import { loadLayersModel } from '../../src/model/load.js';
import { inputScaling, scaleInputs } from '../../src/data/transform.js';
import { runExportCli } from './cli-helpers.js';
import { onnxCheck } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'onnx-int8-static-'));

beforeAll(async () => {
  await useBackend();
});

/** Labelled MNIST samples: inputs in the model's shape, labels as numbers. */
function mnist(split: 'train' | 'test', limit: number, shape: number[] = [28, 28, 1], skip = 0) {
  const ds = loadMnist({ split, limit: limit + skip });
  const sel = ds.select(Array.from({ length: limit }, (_, i) => skip + i));
  return { xs: [tf.tensor(sel.x, [limit, ...shape])], labels: Array.from(sel.labels!) };
}

/** Top-1 accuracy of an ONNX file in onnxruntime-node at full optimization. */
async function onnxAccuracy(bytes: Uint8Array, s: { xs: tf.Tensor[]; labels: number[] }): Promise<number> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  const x = s.xs[0]!;
  const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', Float32Array.from(x.dataSync()), x.shape) });
  const y = out[session.outputNames[0]!]!.data as Float32Array;
  const k = y.length / s.labels.length;
  let ok = 0;
  s.labels.forEach((l, i) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (y[i * k + j]! > y[i * k + best]!) best = j;
    if (best === l) ok++;
  });
  await session.release();
  return ok / s.labels.length;
}

describe('calibrators (onnxruntime calibrate.py semantics), hand-computed cases', () => {
  it('minmax: the smallest and largest value over all batches', () => {
    const c = createCollector('minmax');
    c.collect(Float32Array.of(0.5, -2, 3));
    c.collect(Float32Array.of(7, 1));
    expect(c.range()).toEqual([-2, 7]);
  });

  it('percentile: the bin edge where the cumulative share of |x| reaches the percentile, clipped to the data', () => {
    // |x| uniform on 0..99999: the 90th percentile is 90000, found to within one of 2048 bins.
    const v = Float32Array.from({ length: 100000 }, (_, i) => (i % 2 ? i : -i));
    const c = createCollector('percentile', { percentile: 90 });
    c.collect(v);
    const [lo, hi] = c.range();
    const width = 99999 / 2048;
    expect(Math.abs(hi - 90000)).toBeLessThanOrEqual(width);
    expect(lo).toBe(-hi);
    // Non-negative data: the symmetric range is clipped at the real minimum, 0.
    const r = createCollector('percentile', { percentile: 90 });
    r.collect(Float32Array.from({ length: 100000 }, (_, i) => i));
    expect(r.range()[0]).toBe(0);
  });

  it('entropy: an outlier far outside the bulk is clipped away, the bulk kept', () => {
    // 20000 values in [-1, 1] and one at 50: minmax would spend 98% of the grid on nothing.
    const v = Float32Array.from({ length: 20001 }, (_, i) => (i === 20000 ? 50 : Math.sin(i * 12.9898) * 1));
    const e = createCollector('entropy');
    e.collect(v.subarray(0, 10000));
    e.collect(v.subarray(10000));
    const [lo, hi] = e.range();
    expect(hi).toBeLessThan(10);
    expect(hi).toBeGreaterThan(0.9);
    expect(lo).toBeLessThan(-0.9);
    expect(() => createCollector('kl' as 'entropy')).toThrow(/unknown calibrator 'kl': expected one of minmax, percentile, entropy/);
  });
});

describe('static int8 QDQ export', () => {
  it('one Dense layer: onnxruntime integer output equals the QDQ definition computed by hand', async () => {
    const input = tf.input({ shape: [3] });
    const dense = tf.layers.dense({ units: 2, name: 'd' });
    const model = tf.model({ inputs: input, outputs: dense.apply(input) as tf.SymbolicTensor });
    const W = [0.5, -1, 0.25, 0.75, -0.125, 2]; // [3, 2], row-major (in, out)
    const B = [0.1, -0.3];
    dense.setWeights([tf.tensor(W, [3, 2]), tf.tensor(B)]);
    const calib = tf.tensor([[0, 1, 2], [-1, 0.5, 3], [2, -0.5, 1]]);
    const { bytes, report } = await exportOnnxStaticInt8(model, { calibration: [calib], perChannel: true });
    expect(report.runtimeOpCounts.QGemm).toBe(1);
    // By hand: x range [-1, 3] -> uint8 scale 4/255, zp round(255/4) = 64; weights symmetric per output column.
    const f = Math.fround;
    const sx = f(4 / 255);
    const zx = Math.round(0 - -1 / sx);
    const sw = [0, 1].map((c) => f(Math.max(...[0, 1, 2].map((r) => Math.abs(W[r * 2 + c]!))) / 127));
    const qw = W.map((w, i) => Math.round(w / sw[i % 2]!));
    const qb = B.map((b, c) => Math.round(b / f(sx * sw[c]!)));
    const xs = [[0, 1, 2], [-1, 0.5, 3], [2, -0.5, 1]];
    const yFloat = xs.map((x) => [0, 1].map((c) => x.reduce((s, v, r) => s + v * W[r * 2 + c]!, 0) + B[c]!));
    const all = yFloat.flat();
    const [ylo, yhi] = [Math.min(0, ...all), Math.max(0, ...all)];
    const sy = f((yhi - ylo) / 255);
    const zy = Math.round(0 - ylo / sy);
    const expected = xs.flatMap((x) =>
      [0, 1].map((c) => {
        const qx = x.map((v) => Math.max(0, Math.min(255, Math.round(v / sx) + zx)));
        const acc = qx.reduce((s, q, r) => s + (q - zx) * qw[r * 2 + c]!, 0) + qb[c]!;
        const y = acc * sx * sw[c]!;
        return (Math.max(0, Math.min(255, Math.round(y / sy) + zy)) - zy) * sy;
      }),
    );
    const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
    const out = (await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', Float32Array.from(xs.flat()), [3, 3]) }))[s.outputNames[0]!]!.data as Float32Array;
    await s.release();
    // Integer requantization may round the last step the other way: at most one output step apart.
    out.forEach((v, i) => expect(Math.abs(v - expected[i]!), `element ${i}`).toBeLessThanOrEqual(sy * 1.001));
    calib.dispose();
    model.dispose();
  });

  it('refuses what it cannot calibrate in one line, leaking no tensors', async () => {
    const model = buildZooModel('tfmot-cnn', { seed: 1 });
    const x = tf.zeros([4, 28, 28, 1]);
    const ids0 = tf.zeros([2, 5], 'int32');
    const ids = tf.input({ shape: [5], dtype: 'int32' });
    const emb = tf.model({ inputs: ids, outputs: tf.layers.embedding({ inputDim: 10, outputDim: 3 }).apply(ids) as tf.SymbolicTensor });
    const before = tf.memory().numTensors;
    await expect(exportOnnxStaticInt8(model, { calibration: [] })).rejects.toThrow(/calibration needs at least one sample per model input/);
    await expect(exportOnnxStaticInt8(model, { calibration: [x, x] })).rejects.toThrow(/model has 1 inputs, calibration has 2 tensors/);
    await expect(exportOnnxStaticInt8(model, { calibration: [x], maxAccuracyDrop: -1 })).rejects.toThrow(/maxAccuracyDrop must be >= 0/);
    await expect(exportOnnxStaticInt8(emb, { calibration: [ids0] })).rejects.toThrow(/input '.*' is int32; only float32 inputs can be calibrated/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, ids0]);
    emb.dispose();
    model.dispose();
  });

  it('trained conv net on real MNIST: integer kernels, ONNX checker ok, accuracy within 1 pp, inputs untouched', async () => {
    const model = buildZooModel('tfmot-cnn', { seed: 3 });
    await train(model, loadMnist({ split: 'train', limit: 3000 }), { epochs: 1, batchSize: 64 });
    const cal = mnist('train', 256);
    const val = mnist('train', 500, undefined, 256);
    const test = mnist('test', 1000);
    const before = tf.memory().numTensors;
    const { bytes, floatBytes, report } = await exportOnnxStaticInt8(model, { calibration: cal.xs, perChannel: true, calibrator: 'percentile', validation: val, test });
    expect(tf.memory().numTensors).toBe(before);
    // onnxruntime ran it on integer kernels: no float Conv or Gemm left in its optimized graph.
    expect(report.runtimeOpCounts.QLinearConv).toBe(1);
    expect(report.runtimeOpCounts.QGemm).toBe(1);
    expect(report.runtimeOpCounts.Conv ?? 0).toBe(0);
    expect(report.foldedActivations).toEqual(['conv/relu']);
    const f = join(dir, 'tfmot-s8.onnx');
    writeFileSync(f, bytes);
    const check = onnxCheck([f]);
    expect(check.status, check.out).toBe(0);
    // Accuracy measured here, independently of the report: both models in onnxruntime on 1000 test images.
    const [fa, qa] = [await onnxAccuracy(floatBytes, test), await onnxAccuracy(bytes, test)];
    expect(fa).toBeGreaterThan(0.7);
    expect(fa - qa).toBeLessThanOrEqual(0.01);
    expect(report.test!.int8Accuracy).toBeCloseTo(qa, 10);
    expect(bytes.length).toBeLessThan(floatBytes.length / 3);
    expect(report.kernelCheck.agreement).toBeGreaterThanOrEqual(0.95);
    [...cal.xs, ...val.xs, ...test.xs].forEach((t) => t.dispose());
    model.dispose();
  }, 120_000);

  it('mobilenet-mini: batch norms folded into the convs, relu6 folded, every conv and the pooling integer', async () => {
    const model = buildZooModel('mobilenet-mini', { seed: 2 });
    const cal = mnist('train', 64);
    const { bytes, report } = await exportOnnxStaticInt8(model, { calibration: cal.xs, perChannel: true });
    expect(report.foldedBatchNorms).toHaveLength(4);
    expect(report.foldedActivations).toHaveLength(4);
    expect(report.runtimeOpCounts.QLinearConv).toBe(5);
    expect(report.runtimeOpCounts.QLinearGlobalAveragePool).toBe(1);
    const ops = decodeModel(bytes).nodes.map((n) => n.opType);
    expect(ops).not.toContain('BatchNormalization');
    expect(ops).not.toContain('Clip');
    const f = join(dir, 'mobilenet-s8.onnx');
    writeFileSync(f, bytes);
    expect(onnxCheck([f]).status).toBe(0);
    cal.xs[0]!.dispose();
    model.dispose();
  }, 60_000);

  it('real BN conv net (jsimluken-mnist, BN after ReLU): pools moved before the batch norms, the last one folded into the Gemm', async () => {
    const { model } = await loadLayersModel(join(REAL_MODELS, 'jsimluken-mnist', 'web_model'), { command: 'test' });
    // SOURCE.md: input (x - 127.5) / 128.
    const s = inputScaling({ scale: 0.0078125, offset: -0.99609375 });
    const labelled = (split: 'train' | 'test', n: number) => {
      const ds = scaleInputs(loadMnist({ split, limit: n }), s);
      return { xs: [tf.tensor(ds.x, [n, 28, 28, 1])], labels: Array.from(ds.labels!) };
    };
    const cal = labelled('train', 128);
    const test = labelled('test', 500);
    const { bytes, floatBytes, report } = await exportOnnxStaticInt8(model, { calibration: cal.xs, perChannel: true, test });
    expect(report.movedBatchNorms).toHaveLength(3);
    expect(report.foldedBatchNorms).toHaveLength(1);
    expect(report.runtimeOpCounts.QLinearConv).toBe(3);
    expect(report.runtimeOpCounts.QGemm).toBe(1);
    expect(report.runtimeOpCounts.MaxPool ?? 0).toBe(0);
    const [fa, qa] = [await onnxAccuracy(floatBytes, test), await onnxAccuracy(bytes, test)];
    expect(fa).toBeGreaterThan(0.95);
    expect(fa - qa).toBeLessThanOrEqual(0.01);
    const f = join(dir, 'jsimluken-s8.onnx');
    writeFileSync(f, bytes);
    expect(onnxCheck([f]).status).toBe(0);
    [...cal.xs, ...test.xs].forEach((t) => t.dispose());
    model.dispose();
  }, 120_000);

  it('sensitivity pass keeps float the layer whose int8 form loses accuracy', async () => {
    // An MLP whose first kernel has one huge weight on the top-left pixel, which is 0 in every MNIST
    // image: the float model ignores it, but a per-tensor int8 scale sized for it rounds every other
    // weight of that layer to 0.
    const model = buildZooModel('lenet300', { seed: 4 });
    await train(model, loadMnist({ split: 'train', limit: 3000 }), { epochs: 1, batchSize: 64 });
    const layer = model.getLayer('dense_1');
    const [k, b] = layer.getWeights();
    const kd = k!.dataSync().slice();
    kd[0] = 1e4;
    layer.setWeights([tf.tensor(kd, k!.shape), b!]);
    const cal = mnist('train', 256, [28, 28, 1]);
    const val = mnist('train', 500, [28, 28, 1], 256);
    const test = mnist('test', 500, [28, 28, 1]);
    const { report } = await exportOnnxStaticInt8(model, { calibration: cal.xs, validation: val, test, maxAccuracyDrop: 1 });
    expect(report.floatNodes.map((n) => n.name)).toEqual(['dense_1/gemm']);
    expect(report.sensitivity!.steps[0]!.accuracy).toBeLessThan(0.5);
    expect(report.sensitivity!.floatAccuracy - report.sensitivity!.quantizedAccuracy).toBeLessThanOrEqual(0.01);
    expect(report.test!.floatAccuracy - report.test!.int8Accuracy).toBeLessThanOrEqual(0.02);
    [...cal.xs, ...val.xs, ...test.xs].forEach((t) => t.dispose());
    model.dispose();
  }, 120_000);

  it('CLI: --quantize int8-static calibrates on the training split and reports test accuracy; flag misuse is refused', async () => {
    const out = join(dir, 'cli-s8.onnx');
    const text = await runExportCli([
      '--model', 'zoo:tfmot-cnn', '--format', 'onnx', '--quantize', 'int8-static', '--calibration', 'mnist',
      '--calibration-samples', '64', '--calibrator', 'entropy', '--per-channel', '--test-samples', '200', '--out', out,
    ]);
    expect(text).toMatch(/static int8 \(QDQ: uint8 activations per tensor, int8 weights per channel\), entropy calibration on 64 training samples of mnist/);
    expect(text).toMatch(/QLinearConv x1/);
    expect(text).toMatch(/accuracy \(onnxruntime-node, 200 test images of mnist\): float32 \S+% -> static int8 \S+%/);
    expect(onnxCheck([out]).status).toBe(0);
    // --keep-float: the conv stays float (no QLinearConv), the dense layer is still integer.
    const kept = await runExportCli([
      '--model', 'zoo:tfmot-cnn', '--format', 'onnx', '--quantize', 'int8-static', '--calibration', 'mnist',
      '--calibration-samples', '32', '--keep-float', 'conv', '--test-samples', '100', '--out', join(dir, 'cli-keep.onnx'),
    ]);
    expect(kept).toMatch(/integer kernels \(ORT_ENABLE_ALL\): QGemm x1;/);
    expect(kept).toMatch(/kept float: conv \(/);
    await expect(
      runExportCli(['--model', 'zoo:tfmot-cnn', '--format', 'onnx', '--quantize', 'int8-static', '--calibration', 'mnist', '--keep-float', 'convv', '--out', join(dir, 'x.onnx')]),
    ).rejects.toThrow(/keepFloat: 'convv' names no quantizable layer or node; quantizable: conv, logits/);
    await expect(runExportCli(['--model', 'zoo:mlp', '--format', 'onnx', '--quantize', 'int8-static', '--out', join(dir, 'x.onnx')])).rejects.toThrow(
      /--quantize int8-static needs --calibration <data>/,
    );
    await expect(runExportCli(['--model', 'zoo:mlp', '--format', 'onnx', '--calibration', 'mnist', '--out', join(dir, 'x.onnx')])).rejects.toThrow(
      /--calibration only applies to --format onnx --quantize int8-static/,
    );
    await expect(
      runExportCli(['--model', 'zoo:mlp', '--format', 'onnx', '--quantize', 'int8-static', '--calibration', 'mnist', '--calibrator', 'kl', '--out', join(dir, 'x.onnx')]),
    ).rejects.toThrow(/unknown --calibrator 'kl': expected one of minmax, percentile, entropy/);
  }, 120_000);
});
