import * as tf from '@tensorflow/tfjs';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../../src/data/mnist.js';
import { Command } from 'commander';
import { vi } from 'vitest';
import { registerExportCommand } from '../../src/cli/commands/export.js';
import { exportGraphOnnx } from '../../src/export/index.js';
import { useBackend } from '../helpers/backend.js';
import { onnxCheck } from './helpers.js';

const f32 = { type: 'DT_FLOAT' };
const b64 = (s: string) => Buffer.from(s).toString('base64');
const ints = (a: number[]) => ({ list: { i: a.map(String) } });
const strs = (a: string[]) => ({ list: { s: a.map(b64) } });
const conv = { T: f32, data_format: { s: b64('NHWC') }, dilations: ints([1, 1, 1, 1]) };

/**
 * A hand-written GraphDef in the form tensorflowjs_converter emits (fused conv/matmul ops, base64
 * strings): conv(same, s2)+relu -> depthwise+relu6 -> batch norm -> maxpool -> conv -> mean -> matmul -> softmax.
 */
async function graphNet(extraNode?: object): Promise<GraphModel> {
  const w = (shape: number[], seed: number, scale = 0.3) => tf.randomNormal(shape, 0, scale, 'float32', seed);
  const tensors: [string, tf.Tensor][] = [
    ['c1_w', w([3, 3, 1, 8], 1)], ['c1_b', w([8], 2)],
    ['dw_w', w([3, 3, 8, 1], 3)], ['dw_b', w([8], 4)],
    ['bn_s', tf.randomUniform([8], 0.5, 2, 'float32', 5)], ['bn_o', w([8], 6)], ['bn_m', w([8], 7)], ['bn_v', tf.randomUniform([8], 0.5, 2, 'float32', 8)],
    ['c2_w', w([3, 3, 8, 6], 9)], ['mean_axes', tf.tensor1d([1, 2], 'int32')],
    ['fc_w', w([6, 10], 10)], ['fc_b', w([10], 11)],
  ];
  const cnode = (name: string, t: tf.Tensor) => ({
    name, op: 'Const', attr: { dtype: { type: t.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' }, value: { tensor: { dtype: t.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT', tensorShape: { dim: t.shape.map((d) => ({ size: String(d) })) } } } },
  });
  const node = [
    { name: 'image', op: 'Placeholder', attr: { dtype: f32, shape: { shape: { dim: [-1, 28, 28, 1].map((d) => ({ size: String(d) })) } } } },
    ...tensors.map(([n, t]) => cnode(n, t)),
    { name: 'c1', op: '_FusedConv2D', input: ['image', 'c1_w', 'c1_b'], attr: { ...conv, strides: ints([1, 2, 2, 1]), padding: { s: b64('SAME') }, fused_ops: strs(['BiasAdd', 'Relu']), num_args: { i: '1' } } },
    { name: 'dw', op: 'FusedDepthwiseConv2dNative', input: ['c1', 'dw_w', 'dw_b'], attr: { ...conv, strides: ints([1, 1, 1, 1]), padding: { s: b64('SAME') }, fused_ops: strs(['BiasAdd', 'Relu6']), num_args: { i: '1' } } },
    { name: 'bn', op: 'FusedBatchNormV3', input: ['dw', 'bn_s', 'bn_o', 'bn_m', 'bn_v'], attr: { T: f32, U: f32, epsilon: { f: 0.001 }, data_format: { s: b64('NHWC') }, is_training: { b: false } } },
    { name: 'pool', op: 'MaxPool', input: ['bn'], attr: { T: f32, ksize: ints([1, 3, 3, 1]), strides: ints([1, 2, 2, 1]), padding: { s: b64('SAME') }, data_format: { s: b64('NHWC') } } },
    { name: 'c2', op: 'Conv2D', input: ['pool', 'c2_w'], attr: { ...conv, strides: ints([1, 1, 1, 1]), padding: { s: b64('VALID') } } },
    { name: 'c2_relu', op: 'Relu', input: ['c2'], attr: { T: f32 } },
    { name: 'gap', op: 'Mean', input: ['c2_relu', 'mean_axes'], attr: { T: f32, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } } },
    { name: 'fc', op: '_FusedMatMul', input: ['gap', 'fc_w', 'fc_b'], attr: { T: f32, transpose_a: { b: false }, transpose_b: { b: false }, fused_ops: strs(['BiasAdd']), num_args: { i: '1' } } },
    { name: 'probs', op: 'Softmax', input: [extraNode ? 'odd' : 'fc'], attr: { T: f32 } },
    ...(extraNode ? [extraNode] : []),
  ];
  const { data, specs } = await tf.io.encodeWeights(tensors.map(([name, tensor]) => ({ name, tensor })));
  tensors.forEach(([, t]) => t.dispose());
  return loadGraphModel(tf.io.fromMemory({ modelTopology: { node, versions: { producer: 1 }, library: {} }, format: 'graph-model', weightSpecs: specs, weightData: data }));
}

let xs: tf.Tensor;
beforeAll(async () => {
  await useBackend();
  xs = loadMnist({ split: 'test', limit: 16 }).toTensors().xs;
});

describe('graph model -> ONNX (stretch)', () => {
  it('matches GraphModel.execute on MNIST at opsets 13 and 17 and passes onnx_check', async () => {
    const model = await graphNet();
    const dir = mkdtempSync(join(tmpdir(), 'onnx-graph-'));
    const files: string[] = [];
    for (const opset of [13, 17]) {
      const { bytes, report } = await exportGraphOnnx(model, { opset, verify: { inputs: [xs] } });
      expect(report.verify!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
      expect(report.verify!.samples).toBe(16);
      // conv -> depthwise reuse the NCHW tensor: Transposes only where NHWC ops (BN fold, Mean) need them.
      expect(report.opCounts.Conv).toBe(3);
      expect(report.opCounts.Transpose).toBeLessThanOrEqual(4);
      const f = join(dir, `g${opset}.onnx`);
      writeFileSync(f, bytes);
      files.push(f);
    }
    const chk = onnxCheck(files);
    expect(chk.out).not.toContain("\"ok\": false");
    expect(chk.status, chk.out).toBe(0);
    const before = tf.memory().numTensors;
    await exportGraphOnnx(model);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('names unsupported ops before converting', async () => {
    const model = await graphNet({ name: 'odd', op: 'Cumsum', input: ['fc', 'mean_axes'], attr: { T: f32 } });
    await expect(exportGraphOnnx(model)).rejects.toThrow(/unsupported op 'odd' \(Cumsum\)\. Supported ops: .*_FusedConv2D/);
    model.dispose();
  });

  /** Save a graph model as a folder (model.json + weights.bin), as tensorflowjs_converter writes it. */
  async function graphFolder(model: GraphModel): Promise<string> {
    let art: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => ((art = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const dir = mkdtempSync(join(tmpdir(), 'graph-cli-'));
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(tf.io.CompositeArrayBuffer.join(art!.weightData!)));
    writeFileSync(
      join(dir, 'model.json'),
      JSON.stringify({ format: 'graph-model', modelTopology: art!.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: art!.weightSpecs }] }),
    );
    return dir;
  }

  async function runExport(args: string[]): Promise<string> {
    const program = new Command('tfjs-compress').exitOverride();
    registerExportCommand(program);
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    try {
      await program.parseAsync(['node', 'x', 'export', ...args]);
    } finally {
      spy.mockRestore();
    }
    return lines.join('\n');
  }

  it('the CLI exports a graph model folder through graph -> layers -> the layers exporter (ONNX and tfjs)', async () => {
    const model = await graphNet();
    const dir = await graphFolder(model);
    const out = join(dir, 'g.onnx');
    const text = await runExport(['--model', dir, '--format', 'onnx', '--samples', '4', '--out', out]);
    expect(text).toMatch(/graph -> layers: \d+ layers, [\d,]+ params; parity \(layers vs GraphModel.execute, 4 MNIST test images\): max\|diff\| \S+ <= 0.00001 ok/);
    expect(text).toMatch(/wrote .*g.onnx: ONNX opset 13 \(IR 8\), \d+ nodes, weights float32/);
    expect(text).toMatch(/parity \(onnxruntime-node vs tfjs, 4 MNIST test images\): max\|diff\| \S+ <= 0.0001 ok/);
    // The layers path also brings --nchw, --quantize and --format tfjs to graph models.
    const q = await runExport(['--model', dir, '--format', 'onnx', '--nchw', '--quantize', 'int8', '--samples', '4', '--out', join(dir, 'q.onnx')]);
    expect(q).toMatch(/weights int8, NCHW/);
    const t = await runExport(['--model', dir, '--format', 'tfjs', '--samples', '4', '--out', join(dir, 'tfjs')]);
    expect(t).toMatch(/parity \(stock tf.loadLayersModel vs original, 4 MNIST test images\): max\|diff\| 0.00e\+0/);
    const check = onnxCheck([out, join(dir, 'q.onnx')]);
    expect(check.status, check.out).toBe(0);
    model.dispose();
  });

  it('a graph the conversion refuses falls back to the direct graph exporter', async () => {
    // Division of two tensors has no stock tfjs layer, but the graph exporter has an ONNX Div.
    const model = await graphNet({ name: 'odd', op: 'RealDiv', input: ['fc', 'fc'], attr: { T: f32 } });
    const dir = await graphFolder(model);
    const out = join(dir, 'g.onnx');
    const text = await runExport(['--model', dir, '--format', 'onnx', '--samples', '4', '--out', out]);
    expect(text).toMatch(/cannot convert graph model '.*': unsupported ops RealDiv x1 \(node 'odd': division of two tensors has no stock tfjs layer\): using the direct graph-op ONNX exporter/);
    expect(text).toMatch(/from a tfjs graph model[\s\S]*parity \(onnxruntime-node vs GraphModel.execute, 4 seeded random inputs\): max\|diff\| \S+ <= 0.0001 ok/);
    const check = onnxCheck([out]);
    expect(check.status, check.out).toBe(0);
    await expect(runExport(['--model', dir, '--format', 'tfjs', '--out', join(dir, 'tfjs')])).rejects.toThrow(/direct graph exporter only writes --format onnx without --quantize\/--nchw/);
    model.dispose();
  });
});
