import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '../helpers/backend.js';
import { benchModels } from '../../src/bench/bench.js';
import { randomFeeds } from '../../src/bench/latency.js';
import { openBenchModel } from '../../src/bench/source.js';
import { formatTable } from '../../src/bench/report/table.js';
import { benchReportSchema } from '../../src/bench/report/validate.js';
import { loadModel } from '../../src/model/load.js';
import { modelInputSpecs } from '../../src/model/input-shape.js';
import { REAL_MODELS } from '../helpers/fixtures.js';

/*
 * bench on multi-input / multi-output, recurrent and integer-input models: every input fed
 * (valid token ids for Embedding / Gather inputs), every output's shape reported, outputs equal
 * to stock tfjs on the same feeds. No timing thresholds: only latency-free properties.
 */

const FIXTURES = REAL_MODELS;
const fx = (name: string) => join(FIXTURES, name);

/** Stock tfjs artifacts of a fixture folder, read with plain fs. */
function stockArtifacts(dir: string, file = 'model.json'): tf.io.ModelArtifacts {
  const json = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const specs = json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights);
  const all = Buffer.concat(json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map((p) => readFileSync(join(dir, p)))));
  return { ...json, weightSpecs: specs, weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) };
}

describe('bench feeds every input of multi-input, recurrent and integer models', () => {
  beforeAll(() => useBackend());

  it('finds every input, its dtype and the index range of token-id inputs', async () => {
    const cases: Array<[string, unknown]> = [
      ['tensorspace-acgan-generator', [{ name: 'input_2', shape: [100], dtype: 'float32' }, { name: 'input_3', shape: [1], dtype: 'int32', indexRange: 10 }]],
      ['tfjs-e2e-embedding-gru', [{ name: expect.any(String), shape: [10], dtype: 'float32', indexRange: 100 }]],
      ['reiinakano-lstm-textgen', [{ name: 'lstm_2_input', shape: [40, 57], dtype: 'float32' }]],
      ['tfjs-examples-prefetch-embedding-graph', [{ name: 'cur_page', shape: [], dtype: 'int32', indexRange: 101 }, { name: 'session_index', shape: [], dtype: 'int32' }]],
    ];
    for (const [name, want] of cases) {
      const m = await loadModel(fx(name), { command: 'bench', accept: ['layers', 'graph'] });
      if (m.kind === 'onnx') throw new Error('unexpected');
      expect(modelInputSpecs(m.model), name).toEqual(want);
      m.model.dispose();
    }
    const feeds = randomFeeds([{ name: 'ids', shape: [10], dtype: 'float32', indexRange: 100 }, { name: 'k', shape: [null], dtype: 'int32' }], 4);
    expect(feeds[0]!.shape).toEqual([4, 10]);
    expect(Array.from(feeds[0]!.data).every((v) => Number.isInteger(v) && v >= 0 && v < 100)).toBe(true);
    expect(new Set(feeds[0]!.data).size).toBeGreaterThan(10);
    expect(feeds[1]).toMatchObject({ shape: [4, 1], dtype: 'int32' });
  });

  it('the Embedding + GRU fixture reproduces its golden output through our loader and stock tfjs', async () => {
    const golden = [-0.003578941337764263, 0.0028922036290168762, -0.002957976423203945, 0.00955402385443449];
    const x = tf.tensor([86, 11, 62, 40, 36, 75, 82, 94, 67, 75], [1, 10]);
    const ours = await loadModel(fx('tfjs-e2e-embedding-gru'), { command: 'test', accept: ['layers'] });
    const stock = await tf.loadLayersModel(tf.io.fromMemory(stockArtifacts(fx('tfjs-e2e-embedding-gru'))));
    if (ours.kind !== 'layers') throw new Error('unexpected');
    const a = tf.tidy(() => (ours.model.predict(x) as tf.Tensor).dataSync());
    const b = tf.tidy(() => (stock.predict(x) as tf.Tensor).dataSync());
    golden.forEach((g, i) => {
      expect(Math.abs(a[i]! - g)).toBeLessThan(1e-6);
      expect(Math.abs(b[i]! - g)).toBeLessThan(1e-6);
    });
    ours.model.dispose();
    stock.dispose();
    x.dispose();
  });

  it('ACGAN: a runner feeds both inputs and returns all 7 outputs, equal to stock predict', async () => {
    const m = await openBenchModel(fx('tensorspace-acgan-generator'));
    const runner = await m.open('tfjs-wasm');
    const stock = await tf.loadLayersModel(tf.io.fromMemory(stockArtifacts(fx('tensorspace-acgan-generator'))));
    const feeds = randomFeeds(runner.inputs!, 2, 7);
    const before = tf.memory().numTensors;
    const outs = await runner.runFeeds!(feeds);
    expect(tf.memory().numTensors).toBe(before);
    const ref = tf.tidy(() => {
      const ys = stock.predict(feeds.map((f) => tf.tensor(f.data, f.shape, f.dtype))) as tf.Tensor[];
      return ys.map((y) => ({ shape: y.shape, data: y.dataSync() }));
    });
    expect(outs.map((o) => o.shape)).toEqual([[2, 6272], [2, 7, 7, 128], [2, 14, 14, 128], [2, 14, 14, 128], [2, 28, 28, 128], [2, 28, 28, 64], [2, 28, 28, 1]]);
    outs.forEach((o, k) => {
      expect(o.shape).toEqual(ref[k]!.shape);
      let max = 0;
      for (let i = 0; i < o.data.length; i++) max = Math.max(max, Math.abs(o.data[i]! - ref[k]!.data[i]!));
      expect(max, `output ${k}`).toBeLessThan(1e-4);
    });
    runner.dispose();
    stock.dispose();
    m.dispose();
  });

  it('prefetch graph (two int32 inputs): outputs equal stock GraphModel.predict on the same ids', async () => {
    const m = await openBenchModel(fx('tfjs-examples-prefetch-embedding-graph'));
    const runner = await m.open('tfjs-wasm');
    const stock = await loadGraphModel(tf.io.fromMemory(stockArtifacts(fx('tfjs-examples-prefetch-embedding-graph'))));
    const feeds = randomFeeds(runner.inputs!, 3, 5);
    const [out] = await runner.runFeeds!(feeds);
    const ref = tf.tidy(() =>
      (stock.predict({ cur_page: tf.tensor(feeds[0]!.data, [3], 'int32'), session_index: tf.tensor(feeds[1]!.data, [3], 'int32') }) as tf.Tensor).dataSync(),
    );
    expect(out!.shape).toEqual([3, 101]);
    for (let i = 0; i < ref.length; i++) expect(Math.abs(out!.data[i]! - ref[i]!)).toBeLessThan(1e-5);
    runner.dispose();
    stock.dispose();
    m.dispose();
  });

  it('benchModels times every fixture and reports per-output shapes (no speed thresholds)', async () => {
    const before = tf.memory().numTensors;
    const report = await benchModels({
      models: [fx('tensorspace-acgan-generator'), fx('reiinakano-lstm-textgen'), fx('tfjs-e2e-embedding-gru'), fx('tfjs-examples-prefetch-embedding-graph')],
      runtimes: ['tfjs-default'],
      batches: [2],
      warmup: 0,
      repeats: 1,
      progress: false,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(benchReportSchema.safeParse(report).success).toBe(true);
    for (const m of report.models) {
      expect(m.skipped, m.name).toEqual([]);
      expect(m.latency).toHaveLength(1);
      expect(m.latency[0]!.meanMs).toBeGreaterThan(0);
    }
    const [acgan, lstm, gru, prefetch] = report.models;
    expect(acgan!.outputs!.map((o) => o.shape)).toEqual([[1, 6272], [1, 7, 7, 128], [1, 14, 14, 128], [1, 14, 14, 128], [1, 28, 28, 128], [1, 28, 28, 64], [1, 28, 28, 1]]);
    expect(acgan!.outputs!.map((o) => o.name)).toEqual(['dense_3', 'batch_normalization_3', 'up_sampling2d_1', 'batch_normalization_4', 'up_sampling2d_2', 'batch_normalization_5', 'activation_3']);
    expect(lstm!.outputs).toEqual([{ name: expect.any(String), shape: [1, 57] }]);
    expect(gru!.outputs).toEqual([{ name: expect.any(String), shape: [1, 4] }]);
    expect(prefetch!.outputs).toEqual([{ name: expect.any(String), shape: [1, 101] }]);
    expect(prefetch!.params!.params).toBe(101 * 10 + 11 * 50 + 50 + 50 * 101 + 101);
    const text = formatTable(report);
    expect(text).toMatch(/tensorspace-acgan-generator: inputs input_2 \[100\] float32, input_3 \[1\] int32 \(ids < 10\); outputs dense_3 \[1, 6272\]/);
  });

  it('on onnxruntime too: the exported models get every input, token ids kept in range', async () => {
    const report = await benchModels({
      models: [fx('tensorspace-acgan-generator'), fx('tfjs-e2e-embedding-gru')],
      runtimes: ['onnx'],
      batches: [2],
      warmup: 0,
      repeats: 1,
      progress: false,
    });
    for (const m of report.models) expect(m.skipped, m.name).toEqual([]);
    const [acgan, gru] = report.models;
    expect(acgan!.outputs!.map((o) => o.shape.slice(1))).toEqual([[6272], [7, 7, 128], [14, 14, 128], [14, 14, 128], [28, 28, 128], [28, 28, 64], [28, 28, 1]]);
    expect(gru!.inputs).toEqual([expect.objectContaining({ shape: [10], indexRange: 100 })]);
  });
});
