import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '../helpers/backend.js';
import { describeModel } from '../../src/model/describe.js';
import { loadModel } from '../../src/model/load.js';
import { countNonZeros, summary, type ModelSummary } from '../../src/model/summary.js';
import { REAL_MODELS } from '../helpers/fixtures.js';

/*
 * info on nested and multi-input/-output layers models, checked against stock tfjs loading the
 * same files: every leaf layer listed with its path, per-layer params equal to the weights the
 * stock model holds for that layer, totals equal to countParams().
 */

const FIXTURES = REAL_MODELS;

/** Stock tf.loadLayersModel on the files (no code of ours on the load path). */
async function stockLoad(dir: string): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const specs = json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights);
  const bufs = json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map((p) => readFileSync(join(dir, p))));
  const all = Buffer.concat(bufs);
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) }),
  );
}

/** Params per leaf layer name, from the stock model's weight variables (named `<layer>/<weight>`). */
function stockParamsByLayer(model: tf.LayersModel): Map<string, number> {
  const out = new Map<string, number>();
  for (const w of model.weights) {
    const layer = w.originalName.split('/').slice(0, -1).join('/');
    out.set(layer, (out.get(layer) ?? 0) + (w.shape as number[]).reduce((a, b) => a * b, 1));
  }
  return out;
}

async function check(name: string, expectedParams: number): Promise<{ s: ModelSummary; stock: tf.LayersModel }> {
  const m = await loadModel(join(FIXTURES, name), { command: 'info', accept: ['layers'] });
  if (m.kind !== 'layers') throw new Error('expected a layers model');
  const before = tf.memory().numTensors;
  const s = summary(m.model);
  expect(tf.memory().numTensors).toBe(before);
  m.model.dispose();
  const stock = await stockLoad(join(FIXTURES, name));
  expect(s.params).toBe(stock.countParams());
  expect(s.params).toBe(expectedParams);
  const byLayer = stockParamsByLayer(stock);
  for (const row of s.layers.filter((l) => l.params > 0)) {
    const leaf = row.name.split('/').pop()!;
    expect(row.params, row.name).toBe(byLayer.get(leaf));
  }
  // Every weighted layer of the stock model appears exactly once.
  expect(s.layers.filter((l) => l.params > 0).length).toBe(byLayer.size);
  const nz = stock.weights.reduce((n, w) => n + countNonZeros(w.read().dataSync() as Float32Array), 0);
  expect(s.nonZeros).toBe(nz);
  return { s, stock };
}

describe('info on nested, multi-input/-output and recurrent layers models', () => {
  beforeAll(() => useBackend());

  it('Teachable Machine (Sequential > Sequential > functional MobileNetV2): every inner layer with its path', async () => {
    const { s, stock } = await check('tm-nail-biting-mobilenet', 538508);
    expect(stock.layers).toHaveLength(2); // what info showed before: two rows
    stock.dispose();
    expect(s.layers.length).toBeGreaterThan(150);
    const conv1 = s.layers.find((l) => l.name === 'sequential_1/model1/Conv1')!;
    expect(conv1).toMatchObject({ className: 'Conv2D', params: 3 * 3 * 3 * 16, depth: 2 });
    expect(s.layers.find((l) => l.name === 'sequential_3/dense_Dense2')).toMatchObject({ params: 200, depth: 1 });
    expect(s.layers.filter((l) => l.className === 'DepthwiseConv2D')).toHaveLength(17);
    expect(s.layers.filter((l) => l.className === 'BatchNormalization')).toHaveLength(52);
  });

  it('nsfwjs MobileNetV2 (functional, uint8-quantized weights)', async () => {
    const { s, stock } = await check('nsfwjs-mobilenet-v2', 2619461);
    stock.dispose();
    expect(s.layers).toHaveLength(162);
  });

  it('ACGAN generator: 2 inputs and 7 outputs in the signature', async () => {
    const { s, stock } = await check('tensorspace-acgan-generator', 857705);
    expect(s.inputs.map((i) => [i.shape, i.dtype])).toEqual(stock.inputs.map((t) => [t.shape.map((d) => d ?? -1), t.dtype]));
    expect(s.outputs).toHaveLength(7);
    expect(s.outputs.map((o) => o.shape)).toEqual(stock.outputs.map((t) => t.shape.map((d) => d ?? -1)));
    stock.dispose();
    const d = await describeModel(join(FIXTURES, 'tensorspace-acgan-generator'));
    expect(d.text).toMatch(/^input  \S+ \[\?, 100\] float32\ninput  \S+ \[\?, 1\] int32\noutput \S+ \[\?, 6272\] float32/);
    expect(d.text.split('\n').filter((l) => l.startsWith('output '))).toHaveLength(7);
  });

  it('recurrent models: LSTM and Embedding + GRU rows', async () => {
    const lstm = await check('reiinakano-lstm-textgen', 102585);
    lstm.stock.dispose();
    expect(lstm.s.layers.find((l) => l.className === 'LSTM')!.params).toBe(57 * 512 + 128 * 512 + 512);
    const gru = await check('tfjs-e2e-embedding-gru', 2300);
    gru.stock.dispose();
    expect(gru.s.layers.map((l) => [l.className, l.params])).toEqual([
      ['Embedding', 100 * 20],
      ['GRU', 20 * 12 + 4 * 12 + 12],
    ]);
  });
});
