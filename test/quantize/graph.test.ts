import * as tf from '@tensorflow/tfjs';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerPackCommand } from '../../src/cli/commands/pack.js';
import { registerQuantizeCommand } from '../../src/cli/commands/quantize.js';
import { loadMnist } from '../../src/data/mnist.js';
import type { TensorDataset } from '../../src/data/dataset.js';
import { quantizeGraphModel } from '../../src/quantize/index.js';
import { containerStats, fromContainer } from '../../src/serialize/index.js';
import { useBackend } from '../helpers/backend.js';
import { FIXTURES, graphInputs, outputWords, readGraphFolder, stockLoad } from '../serialize/graph-files.js';
import { runCommands } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tfjsc-qgraph-'));
const MNIST = join(FIXTURES, 'keras3-export-mnist-graph');
const EMOTION = join(FIXTURES, 'human-emotion-graph');

/** Run CLI commands in-process and return what they printed. */
const run = (...args: string[]) => runCommands((p) => { registerQuantizeCommand(p); registerPackCommand(p); }, args);

/** IEEE binary16 -> number, written out from the definition (independent of src/quantize/half.ts). */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** Per weight: its stored bytes in a manifest (plain fs read of the folder). */
function storedWeights(a: tf.io.ModelArtifacts): Map<string, { spec: tf.io.WeightsManifestEntry; bytes: Uint8Array }> {
  const width: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 };
  const data = new Uint8Array(a.weightData as ArrayBuffer);
  const out = new Map<string, { spec: tf.io.WeightsManifestEntry; bytes: Uint8Array }>();
  let off = 0;
  for (const spec of a.weightSpecs!) {
    const n = spec.shape.reduce((p, q) => p * q, 1) * width[spec.quantization?.dtype ?? spec.dtype]!;
    out.set(spec.name, { spec, bytes: data.slice(off, off + n) });
    off += n;
  }
  expect(off).toBe(data.length);
  return out;
}

/** Dequantize stored bytes by hand, as the tfjs converter documents it (q * scale + min, or half floats). */
function handDequantize(spec: tf.io.WeightsManifestEntry, bytes: Uint8Array): Float32Array {
  const q = spec.quantization!;
  if (q.dtype === 'float16') return Float32Array.from(new Uint16Array(bytes.buffer), halfToNumber);
  const codes = q.dtype === 'uint8' ? bytes : new Uint16Array(bytes.buffer);
  return Float32Array.from(codes, (c) => c * q.scale! + q.min!);
}

let test: TensorDataset;
let fp32: GraphModel;
let fp32Out: Float32Array;
let xs: tf.Tensor;

beforeAll(async () => {
  await useBackend();
  test = loadMnist({ split: 'test', limit: 300 });
  fp32 = await stockLoad(readGraphFolder(join(MNIST, 'model.json')));
  xs = tf.tensor(test.x, [test.size, 28, 28, 1]);
  fp32Out = tf.tidy(() => (fp32.execute(xs) as tf.Tensor).dataSync() as Float32Array);
});
afterAll(() => {
  fp32.dispose();
  xs.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('quantize graph models to tfjs converter formats', () => {
  it.each([
    ['float16', 2],
    ['uint8', 4],
    ['uint16', 2],
  ] as const)('%s: stock loadGraphModel reads it; weights = hand-dequantized bytes; float weights %dx smaller; outputs close', async (mode, factor) => {
    const out = join(dir, `mnist-${mode}`);
    const log = await run('quantize', '--model', MNIST, '--mode', mode, '--all-weights', '--out', out);
    expect(log).toMatch(new RegExp(`loads with stock tf.loadGraphModel\\), 6 weights quantized with ${mode}`));
    const original = storedWeights(readGraphFolder(join(MNIST, 'model.json')));
    const written = readGraphFolder(join(out, 'model.json'));
    const stored = storedWeights(written);
    const q = await stockLoad(written);
    let floatBefore = 0;
    let floatAfter = 0;
    for (const [name, { spec, bytes }] of stored) {
      const orig = original.get(name)!;
      if (orig.spec.dtype === 'int32') {
        expect(spec.quantization).toBeUndefined();
        expect(bytes).toEqual(orig.bytes); // int32 constants kept exactly
        continue;
      }
      expect(spec.quantization?.dtype).toBe(mode);
      floatBefore += orig.bytes.length;
      floatAfter += bytes.length;
      const loaded = q.weights[name]![0]!.dataSync() as Float32Array;
      const byHand = handDequantize(spec, bytes);
      expect(new Uint32Array(loaded.buffer.slice(0))).toEqual(new Uint32Array(byHand.buffer));
      const values = new Float32Array(orig.bytes.buffer);
      const s = spec.quantization!.scale;
      for (let i = 0; i < values.length; i++) {
        const bound = mode === 'float16' ? Math.abs(values[i]!) * 2 ** -11 + 2 ** -25 : s! / 2 + 1e-7;
        expect(Math.abs(values[i]! - loaded[i]!)).toBeLessThanOrEqual(bound);
      }
    }
    expect(floatBefore / floatAfter).toBe(factor);
    const got = tf.tidy(() => (q.execute(xs) as tf.Tensor).dataSync() as Float32Array);
    let maxDiff = 0;
    for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - fp32Out[i]!));
    // Softmax outputs: uint8 moves probabilities by a few percent at most, 16-bit modes by far less.
    expect(maxDiff).toBeLessThan(mode === 'uint8' ? 0.1 : 2e-3);
    q.dispose();
  }, 30_000);

  it('kernels only by default; accuracy before/after measured on the graph; no tensor leak', async () => {
    const numTensors = tf.memory().numTensors;
    const r = await quantizeGraphModel(fp32, { mode: 'uint8', validation: test });
    expect(tf.memory().numTensors).toBe(numTensors);
    expect(r.weights.map((w) => w.shape.length)).toEqual([4, 4, 2]); // the two conv kernels and the dense kernel
    const biases = r.tfjs!.weightSpecs!.filter((s) => s.shape.length === 1 && s.dtype === 'float32');
    expect(biases.every((s) => !s.quantization)).toBe(true);
    // Independent accuracy of the same quantized file, computed here with the stock loader.
    const q = await stockLoad(r.tfjs!);
    const pred = tf.tidy(() => (q.execute(xs) as tf.Tensor).argMax(1).dataSync());
    q.dispose();
    const correct = Array.from(pred).reduce((a, p, i) => a + (p === test.labels![i] ? 1 : 0), 0);
    expect(r.accuracyAfter).toBeCloseTo(correct / test.size, 10);
    expect(r.accuracyBefore! - r.accuracyAfter!).toBeLessThan(0.01);
    console.log(`keras3 mnist graph uint8: accuracy ${(r.accuracyBefore! * 100).toFixed(2)}% -> ${(r.accuracyAfter! * 100).toFixed(2)}% on ${test.size} samples`);
  }, 30_000);

  it('bad input: unknown skip node and max-accuracy-drop without data fail in one line, nothing leaks or is written', async () => {
    const numTensors = tf.memory().numTensors;
    await expect(quantizeGraphModel(fp32, { mode: 'uint8', skipNodes: ['nope'] })).rejects.toThrow(/^quantize: skip names unknown graph node\(s\) nope; kernel-reading ops include /);
    // The accuracy guard fails after both evaluations: still nothing may leak.
    await expect(quantizeGraphModel(fp32, { mode: 'codebook', bits: 2, validation: test, maxAccuracyDrop: -100 })).rejects.toThrow(/^quantize \(codebook\): accuracy dropped .* more than maxAccuracyDrop -100$/);
    expect(tf.memory().numTensors).toBe(numTensors);
    const out = join(dir, 'never');
    await expect(run('quantize', '--model', MNIST, '--mode', 'int4', '--out', out)).rejects.toThrow(/unknown quantization mode 'int4'/);
    expect(existsSync(out)).toBe(false);
    await expect(run('quantize', '--model', MNIST, '--mode', 'uint8', '--out', MNIST)).rejects.toThrow(/^--out .* would overwrite the input model .*: write to another path$/);
    await expect(run('pack', join(MNIST, 'model.json'), '--out', join(MNIST, 'model.json'))).rejects.toThrow(/would overwrite the input model/);
  });
});

describe('quantize graph models into the container (int8 per channel, codebook)', () => {
  it('depthwise kernels get per-channel scales on axis 2, conv kernels on axis 3; the .tfjsc loads in stock tfjs', async () => {
    const graph = await stockLoad(readGraphFolder(join(EMOTION, 'emotion.json')));
    const r = await quantizeGraphModel(graph, { mode: 'int8-channel' });
    const nodes = (readGraphFolder(join(EMOTION, 'emotion.json')).modelTopology as { node: { name: string; op: string; input?: string[] }[] }).node;
    const opReading = (w: string) => nodes.find((n) => n.input?.[1] === w)?.op;
    let depthwise = 0;
    for (const [name, t] of Object.entries(r.quantized)) {
      if (t.kind !== 'affine') throw new Error('expected affine records');
      const op = opReading(name)!;
      const axis = op.includes('Depthwise') ? 2 : 3;
      if (axis === 2) depthwise++;
      expect([name, t.axis]).toEqual([name, axis]);
      expect(t.scales.length).toBe(t.shape[axis]);
    }
    expect(depthwise).toBe(4);
    const file = join(dir, 'emotion.tfjsc');
    await run('quantize', '--model', EMOTION, '--mode', 'int8-channel', '--out', file);
    const bytes = new Uint8Array(readFileSync(file));
    const encodings = containerStats(bytes).tensors.map((t) => t.encoding);
    expect(encodings.filter((e) => e.startsWith('affine(int8,axis 2)'))).toHaveLength(4);
    // The container's graph = the dequantized deployment graph, bit for bit, in stock tfjs.
    const fromFile = await loadGraphModel(fromContainer(bytes));
    const deployed = await stockLoad(r.artifacts);
    const inputs = graphInputs(graph);
    expect(outputWords(fromFile, inputs)).toEqual(outputWords(deployed, inputs));
    tf.dispose(Object.values(inputs));
    [graph, fromFile, deployed].forEach((m) => m.dispose());
    expect(statSync(file).size).toBeLessThan(statSync(join(EMOTION, 'emotion.bin')).size / 3);
  }, 30_000);

  it('uint16 records are stored as 16-bit codes in the container, loading to the same weights as the tfjs uint16 folder', async () => {
    const file = join(dir, 'mnist-uint16.tfjsc');
    await run('quantize', '--model', MNIST, '--mode', 'uint16', '--all-weights', '--out', file);
    const bytes = new Uint8Array(readFileSync(file));
    const stats = containerStats(bytes);
    expect(stats.tensors.filter((t) => t.encoding.startsWith('affine(uint16,per-tensor)'))).toHaveLength(6);
    const folder = await stockLoad(readGraphFolder(join(dir, 'mnist-uint16', 'model.json')));
    const packed = await loadGraphModel(fromContainer(bytes));
    for (const name of Object.keys(folder.weights)) {
      expect(new Uint32Array((packed.weights[name]![0]!.dataSync() as Float32Array).slice().buffer)).toEqual(
        new Uint32Array((folder.weights[name]![0]!.dataSync() as Float32Array).slice().buffer),
      );
    }
    [folder, packed].forEach((m) => m.dispose());
    expect(bytes.length).toBeLessThan(0.56 * statSync(join(MNIST, 'group1-shard1of1.bin')).size);
  }, 30_000);

  it('codebook to a folder writes the dequantized graph + quantization.json; pack stores the codebook', async () => {
    const out = join(dir, 'mnist-codebook');
    await run('quantize', '--model', MNIST, '--mode', 'codebook', '--bits', '4', '--out', out);
    expect(existsSync(join(out, 'quantization.json'))).toBe(true);
    const file = join(dir, 'mnist-codebook.tfjsc');
    expect(await run('pack', out, '--out', file)).toMatch(/with quantization record/);
    const ks = containerStats(new Uint8Array(readFileSync(file))).tensors.map((t) => /^codebook\(k=(\d+),/.exec(t.encoding)?.[1]).filter(Boolean).map(Number);
    // The three kernels, at most 2^4 shared values each (empty clusters are dropped).
    expect(ks).toHaveLength(3);
    expect(Math.max(...ks)).toBeLessThanOrEqual(16);
  }, 30_000);
});
