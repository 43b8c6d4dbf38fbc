import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../../src/data/mnist.js';
import { convertToOnnx, exportOnnx, registerOnnxConverter, saveOnnx, supportedOnnxLayers } from '../../src/export/index.js';
import { buildZooModel, zooNames } from '../../src/model/zoo.js';
import { useBackend } from '../helpers/backend.js';
import { onnxCheck } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'onnx-zoo-'));
const written: string[] = [];
let xs: tf.Tensor;

beforeAll(async () => {
  await useBackend();
  xs = loadMnist({ split: 'test', limit: 16 }).toTensors().xs;
});

function keep(bytes: Uint8Array, name: string): void {
  const f = join(dir, `${name}.onnx`);
  writeFileSync(f, bytes);
  written.push(f);
}

/** Per-channel (last axis) symmetric int8 step of a tfjs kernel, computed independently of the exporter. */
function channelScales(w: Float32Array, shape: number[]): Float32Array {
  const c = shape.at(-1)!;
  const m = new Float32Array(c);
  w.forEach((v, i) => (m[i % c] = Math.max(m[i % c]!, Math.abs(v))));
  return m.map((x) => x / 127);
}

describe('ONNX export of the zoo on real MNIST inputs', () => {
  for (const name of zooNames()) {
    it(`${name}: NHWC opset 13 and NCHW opset 17 match tfjs within 1e-4`, async () => {
      const model = buildZooModel(name, { seed: 11 });
      const a = await exportOnnx(model, { verify: { inputs: xs } });
      const b = await exportOnnx(model, { opset: 17, nchw: true, verify: { inputs: xs } });
      for (const r of [a.report, b.report]) expect(r.verify!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
      expect(a.report.verify!.samples).toBe(16);
      // NCHW: inputs are channels-first and no Transpose is left inside the graph.
      expect(b.report.opCounts.Transpose).toBeUndefined();
      // NHWC: at most one Transpose at the input (plus one at a rank-4 output for unet-mini).
      expect(a.report.opCounts.Transpose ?? 0).toBeLessThanOrEqual(name === 'unet-mini' ? 2 : 1);
      expect(a.report.gzipBytes).toBeLessThan(a.report.bytes);
      keep(a.bytes, `${name}-13`);
      keep(b.bytes, `${name}-17-nchw`);
      model.dispose();
    });
  }

  it('int8 weights: <= scale/2 per weight, ~4x smaller, parity with the dequantized tfjs model', async () => {
    for (const name of ['cnn', 'resnet-mini', 'lenet300']) {
      const model = buildZooModel(name, { seed: 3 });
      const conv = convertToOnnx(model, { weights: 'int8' });
      expect(conv.dequantized.size).toBeGreaterThan(0);
      for (const [v, deq] of conv.dequantized) {
        const w = v.read().dataSync() as Float32Array;
        const s = channelScales(w, v.shape as number[]);
        const c = s.length;
        let worst = 0; // max of |error| / allowed over all weights
        w.forEach((x, i) => (worst = Math.max(worst, Math.abs(deq[i]! - x) / (s[i % c]! / 2 + 1e-7 * Math.abs(x)))));
        expect(worst).toBeLessThanOrEqual(1);
        expect(worst).toBeGreaterThan(0.5); // rounding really happened
      }
      const fp = convertToOnnx(model);
      expect(conv.initializerBytes).toBeLessThan(fp.initializerBytes / 3.5);
      const { bytes, report } = await exportOnnx(model, { weights: 'int8', verify: { inputs: xs } });
      expect(report.verify!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
      expect(report.verify!.maxAbsDiffVsFloat).toBeGreaterThan(report.verify!.maxAbsDiff);
      keep(bytes, `${name}-int8`);
      model.dispose();
    }
  });

  it('float16 weights: relative error <= 2^-11 per weight, parity with the rounded tfjs model', async () => {
    const model = buildZooModel('mobilenet-mini', { seed: 3 });
    const conv = convertToOnnx(model, { weights: 'float16', nchw: true });
    for (const [v, deq] of conv.dequantized) {
      const w = v.read().dataSync() as Float32Array;
      let worst = 0;
      w.forEach((x, i) => (worst = Math.max(worst, Math.abs(deq[i]! - x) / (Math.abs(x) * 2 ** -11 + 2 ** -25))));
      expect(worst).toBeLessThanOrEqual(1);
    }
    const { bytes, report } = await exportOnnx(model, { weights: 'float16', nchw: true, verify: { inputs: xs } });
    expect(report.verify!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    keep(bytes, 'mobilenet-fp16');
    model.dispose();
  });

  it('every exported file passes onnx_check.py', () => {
    expect(written.length).toBe(zooNames().length * 2 + 4);
    const r = onnxCheck(written);
    expect(r.out).not.toContain('"ok": false');
    expect(r.status, r.out).toBe(0);
  });
});

describe('ONNX export failures write nothing', () => {
  it('an unsupported layer fails before writing, naming the layer and the supported classes', async () => {
    const i = tf.input({ shape: [4, 4, 4, 1] });
    const h = tf.layers.conv3d({ filters: 2, kernelSize: 3, name: 'my_conv3d' }).apply(i) as tf.SymbolicTensor;
    const model = tf.model({ inputs: i, outputs: tf.layers.dense({ units: 2 }).apply(h) as tf.SymbolicTensor });
    const out = join(dir, 'conv3d.onnx');
    await expect(saveOnnx(model, out)).rejects.toThrow(/'my_conv3d' \(Conv3D\).*Supported layer classes: .*Conv2D.*Dense/);
    expect(existsSync(out)).toBe(false);
    model.dispose();
  });

  it('a parity failure above the tolerance throws and writes nothing', async () => {
    const model = buildZooModel('lenet300', { seed: 2 });
    const out = join(dir, 'strict.onnx');
    // Float rounding differs between runtimes (~1e-7), so a zero tolerance must fail.
    await expect(saveOnnx(model, out, { verify: { inputs: xs, tolerance: 0 } })).rejects.toThrow(/failed verification: max \|onnxruntime - tfjs\| = .* > tolerance 0/);
    expect(existsSync(out)).toBe(false);
    const report = await saveOnnx(model, out, { verify: { inputs: xs } });
    expect(existsSync(out)).toBe(true);
    expect(report.verify!.ok).toBe(true);
    model.dispose();
  });

  it('rejects bad options with clear messages', async () => {
    const model = buildZooModel('mlp');
    expect(() => convertToOnnx(model, { opset: 11 })).toThrow(/opset must be an integer from 13 to 17/);
    expect(() => convertToOnnx(model, { weights: 'int4' as 'int8' })).toThrow(/weights must be float32, float16 or int8/);
    model.dispose();
  });
});

describe('custom converters and hygiene', () => {
  class Scale extends tf.layers.Layer {
    static className = 'ScaleByTwo';
    override call(x: tf.Tensor | tf.Tensor[]): tf.Tensor {
      return tf.mul(Array.isArray(x) ? x[0]! : x, 2);
    }
  }
  tf.serialization.registerClass(Scale);

  it('registerOnnxConverter makes a custom layer exportable', async () => {
    const i = tf.input({ shape: [28, 28, 1] });
    const c = tf.layers.conv2d({ filters: 4, kernelSize: 3 }).apply(i) as tf.SymbolicTensor;
    const s = new Scale({ name: 'scale' }).apply(c) as tf.SymbolicTensor;
    const model = tf.model({ inputs: i, outputs: tf.layers.flatten().apply(s) as tf.SymbolicTensor });
    expect(() => convertToOnnx(model)).toThrow(/'scale' \(ScaleByTwo\)/);
    registerOnnxConverter('ScaleByTwo', ({ inputs, ctx, layer }) => {
      const x = inputs[0]!;
      return ctx.op('Mul', [x.name, ctx.b.constFloat([2], [])], {}, layer.name, x);
    });
    expect(supportedOnnxLayers()).toContain('ScaleByTwo');
    const { report } = await exportOnnx(model, { nchw: true, verify: { inputs: xs } });
    expect(report.verify!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    model.dispose();
  });

  it('does not leak tensors (including the int8 weight swap during verification)', async () => {
    const model = buildZooModel('lenet5', { seed: 1 });
    const before = tf.memory().numTensors;
    await exportOnnx(model, { weights: 'int8', verify: { inputs: xs } });
    await exportOnnx(model);
    expect(tf.memory().numTensors).toBe(before);
    // The original weights are restored after verifying against dequantized ones.
    const again = await exportOnnx(model, { verify: { inputs: xs, tolerance: 1e-4 } });
    expect(again.report.verify!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    model.dispose();
  });
});
