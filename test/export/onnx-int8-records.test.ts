import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerQuantizeCommand } from '../../src/cli/commands/quantize.js';
import { encodeWeight, exportOnnx, modelProtoType } from '../../src/export/index.js';
import { recordsFromContainer } from '../../src/export/onnx/records.js';
import { buildZooModel } from '../../src/model/zoo.js';
import { quantizeAffine } from '../../src/quantize/affine.js';
import { quantizeModel, type AffineTensor, type CodebookTensor, type QuantizedWeights } from '../../src/quantize/index.js';
import { packModel } from '../../src/serialize/index.js';
import { useBackend } from '../helpers/backend.js';
import { runCommands } from '../helpers/cli.js';
import { runExportCli } from './cli-helpers.js';
import { onnxCheck } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'onnx-int8-records-'));

beforeAll(async () => {
  await useBackend();
});

/** Initializers of an ONNX file, decoded with protobufjs and the ONNX schema (no exporter code). */
function initializers(bytes: Uint8Array): Map<string, { dims: number[]; raw: Uint8Array; dataType: number }> {
  const T = modelProtoType();
  const m = T.toObject(T.decode(bytes), { longs: Number, arrays: true }) as { graph: { initializer: { name: string; dims: number[]; rawData: Uint8Array; dataType: number }[] } };
  return new Map(m.graph.initializer.map((t) => [t.name, { dims: t.dims.map(Number), raw: Uint8Array.from(t.rawData), dataType: t.dataType }]));
}

const floats = (raw: Uint8Array) => new Float32Array(raw.slice().buffer);
const bytesOf = (a: ArrayLike<number>) => Uint8Array.from(Int8Array.from(a), (v) => v & 0xff);

/** A tfjs conv kernel [kh, kw, in, out] in ONNX order [out, in, kh, kw], element by element. */
function hwioToOihw(v: ArrayLike<number>, [kh, kw, ci, co]: number[]): number[] {
  const out: number[] = [];
  for (let o = 0; o < co!; o++) for (let i = 0; i < ci!; i++) for (let y = 0; y < kh!; y++) for (let x = 0; x < kw!; x++) out.push(v[((y * kw! + x) * ci! + i) * co! + o]!);
  return out;
}

describe('quantizeAffine symmetric (the one quantizer behind ONNX int8 weights)', () => {
  it('zero point 0, scale = max|x| / 127 per channel, codes in -127..127, error <= scale / 2', () => {
    const v = Float32Array.from({ length: 60 }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 3)));
    const t = quantizeAffine(v, [20, 3], { axis: 1, symmetric: true });
    expect(Array.from(t.zeroPoints)).toEqual([0, 0, 0]);
    for (let c = 0; c < 3; c++) {
      const m = Math.max(...Array.from({ length: 20 }, (_, r) => Math.abs(v[r * 3 + c]!)));
      expect(t.scales[c]).toBe(Math.fround(m / 127));
    }
    v.forEach((x, i) => {
      expect(Math.abs(t.q[i]!)).toBeLessThanOrEqual(127);
      expect(Math.abs(t.q[i]! * t.scales[i % 3]! - x)).toBeLessThanOrEqual(t.scales[i % 3]! / 2 + 1e-7);
    });
    expect(() => quantizeAffine(v, [60], { dtype: 'uint8', symmetric: true })).toThrow(/symmetric needs dtype int8/);
  });

  it('tfjs uint8 encoding keeps a range that excludes 0 (BN variances) on the data: min = smallest value', () => {
    const v = Float32Array.of(0.5, 0.75, 2, 1.25);
    const e = encodeWeight({ name: 'v', shape: [4], dtype: 'float32' }, v, 'uint8');
    const { scale, min } = e.spec.quantization as { scale: number; min: number };
    expect(min).toBeCloseTo(0.5, 6);
    expect(scale).toBeCloseTo(1.5 / 255, 7);
    Array.from(e.bytes).forEach((q, i) => expect(Math.abs(q * scale + min - v[i]!)).toBeLessThanOrEqual(scale / 2 + 1e-7));
  });
});

describe('ONNX export writes what was measured', () => {
  it('weight-only int8 without records: codes are round(w / (max|w_c| / 127)) per output channel', async () => {
    const model = buildZooModel('cnn', { seed: 5 });
    const { bytes } = await exportOnnx(model, { weights: 'int8' });
    const k = model.getLayer('conv_2').getWeights()[0]!;
    const w = k.dataSync();
    const shape = k.shape;
    const co = shape[3]!;
    const scale = Array.from({ length: co }, (_, c) => Math.fround(Math.max(...Array.from({ length: w.length / co }, (_, j) => Math.abs(w[j * co + c]!))) / 127));
    const expected = hwioToOihw(Array.from(w, (x, i) => Math.round(x / scale[i % co]!)), shape);
    const init = initializers(bytes);
    expect(Array.from(init.get('conv_2/kernel_int8')!.raw)).toEqual(Array.from(bytesOf(expected)));
    expect(Array.from(floats(init.get('conv_2/kernel_scale')!.raw))).toEqual(scale);
    model.dispose();
  });

  it('int8-channel records: stored codes, scales and zero points byte for byte, parity with the quantized model', async () => {
    const model = buildZooModel('cnn', { seed: 6 });
    const q = await quantizeModel(model, { mode: 'int8-channel', maxTensorError: Infinity });
    const before = tf.memory().numTensors;
    const { bytes, report } = await exportOnnx(q.model, { records: q.quantized });
    expect(tf.memory().numTensors).toBe(before);
    expect(report.verify!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    const init = initializers(bytes);
    for (const name of ['conv_1/kernel', 'conv_2/kernel']) {
      const r = q.quantized[name] as AffineTensor;
      expect(r.kind).toBe('affine');
      expect(Array.from(init.get(`${name}_int8`)!.raw)).toEqual(Array.from(bytesOf(hwioToOihw(r.q, r.shape))));
      expect(Array.from(floats(init.get(`${name}_scale`)!.raw))).toEqual(Array.from(r.scales));
      expect(Array.from(new Int8Array(init.get(`${name}_zero_point`)!.raw.buffer))).toEqual(Array.from(r.zeroPoints));
    }
    // The logits kernel keeps tfjs's [in, out] order in Gemm.
    const lr = q.quantized['logits/kernel'] as AffineTensor;
    expect(Array.from(init.get('logits/kernel_int8')!.raw)).toEqual(Array.from(bytesOf(lr.q)));
    // dense_1 reads the channels-first flatten: its rows are reordered, each column's codes are the same multiset.
    const dr = q.quantized['dense_1/kernel'] as AffineTensor;
    const got = new Int8Array(init.get('dense_1/kernel_int8')!.raw.buffer);
    const [rows, cols] = dr.shape as [number, number];
    for (const c of [0, 17, cols - 1]) {
      const col = (a: ArrayLike<number>) => Array.from({ length: rows }, (_, r) => a[r * cols + c]!).sort((x, y) => x - y);
      expect(col(got)).toEqual(col(dr.q));
    }
    q.model.dispose();
    model.dispose();
  });

  it('codebook records: uint8 indices and the centroid table exactly, looked up with Gather', async () => {
    const model = buildZooModel('lenet300', { seed: 7 });
    const q = await quantizeModel(model, { mode: 'codebook', bits: 4, maxTensorError: Infinity });
    const { bytes, report } = await exportOnnx(q.model, { records: q.quantized });
    expect(report.opCounts.Gather).toBe(3);
    expect(report.verify!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    const init = initializers(bytes);
    const r = q.quantized['dense_1/kernel'] as CodebookTensor;
    expect(Array.from(init.get('dense_1/kernel_indices')!.raw)).toEqual(Array.from(r.assignments, (a) => a + 1));
    expect(Array.from(floats(init.get('dense_1/kernel_centroids')!.raw))).toEqual([0, ...Array.from(r.centroids)]);
    // ~4 bits of information per weight stored in one byte: about 4x smaller than float32.
    expect(report.bytes).toBeLessThan((model.countParams() * 4) / 3.5);
    q.model.dispose();
    model.dispose();
  });

  it('float16 records: the stored bit patterns, cast to float32 in the graph', async () => {
    const model = buildZooModel('lenet300', { seed: 9 });
    const q = await quantizeModel(model, { mode: 'float16', maxTensorError: Infinity });
    const { bytes, report } = await exportOnnx(q.model, { records: q.quantized });
    expect(report.recordsWritten.sort()).toEqual(['dense_1/kernel', 'dense_2/kernel', 'logits/kernel']);
    expect(report.verify!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    const bits = (q.quantized['dense_2/kernel'] as { bits: Uint16Array }).bits;
    expect(Array.from(new Uint16Array(initializers(bytes).get('dense_2/kernel_f16')!.raw.buffer))).toEqual(Array.from(bits));
    q.model.dispose();
    model.dispose();
  });

  it('a .tfjsc container gives its records back, and export of the container writes them exactly', async () => {
    const model = buildZooModel('cnn', { seed: 8 });
    const q = await quantizeModel(model, { mode: 'int8-channel', maxTensorError: Infinity });
    const packed = await packModel(q.model, { quantized: q.quantized });
    const records: QuantizedWeights = recordsFromContainer(packed);
    for (const [name, rec] of Object.entries(q.quantized) as [string, AffineTensor][]) {
      const back = records[name] as AffineTensor;
      expect(back.kind, name).toBe('affine');
      expect(Array.from(back.q)).toEqual(Array.from(rec.q));
      expect(Array.from(back.scales)).toEqual(Array.from(rec.scales));
      expect(Array.from(back.zeroPoints)).toEqual(Array.from(rec.zeroPoints));
      expect(back.axis).toBe(rec.axis);
    }
    const file = join(dir, 'cnn.tfjsc');
    writeFileSync(file, packed);
    const out = join(dir, 'cnn-records.onnx');
    const text = await runExportCli(['--model', file, '--format', 'onnx', '--samples', '16', '--out', out]);
    expect(text).toMatch(/4 quantized weight record\(s\) from .*cnn\.tfjsc written exactly as stored/);
    const lr = q.quantized['logits/kernel'] as AffineTensor;
    expect(Array.from(initializers(readFileSync(out)).get('logits/kernel_int8')!.raw)).toEqual(Array.from(bytesOf(lr.q)));
    expect(onnxCheck([out]).status).toBe(0);
    q.model.dispose();
    model.dispose();
  });

  it('a model folder written by `quantize` (quantization.json sidecar) exports its stored int8 codes', async () => {
    const qdir = join(dir, 'q-int8');
    await runCommands(registerQuantizeCommand, ['quantize', '--model', 'zoo:lenet300', '--mode', 'int8', '--max-tensor-error', 'Infinity', '--out', qdir]);
    const sidecar = JSON.parse(readFileSync(join(qdir, 'quantization.json'), 'utf8')) as { weights: Record<string, unknown> };
    expect(Object.keys(sidecar.weights)).toContain('dense_1/kernel');
    const out = join(dir, 'lenet300-records.onnx');
    const text = await runExportCli(['--model', qdir, '--format', 'onnx', '--samples', '16', '--out', out]);
    expect(text).toMatch(/3 quantized weight record\(s\)/);
    const { quantizedWeightsFromJson } = await import('../../src/quantize/index.js');
    const rec = quantizedWeightsFromJson(sidecar)['dense_2/kernel'] as AffineTensor;
    const init = initializers(readFileSync(out));
    expect(Array.from(init.get('dense_2/kernel_int8')!.raw)).toEqual(Array.from(bytesOf(rec.q)));
    expect(floats(init.get('dense_2/kernel_scale')!.raw)[0]).toBe(rec.scales[0]);
    expect(new Int8Array(init.get('dense_2/kernel_zero_point')!.raw.buffer)[0]).toBe(rec.zeroPoints[0]);
    expect(onnxCheck([out]).status).toBe(0);
  });
});
