import * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx } from '../../src/export/index.js';
import { GraphConversionRefused, graphToLayers, unsupportedGraphOps } from '../../src/model/index.js';
import { useBackend } from '../helpers/backend.js';
import { maxAbsDiff, onnxCheck } from '../export/helpers.js';
import { A, convAttr, fused, graphInputs, graphModel, placeholder, rnd, type GNode } from './graph-to-layers-helpers.js';

const i32 = (v: number[] | number, shape?: number[]) => tf.tensor(v, shape ?? (Array.isArray(v) ? [v.length] : []), 'int32');
const f32 = (v: number[] | number, shape?: number[]) => tf.tensor(v, shape ?? (Array.isArray(v) ? [v.length] : []), 'float32');
const x4 = (h: number, w: number, c: number, batch = -1) => placeholder('x', [batch, h, w, c]);

interface Case {
  nodes: GNode[];
  consts: () => Record<string, tf.Tensor>;
  /** Layer classes the rebuilt model must contain (besides InputLayer). */
  layers: string[];
  batch?: number;
}

const CASES: Record<string, Case> = {
  '_FusedConv2D BiasAdd + Relu / Relu6 / Elu / LeakyRelu (SAME, stride 2), 4 outputs': {
    nodes: [
      x4(9, 9, 3),
      { name: 'c1', op: '_FusedConv2D', input: ['x', 'w', 'b'], attr: convAttr(2, 'SAME', fused(['BiasAdd', 'Relu'])) },
      { name: 'c2', op: '_FusedConv2D', input: ['x', 'w', 'b'], attr: convAttr(1, 'VALID', fused(['BiasAdd', 'Relu6'])) },
      { name: 'c3', op: '_FusedConv2D', input: ['x', 'w', 'b'], attr: convAttr(2, 'VALID', fused(['BiasAdd', 'Elu'])) },
      { name: 'c4', op: '_FusedConv2D', input: ['x', 'w', 'b'], attr: convAttr(1, 'SAME', fused(['BiasAdd', 'LeakyRelu'], { leakyrelu_alpha: A.f(0.1) })) },
    ],
    consts: () => ({ w: rnd([3, 3, 3, 4], 1, 2), b: rnd([4], 2) }),
    layers: ['Conv2D', 'LeakyReLU'],
  },
  'Conv2D + BiasAdd + Relu folded into one Conv2D; Conv2D (EXPLICIT padding) + Add of a per-channel constant': {
    nodes: [
      x4(7, 7, 3),
      { name: 'c', op: 'Conv2D', input: ['x', 'w'], attr: convAttr(1, 'VALID') },
      { name: 'cb', op: 'BiasAdd', input: ['c', 'b'], attr: { T: A.f32, data_format: A.s('NHWC') } },
      { name: 'cr', op: 'Relu', input: ['cb'], attr: { T: A.f32 } },
      { name: 'e', op: 'Conv2D', input: ['cr', 'w2'], attr: convAttr(2, 'SAME', { padding: A.s('EXPLICIT'), explicit_paddings: A.ints([0, 0, 1, 2, 2, 1, 0, 0]) }) },
      { name: 'eb', op: 'AddV2', input: ['b2', 'e'], attr: { T: A.f32 } },
    ],
    consts: () => ({ w: rnd([3, 3, 3, 4], 3), b: rnd([4], 4), w2: rnd([3, 3, 4, 5], 5), b2: rnd([5], 6) }),
    layers: ['Conv2D', 'ZeroPadding2D'],
  },
  'DepthwiseConv2dNative (multiplier 2) + FusedDepthwiseConv2dNative BiasAdd + Relu6': {
    nodes: [
      x4(8, 8, 3),
      { name: 'd1', op: 'DepthwiseConv2dNative', input: ['x', 'k1'], attr: convAttr(1, 'SAME') },
      { name: 'd2', op: 'FusedDepthwiseConv2dNative', input: ['d1', 'k2', 'b2'], attr: convAttr(2, 'VALID', fused(['BiasAdd', 'Relu6'])) },
    ],
    consts: () => ({ k1: rnd([3, 3, 3, 2], 7, 1), k2: rnd([3, 3, 6, 1], 8, 1), b2: rnd([6], 9) }),
    layers: ['DepthwiseConv2D'],
  },
  // Not _FusedMatMul with transpose_b and a bias: tfjs 4.22's wasm kernel computes that one wrongly
  // (off by ~1 against the cpu backend), so stock execution could not serve as the reference.
  '_FusedMatMul + Relu, MatMul (transpose_b) + BiasAdd + Relu -> Dense': {
    nodes: [
      placeholder('x', [-1, 12]),
      { name: 'm1', op: '_FusedMatMul', input: ['x', 'w1', 'b1'], attr: { T: A.f32, transpose_a: A.b(false), transpose_b: A.b(false), ...fused(['BiasAdd', 'Relu']) } },
      { name: 'm2', op: 'MatMul', input: ['m1', 'w2'], attr: { T: A.f32, transpose_a: A.b(false), transpose_b: A.b(true) } },
      { name: 'm2b', op: 'BiasAdd', input: ['m2', 'b2'], attr: { T: A.f32 } },
      { name: 'm2r', op: 'Relu', input: ['m2b'], attr: { T: A.f32 } },
    ],
    consts: () => ({ w1: rnd([12, 8], 10), b1: rnd([8], 11), w2: rnd([5, 8], 12), b2: rnd([5], 13) }),
    layers: ['Dense'],
  },
  'MaxPool (SAME, stride 2) and AvgPool (VALID)': {
    nodes: [
      x4(9, 9, 3),
      { name: 'mp', op: 'MaxPool', input: ['x'], attr: { T: A.f32, ksize: A.ints([1, 3, 3, 1]), strides: A.ints([1, 2, 2, 1]), padding: A.s('SAME'), data_format: A.s('NHWC') } },
      { name: 'ap', op: 'AvgPool', input: ['mp'], attr: { T: A.f32, ksize: A.ints([1, 2, 2, 1]), strides: A.ints([1, 1, 1, 1]), padding: A.s('VALID'), data_format: A.s('NHWC') } },
      { name: 'ap2', op: 'AvgPool', input: ['x'], attr: { T: A.f32, ksize: A.ints([1, 2, 2, 1]), strides: A.ints([1, 2, 2, 1]), padding: A.s('SAME'), data_format: A.s('NHWC') } },
    ],
    consts: () => ({}),
    layers: ['MaxPooling2D', 'AveragePooling2D'],
  },
  'Mean over H,W (keep_dims false; true + Squeeze) and Max -> global pooling': {
    nodes: [
      x4(5, 6, 4),
      { name: 'm1', op: 'Mean', input: ['x', 'axes'], attr: { T: A.f32, keep_dims: A.b(false) } },
      { name: 'm2', op: 'Mean', input: ['x', 'axes_neg'], attr: { T: A.f32, keep_dims: A.b(true) } },
      { name: 'sq', op: 'Squeeze', input: ['m2'], attr: { T: A.f32, squeeze_dims: A.ints([1, 2]) } },
      { name: 'mx', op: 'Max', input: ['x', 'axes'], attr: { T: A.f32, keep_dims: A.b(false) } },
    ],
    consts: () => ({ axes: i32([1, 2]), axes_neg: i32([-3, -2]) }),
    layers: ['GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'Reshape'],
  },
  'Keras Flatten (Shape/StridedSlice/Pack/Reshape) -> _FusedMatMul -> Softmax': {
    nodes: [
      x4(4, 4, 2),
      { name: 'shape', op: 'Shape', input: ['x'], attr: { T: A.f32, out_type: A.i32 } },
      { name: 'ss', op: 'StridedSlice', input: ['shape', 'begin', 'end', 'end'], attr: { T: A.i32, Index: A.i32, shrink_axis_mask: A.i(1), begin_mask: A.i(0), end_mask: A.i(0), ellipsis_mask: A.i(0), new_axis_mask: A.i(0) } },
      { name: 'pack', op: 'Pack', input: ['ss', 'flat'], attr: { T: A.i32, N: A.i(2), axis: A.i(0) } },
      { name: 'r', op: 'Reshape', input: ['x', 'pack'], attr: { T: A.f32, Tshape: A.i32 } },
      { name: 'fc', op: '_FusedMatMul', input: ['r', 'w', 'b'], attr: { T: A.f32, transpose_a: A.b(false), transpose_b: A.b(false), ...fused(['BiasAdd']) } },
      { name: 'sm', op: 'Softmax', input: ['fc'], attr: { T: A.f32 } },
    ],
    consts: () => ({ begin: i32([0]), end: i32([1]), flat: i32(32), w: rnd([32, 5], 14), b: rnd([5], 15) }),
    layers: ['Flatten', 'Dense', 'Softmax'],
  },
  'Reshape (-1), ExpandDims/Squeeze on inner axes, ExpandDims(0) + Squeeze(0)': {
    nodes: [
      placeholder('x', [-1, 12]),
      { name: 'r', op: 'Reshape', input: ['x', 's1'], attr: { T: A.f32 } },
      { name: 'e', op: 'ExpandDims', input: ['r', 'ax_m1'], attr: { T: A.f32 } },
      { name: 's', op: 'Squeeze', input: ['e'], attr: { T: A.f32, squeeze_dims: A.ints([3]) } },
      { name: 'e0', op: 'ExpandDims', input: ['s', 'ax0'], attr: { T: A.f32 } },
      { name: 's0', op: 'Squeeze', input: ['e0'], attr: { T: A.f32, squeeze_dims: A.ints([0]) } },
      { name: 'r2', op: 'Reshape', input: ['s0', 's2'], attr: { T: A.f32 } },
      { name: 't', op: 'Tanh', input: ['r2'], attr: { T: A.f32 } },
    ],
    consts: () => ({ s1: i32([-1, 3, 4]), ax_m1: i32(-1), ax0: i32(0), s2: i32([-1, 12]) }),
    layers: ['Reshape', 'Activation'],
  },
  'Relu, Relu6, Elu, LeakyRelu, Sigmoid, Tanh, Softmax': {
    nodes: [
      placeholder('x', [-1, 10]),
      ...['Relu6', 'Elu', 'Sigmoid', 'Tanh', 'Relu'].map((op, i) => ({ name: `a${i}`, op, input: [i ? `a${i - 1}` : 'x'], attr: { T: A.f32 } })),
      { name: 'lr', op: 'LeakyRelu', input: ['x'], attr: { T: A.f32, alpha: A.f(0.3) } },
      { name: 'sm', op: 'Softmax', input: ['lr'], attr: { T: A.f32 } },
    ],
    consts: () => ({}),
    layers: ['Activation', 'LeakyReLU', 'Softmax'],
  },
  'AddV2 / Sub / Mul / AddN / Maximum between tensors (residuals)': {
    nodes: [
      x4(4, 4, 3),
      { name: 't1', op: 'Tanh', input: ['x'], attr: { T: A.f32 } },
      { name: 't2', op: 'Sigmoid', input: ['x'], attr: { T: A.f32 } },
      { name: 'add', op: 'AddV2', input: ['t1', 't2'], attr: { T: A.f32 } },
      { name: 'sub', op: 'Sub', input: ['add', 'x'], attr: { T: A.f32 } },
      { name: 'mul', op: 'Mul', input: ['sub', 't1'], attr: { T: A.f32 } },
      { name: 'addn', op: 'AddN', input: ['mul', 't1', 't2'], attr: { T: A.f32, N: A.i(3) } },
      { name: 'max', op: 'Maximum', input: ['addn', 't2'], attr: { T: A.f32 } },
    ],
    consts: () => ({}),
    layers: ['Add', 'Multiply', 'Maximum', 'Rescaling'],
  },
  'Mul/Add/Sub/RealDiv/BiasAdd with per-channel and scalar constants -> BatchNormalization / Rescaling': {
    nodes: [
      x4(4, 4, 3),
      { name: 'm', op: 'Mul', input: ['g', 'x'], attr: { T: A.f32 } },
      { name: 'a', op: 'Add', input: ['m', 'beta'], attr: { T: A.f32 } },
      { name: 's', op: 'Sub', input: ['a', 'mean'], attr: { T: A.f32 } },
      { name: 'd', op: 'RealDiv', input: ['s', 'two'], attr: { T: A.f32 } },
      { name: 'r', op: 'Sub', input: ['one', 'd'], attr: { T: A.f32 } },
      { name: 'k', op: 'Mul', input: ['r', 'half'], attr: { T: A.f32 } },
      { name: 'bd', op: 'RealDiv', input: ['k', 'g'], attr: { T: A.f32 } },
      { name: 'sc', op: 'Sub', input: ['beta', 'bd'], attr: { T: A.f32 } },
      { name: 'ba', op: 'BiasAdd', input: ['sc', 'beta'], attr: { T: A.f32 } },
      { name: 'ad', op: 'AddV2', input: ['ba', 'one'], attr: { T: A.f32 } },
    ],
    consts: () => ({ g: f32([0.5, -2, 3]), beta: f32([0.1, 0.2, -0.3]), mean: f32([1, 2, 3], [1, 1, 1, 3]), two: f32(2), one: f32(1.5), half: f32(0.5) }),
    layers: ['BatchNormalization', 'Rescaling'],
  },
  'ConcatV2 (axis -1) and Pad -> Concatenate, ZeroPadding2D': {
    nodes: [
      x4(5, 5, 2),
      { name: 't', op: 'Relu', input: ['x'], attr: { T: A.f32 } },
      { name: 'cat', op: 'ConcatV2', input: ['x', 't', 'axis'], attr: { T: A.f32, N: A.i(2), Tidx: A.i32 } },
      { name: 'p', op: 'Pad', input: ['cat', 'pads'], attr: { T: A.f32, Tpaddings: A.i32 } },
    ],
    consts: () => ({ axis: i32(-1), pads: i32([0, 0, 1, 2, 2, 1, 0, 0], [4, 2]) }),
    layers: ['Concatenate', 'ZeroPadding2D'],
  },
  'FusedBatchNormV3 -> BatchNormalization': {
    nodes: [
      x4(4, 4, 3),
      { name: 'bn', op: 'FusedBatchNormV3', input: ['x', 'sc', 'of', 'mu', 'var'], attr: { T: A.f32, U: A.f32, epsilon: A.f(0.001), data_format: A.s('NHWC'), is_training: A.b(false) } },
    ],
    consts: () => ({ sc: f32([0.5, 2, -1]), of: f32([0, 0.1, 0.2]), mu: f32([0.3, -0.2, 0.1]), var: f32([0.5, 1.5, 2]) }),
    layers: ['BatchNormalization'],
  },
  'SpaceToBatchND -> DepthwiseConv2dNative -> BatchToSpaceND + BiasAdd -> dilated conv (same padding)': {
    nodes: [
      x4(12, 12, 3),
      { name: 's2b', op: 'SpaceToBatchND', input: ['x', 'block', 'pads'], attr: { T: A.f32 } },
      { name: 'dw', op: 'DepthwiseConv2dNative', input: ['s2b', 'k'], attr: convAttr(1, 'VALID') },
      { name: 'b2s', op: 'BatchToSpaceND', input: ['dw', 'block', 'crops'], attr: { T: A.f32 } },
      { name: 'bias', op: 'BiasAdd', input: ['b2s', 'b'], attr: { T: A.f32 } },
    ],
    consts: () => ({ block: i32([2, 2]), pads: i32([2, 2, 2, 2], [2, 2]), crops: i32([0, 0, 0, 0], [2, 2]), k: rnd([3, 3, 3, 1], 16, 1), b: rnd([3], 17) }),
    layers: ['SeparableConv2D'],
  },
  'SpaceToBatchND -> Conv2D -> BatchToSpaceND with uneven paddings and crops -> ZeroPadding2D + dilated Conv2D': {
    nodes: [
      x4(11, 11, 3),
      { name: 's2b', op: 'SpaceToBatchND', input: ['x', 'block', 'pads'], attr: { T: A.f32 } },
      { name: 'cv', op: '_FusedConv2D', input: ['s2b', 'k', 'b'], attr: convAttr(1, 'VALID', fused(['BiasAdd', 'Relu'])) },
      { name: 'b2s', op: 'BatchToSpaceND', input: ['cv', 'block', 'crops'], attr: { T: A.f32 } },
    ],
    consts: () => ({ block: i32([2, 2]), pads: i32([1, 4, 3, 2], [2, 2]), crops: i32([0, 2, 0, 0], [2, 2]), k: rnd([3, 3, 3, 4], 18, 1), b: rnd([4], 19) }),
    layers: ['ZeroPadding2D', 'Conv2D'],
  },
  'native dilations: DepthwiseConv2dNative (SAME) -> SeparableConv2D, Conv2D (VALID) -> dilated Conv2D': {
    nodes: [
      x4(10, 10, 3),
      { name: 'dw', op: 'DepthwiseConv2dNative', input: ['x', 'k'], attr: convAttr(1, 'SAME', { dilations: A.ints([1, 2, 2, 1]) }) },
      { name: 'cv', op: 'Conv2D', input: ['dw', 'w'], attr: convAttr(1, 'VALID', { dilations: A.ints([1, 3, 2, 1]) }) },
    ],
    consts: () => ({ k: rnd([3, 3, 3, 2], 28, 1), w: rnd([3, 3, 6, 4], 29) }),
    layers: ['SeparableConv2D', 'Conv2D'],
  },
  'ResizeNearestNeighbor (half_pixel_centers false and true) and ResizeBilinear -> UpSampling2D': {
    nodes: [
      x4(3, 4, 2),
      { name: 'r1', op: 'ResizeNearestNeighbor', input: ['x', 'size2'], attr: { T: A.f32, align_corners: A.b(false), half_pixel_centers: A.b(false) } },
      { name: 'r2', op: 'ResizeNearestNeighbor', input: ['x', 'size3'], attr: { T: A.f32, align_corners: A.b(false), half_pixel_centers: A.b(true) } },
      { name: 'r3', op: 'ResizeBilinear', input: ['x', 'size2'], attr: { T: A.f32, align_corners: A.b(false), half_pixel_centers: A.b(false) } },
    ],
    consts: () => ({ size2: i32([6, 8]), size3: i32([9, 12]) }),
    layers: ['UpSampling2D'],
  },
  'two int [-1] inputs: Cast, GatherV2 on a const table, ExpandDims, ConcatV2, Dense': {
    nodes: [
      placeholder('ids', [-1], 'DT_INT32'),
      placeholder('sess', [-1], 'DT_INT32'),
      { name: 'c1', op: 'Cast', input: ['ids'], attr: { SrcT: A.i32, DstT: A.i32 } },
      { name: 'g', op: 'GatherV2', input: ['table', 'c1', 'axis0'], attr: { Tparams: A.f32, Tindices: A.i32, Taxis: A.i32, batch_dims: A.i(0) } },
      { name: 'e', op: 'ExpandDims', input: ['sess', 'axis1'], attr: { T: A.i32 } },
      { name: 'c2', op: 'Cast', input: ['e'], attr: { SrcT: A.i32, DstT: A.f32 } },
      { name: 'cat', op: 'ConcatV2', input: ['g', 'c2', 'axis1'], attr: { T: A.f32, N: A.i(2) } },
      { name: 'fc', op: '_FusedMatMul', input: ['cat', 'w', 'b'], attr: { T: A.f32, transpose_a: A.b(false), transpose_b: A.b(false), ...fused(['BiasAdd', 'Relu']) } },
      { name: 'sm', op: 'Softmax', input: ['fc'], attr: { T: A.f32 } },
    ],
    consts: () => ({ table: rnd([6, 4], 20), axis0: i32(0), axis1: i32(1), w: rnd([5, 3], 21), b: rnd([3], 22) }),
    layers: ['Embedding', 'Concatenate', 'Rescaling', 'Dense'],
  },
  'fixed batch 1 input, Reshape [1, -1], IdentityN / Identity, two outputs': {
    batch: 1,
    nodes: [
      x4(4, 4, 2, 1),
      { name: 'c', op: '_FusedConv2D', input: ['x', 'w', 'b'], attr: convAttr(1, 'SAME', fused(['BiasAdd', 'Relu'])) },
      { name: 'r', op: 'Reshape', input: ['c', 'shape'], attr: { T: A.f32 } },
      { name: 'fc', op: 'MatMul', input: ['r', 'w2'], attr: { T: A.f32, transpose_a: A.b(false), transpose_b: A.b(false) } },
      { name: 'idn', op: 'IdentityN', input: ['fc', 'c', '^r'], attr: { T: { list: { type: ['DT_FLOAT', 'DT_FLOAT'] } } } },
      { name: 'out_a', op: 'Identity', input: ['idn'], attr: { T: A.f32 } },
      { name: 'out_b', op: 'Sigmoid', input: ['idn:1'], attr: { T: A.f32 } },
    ],
    consts: () => ({ w: rnd([3, 3, 2, 3], 23), b: rnd([3], 24), shape: i32([1, -1]), w2: rnd([48, 4], 25) }),
    layers: ['Conv2D', 'Flatten', 'Dense'],
  },
};

const dir = mkdtempSync(join(tmpdir(), 'g2l-ops-'));
const onnxFiles: string[] = [];

beforeAll(async () => {
  await useBackend();
});

/** max |layers - stock GraphModel.execute| per output, fed one batch (or one sample at a time for batch-1 graphs). */
function diffVsGraph(graph: GraphModel, model: tf.LayersModel, xs: tf.Tensor[], perSample: boolean): number[] {
  const n = xs[0]!.shape[0]!;
  const worst = new Array<number>(graph.outputs.length).fill(0);
  for (const i of perSample ? Array.from({ length: n }, (_, k) => k) : [-1]) {
    const b = i < 0 ? xs : xs.map((x) => x.slice(i, 1));
    const ref = graph.execute(b.length === 1 ? b[0]! : b, graph.outputs.map((o) => o.name));
    const got = model.predict(b.length === 1 ? b[0]! : b);
    const r = Array.isArray(ref) ? ref : [ref];
    const g = Array.isArray(got) ? got : [got];
    r.forEach((t, k) => {
      expect(g[k]!.shape).toEqual(t.shape);
      worst[k] = Math.max(worst[k]!, maxAbsDiff(t.dataSync(), g[k]!.dataSync()));
    });
    [...r, ...g, ...(i < 0 ? [] : b)].forEach((t) => t.dispose());
  }
  return worst;
}

describe('graph op patterns -> stock layers, checked against stock tf.loadGraphModel', () => {
  for (const [name, cs] of Object.entries(CASES)) {
    it(name, async () => {
      const graph = await graphModel(cs.nodes, cs.consts());
      expect(unsupportedGraphOps(graph)).toEqual({});
      const before = tf.memory().numTensors;
      const { model, report } = await graphToLayers(graph, { samples: 3, name });
      const classes = new Set(model.layers.map((l) => l.getClassName()));
      for (const c of cs.layers) expect(classes, `layer classes ${[...classes]}`).toContain(c);
      expect(report.parity.perOutput).toHaveLength(graph.outputs.length);
      const xs = graphInputs(graph, cs.batch === 1 ? 3 : 5);
      for (const d of diffVsGraph(graph, model, xs, cs.batch === 1)) expect(d).toBeLessThanOrEqual(1e-5);
      // The layers ONNX exporter handles every layer the conversion produces.
      const { bytes, report: onnx } = await exportOnnx(model, { verify: cs.batch === 1 ? { samples: 2 } : { inputs: xs } });
      expect(onnx.verify!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
      const f = join(dir, `case${onnxFiles.length}.onnx`);
      writeFileSync(f, bytes);
      onnxFiles.push(f);
      xs.forEach((t) => t.dispose());
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
      graph.dispose();
    });
  }

  it('the exported files pass the ONNX checker', () => {
    const r = onnxCheck(onnxFiles);
    expect(r.out).not.toContain('"ok": false');
    expect(r.status, r.out).toBe(0);
  });
});

describe('fused FusedBatchNorm (stock tfjs cannot execute it)', () => {
  it('_FusedConv2D / FusedDepthwiseConv2dNative with fused_ops [FusedBatchNorm, Relu] match the same graph written unfused', async () => {
    const bnArgs = (p: string) => [`${p}_s`, `${p}_o`, `${p}_m`, `${p}_v`];
    const bnConsts = (p: string, c: number, seed: number) => ({
      [`${p}_s`]: tf.randomUniform([c], 0.5, 2, 'float32', seed),
      [`${p}_o`]: rnd([c], seed + 1),
      [`${p}_m`]: rnd([c], seed + 2),
      [`${p}_v`]: tf.randomUniform([c], 0.5, 2, 'float32', seed + 3),
    });
    const consts = () => ({ w: rnd([3, 3, 3, 4], 30), k: rnd([3, 3, 4, 1], 31, 1), ...bnConsts('a', 4, 40), ...bnConsts('b', 4, 50) });
    const eps = { epsilon: A.f(0.001), num_args: A.i(4) };
    const fusedGraph = await graphModel(
      [
        x4(6, 6, 3),
        { name: 'c', op: '_FusedConv2D', input: ['x', 'w', ...bnArgs('a')], attr: convAttr(1, 'SAME', { ...fused(['FusedBatchNorm', 'Relu']), ...eps }) },
        { name: 'd', op: 'FusedDepthwiseConv2dNative', input: ['c', 'k', ...bnArgs('b')], attr: convAttr(2, 'VALID', { ...fused(['FusedBatchNorm']), ...eps }) },
      ],
      consts(),
    );
    const bn = (name: string, input: string, p: string) => ({ name, op: 'FusedBatchNormV3', input: [input, ...bnArgs(p)], attr: { T: A.f32, U: A.f32, epsilon: A.f(0.001), is_training: A.b(false), data_format: A.s('NHWC') } });
    const plainGraph = await graphModel(
      [
        x4(6, 6, 3),
        { name: 'c0', op: 'Conv2D', input: ['x', 'w'], attr: convAttr(1, 'SAME') },
        bn('c1', 'c0', 'a'),
        { name: 'c', op: 'Relu', input: ['c1'], attr: { T: A.f32 } },
        { name: 'd0', op: 'DepthwiseConv2dNative', input: ['c', 'k'], attr: convAttr(2, 'VALID') },
        bn('d', 'd0', 'b'),
      ],
      consts(),
    );
    const xs = graphInputs(plainGraph, 4);
    expect(() => fusedGraph.execute(xs[0]!)).toThrow(/FusedBatchNorm is not supported/);
    const before = tf.memory().numTensors;
    const { model, report } = await graphToLayers(fusedGraph, { samples: 2 });
    expect(report.parity.maxAbsDiff).toBeLessThanOrEqual(1e-5);
    expect(model.layers.filter((l) => l.getClassName() === 'BatchNormalization')).toHaveLength(2);
    for (const d of diffVsGraph(plainGraph, model, xs, false)) expect(d).toBeLessThanOrEqual(1e-5);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    xs.forEach((t) => t.dispose());
    fusedGraph.dispose();
    plainGraph.dispose();
  });
});

describe('float ids', () => {
  it('float input -> Cast to int -> GatherV2 becomes an Embedding on float ids (truncated like TF), also in ONNX', async () => {
    const graph = await graphModel(
      [
        placeholder('x', [-1, 3]),
        { name: 'ids', op: 'Cast', input: ['x'], attr: { SrcT: A.f32, DstT: A.i32 } },
        { name: 'g', op: 'GatherV2', input: ['table', 'ids', 'axis0'], attr: { Tparams: A.f32, Tindices: A.i32, Taxis: A.i32, batch_dims: A.i(0) } },
      ],
      { table: rnd([6, 2], 33), axis0: i32(0) },
    );
    const x = tf.tensor([[0.2, 1.9, 4.5], [5.99, 3.0, 2.7]]);
    const { model } = await graphToLayers(graph, { inputs: [x] });
    expect(diffVsGraph(graph, model, [x], false)[0]).toBe(0);
    const { report } = await exportOnnx(model, { verify: { inputs: x } });
    expect(report.verify!.maxAbsDiff).toBe(0);
    expect(report.opCounts.Cast).toBe(1);
    model.dispose();
    x.dispose();
    graph.dispose();
  });
});

describe('refusals and failures', () => {
  it('lists unsupported op types with counts in one message', async () => {
    const graph = await graphModel(
      [
        placeholder('x', [-1, 6]),
        { name: 'k', op: 'TopKV2', input: ['x', 'two'], attr: { T: A.f32, sorted: A.b(true) } },
        { name: 'k2', op: 'TopKV2', input: ['k', 'two'], attr: { T: A.f32, sorted: A.b(true) } },
        { name: 'w', op: 'Where', input: ['k2'], attr: { T: A.f32 } },
      ],
      { two: i32(2) },
    );
    expect(unsupportedGraphOps(graph)).toEqual({ TopKV2: 2, Where: 1 });
    const before = tf.memory().numTensors;
    const err = await graphToLayers(graph, { name: 'x' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(GraphConversionRefused);
    expect((err as Error).message).toBe("cannot convert graph model 'x': unsupported ops TopKV2 x2, Where x1");
    expect(tf.memory().numTensors).toBe(before);
    graph.dispose();
  });

  it('an op whose attributes have no layers form is refused by node, after layers were built, without leaks', async () => {
    const graph = await graphModel(
      [
        x4(4, 4, 2),
        { name: 'c', op: '_FusedConv2D', input: ['x', 'w', 'b'], attr: convAttr(1, 'SAME', fused(['BiasAdd', 'Relu'])) },
        { name: 'q', op: 'RealDiv', input: ['c', 'x2'], attr: { T: A.f32 } },
        { name: 'x2', op: 'Sigmoid', input: ['c'], attr: { T: A.f32 } },
      ],
      { w: rnd([3, 3, 2, 3], 26), b: rnd([3], 27) },
    );
    const before = tf.memory().numTensors;
    await expect(graphToLayers(graph, { name: 'div' })).rejects.toThrow(
      "cannot convert graph model 'div': unsupported ops RealDiv x1 (node 'q': division of two tensors has no stock tfjs layer)",
    );
    expect(tf.memory().numTensors).toBe(before);
    graph.dispose();
  });

  it('a parity failure names the output and the difference, and leaks nothing', async () => {
    // x / 3 becomes Rescaling(1/3): the two roundings differ in the last bit for some inputs, so a
    // tolerance of 0 must fail on them (and 1e-5 pass).
    const graph = await graphModel([placeholder('x', [-1, 64]), { name: 'd', op: 'RealDiv', input: ['x', 'three'], attr: { T: A.f32 } }], { three: f32(3) });
    const before = tf.memory().numTensors;
    const ok = await graphToLayers(graph, { samples: 4 });
    expect(ok.report.parity.maxAbsDiff).toBeGreaterThan(0);
    expect(ok.report.parity.maxAbsDiff).toBeLessThanOrEqual(1e-6);
    ok.model.dispose();
    await expect(graphToLayers(graph, { samples: 4, tolerance: 0, name: 'div3' })).rejects.toThrow(
      /^graph model 'div3' -> layers: output 'd' differs from GraphModel.execute by \S+ > tolerance 0 \(4 samples\)$/,
    );
    expect(tf.memory().numTensors).toBe(before);
    graph.dispose();
  });

  it('rejects parity inputs that do not match the model inputs', async () => {
    const cs = CASES['Relu, Relu6, Elu, LeakyRelu, Sigmoid, Tanh, Softmax']!;
    const graph = await graphModel(cs.nodes, cs.consts());
    const x = tf.zeros([2, 10]);
    await expect(graphToLayers(graph, { inputs: [x, x] })).rejects.toThrow(/has 1 inputs, got 2 parity input tensors/);
    x.dispose();
    graph.dispose();
  });
});
