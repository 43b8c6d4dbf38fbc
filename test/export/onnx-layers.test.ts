import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertToOnnx, exportOnnx } from '../../src/export/index.js';
import { useBackend } from '../helpers/backend.js';
import { onnxCheck } from './helpers.js';
import { layerModels } from './layer-models.js';

const dir = mkdtempSync(join(tmpdir(), 'onnx-layers-'));
const written: string[] = [];

beforeAll(async () => {
  await useBackend();
});

describe('ONNX export parity per layer family (onnxruntime-node vs tfjs, tolerance 1e-4)', () => {
  for (const [name, build] of Object.entries(layerModels)) {
    it(name, async () => {
      const model = build();
      for (const opset of [13, 17]) {
        for (const nchw of [false, true]) {
          const { bytes, report } = await exportOnnx(model, { opset, nchw, verify: { samples: 4, tolerance: 1e-4 } });
          expect(report.verify!.ok).toBe(true);
          expect(report.verify!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
          expect(report.irVersion).toBe(8);
          const f = join(dir, `${written.length}.onnx`);
          writeFileSync(f, bytes);
          written.push(f);
        }
      }
      model.dispose();
    });
  }

  for (const name of ['depthwise (multiplier 2, s2 same) + separable (s2 same) + BN', 'conv2dTranspose k3s2 same, k2s2 valid, k1s2 same', 'embedding -> layerNormalization -> dense -> global pool 1d']) {
    it(`int8 and float16 weights: ${name}`, async () => {
      const model = layerModels[name]!();
      for (const weights of ['int8', 'float16'] as const) {
        const { bytes, report } = await exportOnnx(model, { weights, nchw: weights === 'int8', verify: { samples: 4 } });
        // Parity against tfjs running the same rounded weights; the rounding itself shows up vs float.
        expect(report.verify!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
        expect(report.verify!.maxAbsDiffVsFloat).toBeGreaterThan(0);
        expect(report.opCounts[weights === 'int8' ? 'DequantizeLinear' : 'Cast']).toBeGreaterThan(0);
        const f = join(dir, `${written.length}.onnx`);
        writeFileSync(f, bytes);
        written.push(f);
      }
      model.dispose();
    });
  }

  it('LayerNormalization uses the native op at opset 17 and a decomposition at 13', async () => {
    const model = layerModels['embedding -> layerNormalization -> dense -> global pool 1d']!();
    const r13 = (await exportOnnx(model, { opset: 13, verify: { samples: 2 } })).report;
    const r17 = (await exportOnnx(model, { opset: 17, verify: { samples: 2 } })).report;
    expect(r13.opCounts.LayerNormalization).toBeUndefined();
    expect(r17.opCounts.LayerNormalization).toBe(1);
    model.dispose();
  });

  it('shared layers and a nested model called twice store each weight once', async () => {
    const model = layerModels['two inputs, shared Dense, nested Sequential applied twice']!();
    const conv = convertToOnnx(model, { nchw: true });
    expect(conv.initializerBytes).toBe(model.countParams() * 4);
    expect(conv.inputNames).toEqual(['a', 'b']);
    expect(conv.inputLayouts).toEqual(['tf', 'cf']);
    model.dispose();
  });

  it('gaps converted graph models exposed: BatchNormalization axis [3] (Keras list form), DepthwiseConv2D dilationRate, Rescaling of int ids', async () => {
    const L = tf.layers;
    const x = tf.input({ shape: [6, 6, 3] });
    const conv = L.conv2d({ filters: 4, kernelSize: 1, kernelInitializer: tf.initializers.randomNormal({ seed: 1 }) }).apply(x) as tf.SymbolicTensor;
    // Keras writes `axis: [3]`; tfjs runs it (the list coerces to 3) and getConfig() keeps the list.
    const bn = L.batchNormalization({ axis: [3] as unknown as number, epsilon: 0, movingMeanInitializer: tf.initializers.randomNormal({ seed: 2 }), gammaInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 2, seed: 3 }) });
    const y = bn.apply(conv) as tf.SymbolicTensor;
    expect(bn.getConfig().axis).toEqual([3]);
    // tfjs 4.22's DepthwiseConv2D ignores dilationRate: the export must compute what tfjs computes.
    const dw = L.depthwiseConv2d({ kernelSize: 3, dilationRate: 2, padding: 'same', depthwiseInitializer: tf.initializers.randomNormal({ seed: 4 }) }).apply(y) as tf.SymbolicTensor;
    const ids = tf.input({ shape: [2], dtype: 'int32' });
    const f = L.dense({ units: 3 }).apply(L.rescaling({ scale: 0.5, offset: 1 }).apply(ids) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const model = tf.model({ inputs: [x, ids], outputs: [dw, f] });
    const { report } = await exportOnnx(model, { verify: { samples: 4 } });
    expect(report.verify!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(report.opCounts.Cast).toBe(1);
    model.dispose();
  });

  // Runs last: every file produced above must pass the ONNX project's own checker
  // (check_model full_check + strict shape inference).
  it('verifies outputs with more than 2^24 distinct values (a 224x224x10 segmentation map over 64 samples has 32M)', async () => {
    const model = tf.sequential({ layers: [tf.layers.activation({ activation: 'linear', inputShape: [5000, 5000] })] });
    const x = tf.randomUniform([1, 5000, 5000], -1, 1, 'float32', 3);
    const before = tf.memory().numTensors;
    const { report } = await exportOnnx(model, { verify: { inputs: x } });
    expect(report.verify!.maxAbsDiff).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    model.dispose();
  });

  it('every exported file passes onnx_check.py', () => {
    expect(written.length).toBe(Object.keys(layerModels).length * 4 + 3 * 2);
    const r = onnxCheck(written);
    expect(r.out).not.toContain('"ok": false');
    expect(r.status, r.out).toBe(0);
  });
});
