import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/model/load.js';
import {
  dequantize,
  graphKernels,
  quantizedWeightsFromJson,
  quantizedWeightsToJson,
  quantizeGraphModel,
  quantizeModel,
  type AffineTensor,
} from '../../src/quantize/index.js';
import { packModel, unpackModel } from '../../src/serialize/index.js';
import { useBackend } from '../helpers/backend.js';
import { REAL_MODELS } from '../helpers/fixtures.js';

/*
 * Per-channel int8 of depthwise kernels [kh, kw, C, M]: one scale per channel of axis 2 (C*M
 * channels over axes 2-3 with a multiplier), checked against scales computed here by hand:
 * scale_c = (max(hi_c, 0) - min(lo_c, 0)) / 255 over the elements of channel c.
 */

/** Hand-computed int8 scales, one per channel index `(i / stride) % channels`. */
function handScales(values: ArrayLike<number>, channels: number, stride: number): Float32Array {
  const lo = new Array(channels).fill(0);
  const hi = new Array(channels).fill(0);
  for (let i = 0; i < values.length; i++) {
    const c = Math.floor(i / stride) % channels;
    lo[c] = Math.min(lo[c], values[i]!);
    hi[c] = Math.max(hi[c], values[i]!);
  }
  return Float32Array.from(lo, (l, c) => Math.fround((hi[c] - l) / 255));
}

function affine(t: unknown): AffineTensor {
  expect((t as AffineTensor).kind).toBe('affine');
  return t as AffineTensor;
}

beforeAll(async () => {
  await useBackend();
});

describe('depthwise kernels get per-channel scales on the channel axis', () => {
  it('DepthwiseConv2D (M = 1 and M = 2) and SeparableConv2D, hand-computed scales, round trip through JSON and the container', async () => {
    const input = tf.input({ shape: [6, 6, 3] });
    const dw1 = tf.layers.depthwiseConv2d({ kernelSize: 3, name: 'dw1', useBias: false }).apply(input) as tf.SymbolicTensor;
    const dw2 = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, name: 'dw2', useBias: false }).apply(dw1) as tf.SymbolicTensor;
    const sep = tf.layers.separableConv2d({ kernelSize: 3, filters: 4, name: 'sep', padding: 'same' }).apply(dw2) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: sep });
    // Channels with ranges 1000x apart: one tensor-wide scale would round the small ones to zero.
    for (const w of model.weights.filter((v) => v.originalName.endsWith('depthwise_kernel'))) {
      const [kh, kw, c, m] = w.shape as number[];
      const v = new Float32Array(kh! * kw! * c! * m!);
      for (let i = 0; i < v.length; i++) v[i] = Math.sin(i + 1) * 10 ** -((i % (c! * m!)) % 4);
      const t = tf.tensor(v, w.shape as number[]);
      w.write(t);
      t.dispose();
    }
    const tensors = tf.memory().numTensors;
    const r = await quantizeModel(model, { mode: 'int8-channel' });
    const orig = (name: string) => model.weights.find((w) => w.originalName === name)!.read().dataSync();
    const d1 = affine(r.quantized['dw1/depthwise_kernel']);
    expect([d1.axis, d1.axisCount ?? 1, d1.scales.length]).toEqual([2, 1, 3]);
    expect(d1.scales).toEqual(handScales(orig('dw1/depthwise_kernel'), 3, 1));
    const d2 = affine(r.quantized['dw2/depthwise_kernel']);
    // [3, 3, 3, 2]: channel c*2+m, 6 scales over axes 2 and 3.
    expect([d2.axis, d2.axisCount, d2.scales.length]).toEqual([2, 2, 6]);
    expect(d2.scales).toEqual(handScales(orig('dw2/depthwise_kernel'), 6, 1));
    const s = affine(r.quantized['sep/depthwise_kernel']);
    // [3, 3, 6, 1]: the 6 channels coming out of dw2.
    expect([s.axis, s.axisCount ?? 1, s.scales.length]).toEqual([2, 1, 6]);
    expect(s.scales).toEqual(handScales(orig('sep/depthwise_kernel'), 6, 1));
    const p = affine(r.quantized['sep/pointwise_kernel']);
    expect([p.axis, p.scales.length]).toEqual([3, 4]);
    expect(p.scales).toEqual(handScales(orig('sep/pointwise_kernel'), 4, 1));
    // Every channel is reproduced to within half its own scale.
    const deq = dequantize(d2);
    const o = orig('dw2/depthwise_kernel');
    for (let i = 0; i < o.length; i++) expect(Math.abs(o[i]! - deq[i]!)).toBeLessThanOrEqual(d2.scales[i % 6]! / 2 + 1e-7);
    // The records survive JSON and the container bit for bit.
    const back = quantizedWeightsFromJson(JSON.parse(JSON.stringify(quantizedWeightsToJson(r.quantized))));
    expect(back['dw2/depthwise_kernel']).toEqual(d2);
    const bytes = await packModel(r.model, { quantized: r.quantized });
    const loaded = await unpackModel(bytes);
    for (const w of r.model.weights) {
      const got = loaded.weights.find((x) => x.originalName === w.originalName)!.read().dataSync() as Float32Array;
      expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array((w.read().dataSync() as Float32Array).buffer));
    }
    loaded.dispose();
    r.model.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    model.dispose();
  });

  it.each(['nsfwjs-mobilenet-v2', 'tm-nail-biting-mobilenet'])('%s: every depthwise kernel gets C hand-computed scales on axis 2', async (name) => {
    const m = await loadModel(join(REAL_MODELS, name), { command: 'test', accept: ['layers'] });
    if (m.kind !== 'layers') throw new Error('expected a layers model');
    const r = await quantizeModel(m.model, { mode: 'int8-channel' });
    const originals = new Map(m.model.weights.map((w) => [w.originalName, w.read().dataSync()]));
    const depthwise = Object.keys(r.quantized).filter((k) => k.endsWith('depthwise_kernel'));
    expect(depthwise).toHaveLength(17);
    for (const k of depthwise) {
      const q = affine(r.quantized[k]);
      const c = q.shape[2]!;
      expect(q.shape[3]).toBe(1);
      expect([q.axis, q.scales.length]).toEqual([2, c]);
      expect(q.scales).toEqual(handScales(originals.get(k)!, c, 1));
    }
    r.model.dispose();
    m.model.dispose();
  }, 60_000);

  it('graph model (automl flowers MobileNet): depthwise filters quantized per channel of axis 2', async () => {
    const m = await loadModel(join(REAL_MODELS, 'tfjs-automl-flowers-graph'), { command: 'test', accept: ['graph'] });
    if (m.kind !== 'graph') throw new Error('expected a graph model');
    const r = await quantizeGraphModel(m.model, { mode: 'int8-channel' });
    const depthwise = r.weights.filter((w) => /depthwise/i.test(w.layer) && w.shape.length === 4 && w.shape[3] === 1);
    expect(depthwise.length).toBeGreaterThan(5);
    for (const w of depthwise) {
      const q = affine(r.quantized[w.name]);
      const values = m.model.weights[w.name]![0]!.dataSync();
      expect([q.axis, q.scales.length]).toEqual([2, w.shape[2]]);
      expect(q.scales).toEqual(handScales(values, w.shape[2]!, 1));
    }
    m.model.dispose();
  }, 60_000);

  it('graph depthwise filters with a multiplier use axes 2-3; a record whose axes do not fit its shape is refused', () => {
    const values = new Float32Array(3 * 3 * 4 * 2);
    const nodes = [
      { name: 'x', op: 'Placeholder' },
      { name: 'w', op: 'Const' },
      { name: 'dw', op: 'DepthwiseConv2dNative', input: ['x', 'w'] },
    ];
    const [k] = graphKernels(nodes as never, [{ name: 'w', shape: [3, 3, 4, 2], dtype: 'float32', values }]);
    expect([k!.channelAxis, k!.channelAxisCount]).toEqual([2, 2]);
    const json = quantizedWeightsToJson({ w: { kind: 'affine', shape: [3, 3, 4, 2], dtype: 'int8', axis: 2, axisCount: 3, q: new Int8Array(72), scales: new Float32Array(8).fill(1), zeroPoints: new Int32Array(8) } });
    expect(() => quantizedWeightsFromJson(json)).toThrow(/^quantized weights JSON: 'w'.axis 2 \(axisCount 3\) is out of range for shape \[3, 3, 4, 2\]$/);
  });
});
