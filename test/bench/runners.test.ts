import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { measureLatency, randomInput } from '../../src/bench/latency.js';
import { openOnnxRunner } from '../../src/bench/runner-onnx.js';
import { openBenchModel } from '../../src/bench/source.js';
import { saveLayersModel } from '../../src/model/io.js';
import { saveContainer } from '../../src/serialize/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'bench-runners-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function mlp(seed: number): tf.LayersModel {
  const input = tf.input({ shape: [5] });
  const h = tf.layers.dense({ units: 4, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }), biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: seed + 1 }) }).apply(input) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }), biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: seed + 3 }) }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

const nested = (t: tf.Tensor) => t.arraySync();
const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

/** Reference outputs straight from tfjs's predict on the cpu backend. */
function cpuPredict(model: tf.LayersModel, x: Float32Array, shape: number[]): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor(x, shape)) as tf.Tensor).dataSync() as Float32Array);
}

const python = '/usr/bin/python3';
const hasOnnxPython = existsSync(python) && spawnSync(python, ['-c', 'import onnx, numpy'], { encoding: 'utf8' }).status === 0;

describe('model runners', () => {
  let model: tf.LayersModel;
  const x = randomInput(7, [5], 11);

  beforeAll(async () => {
    await setBackend('cpu');
    model = mlp(3);
  });
  afterAll(() => model.dispose());

  it('tfjs layers folder runs the same on tfjs-cpu and tfjs-wasm, without leaking tensors', async () => {
    await saveLayersModel(model, join(dir, 'mlp'));
    const ref = cpuPredict(model, x, [7, 5]);
    const bm = await openBenchModel(join(dir, 'mlp'));
    expect(bm.kind).toBe('tfjs-layers');
    expect(bm.files.map((f) => f.split('/').pop())).toEqual(['model.json', 'weights.bin']);
    expect((await bm.params())!.params).toBe(5 * 4 + 4 + 4 * 3 + 3);
    for (const rt of ['tfjs-cpu', 'tfjs-wasm'] as const) {
      const r = await bm.open(rt);
      expect(r.inputShape).toEqual([5]);
      const out = await r.run(x, [7, 5]);
      expect(out.shape).toEqual([7, 3]);
      expect(maxAbsDiff(out.data, ref)).toBeLessThan(1e-5);
      const before = tf.memory().numTensors;
      const lat = await measureLatency(r, { batch: 2, warmup: 1, repeats: 3 });
      expect(tf.memory().numTensors).toBe(before);
      expect(lat.count).toBe(3);
      expect(lat.memory.tfPeakBytes).toBeGreaterThan(0);
      r.dispose();
    }
    await setBackend('cpu');
    bm.dispose();
  });

  it.skipIf(!hasOnnxPython)('onnxruntime runner matches tfjs on the same inputs (ONNX built by the onnx Python package)', async () => {
    const [k1, b1, k2, b2] = model.getWeights();
    const spec = { w1: nested(k1!), b1: nested(b1!), w2: nested(k2!), b2: nested(b2!) };
    writeFileSync(join(dir, 'w.json'), JSON.stringify(spec));
    const onnxPath = join(dir, 'mlp.onnx');
    const res = spawnSync(python, [join(here, 'fixtures/make_mlp_onnx.py'), join(dir, 'w.json'), onnxPath], { encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    const r = await openOnnxRunner(onnxPath, { threads: 1 });
    expect(r.kind).toBe('onnx');
    expect(r.inputShape).toEqual([5]);
    const out = await r.run(x, [7, 5]);
    expect(out.shape).toEqual([7, 3]);
    expect(maxAbsDiff(out.data, cpuPredict(model, x, [7, 5]))).toBeLessThan(1e-5);
    r.dispose();
    const bm = await openBenchModel(onnxPath);
    expect(bm.kind).toBe('onnx');
    expect(await bm.unsupported('tfjs-cpu')).toMatch(/runs on onnxruntime only/);
    await expect(bm.open('tfjs-cpu')).rejects.toThrow(/cannot run on tfjs-cpu/);
  });

  it('onnx runner names a broken file', async () => {
    writeFileSync(join(dir, 'bad.onnx'), 'not a model');
    await expect(openOnnxRunner(join(dir, 'bad.onnx'))).rejects.toThrow(/bad\.onnx: onnxruntime cannot load/);
  });

  it('tfjs graph model (hand-written MatMul graph) loads through the file handler', async () => {
    const g = join(dir, 'graph');
    mkdirSync(g, { recursive: true });
    const w = Float32Array.from([1, 0, -1, 2, 0, 0.5]); // [3, 2]
    writeFileSync(join(g, 'w.bin'), new Uint8Array(w.buffer));
    const modelJson = {
      format: 'graph-model',
      generatedBy: 'test',
      convertedBy: 'test',
      modelTopology: {
        node: [
          { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '3' }] } } } },
          { name: 'dense/kernel', op: 'Const', attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '3' }, { size: '2' }] } } }, dtype: { type: 'DT_FLOAT' } } },
          { name: 'y', op: 'MatMul', input: ['x', 'dense/kernel'], attr: { transpose_a: { b: false }, transpose_b: { b: false }, T: { type: 'DT_FLOAT' } } },
        ],
        versions: { producer: 1 },
      },
      weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'dense/kernel', shape: [3, 2], dtype: 'float32' }] }],
    };
    writeFileSync(join(g, 'model.json'), JSON.stringify(modelJson));
    const bm = await openBenchModel(g);
    expect(bm.kind).toBe('tfjs-graph');
    const p = (await bm.params())!;
    expect(p.layers).toHaveLength(1);
    expect(p.layers[0]).toMatchObject({ name: 'dense', className: 'weights', params: 6, nonZero: 4, bytes: 24 });
    expect(p.layers[0]!.sparsity).toBeCloseTo(2 / 6, 12);
    const r = await bm.open('tfjs-cpu');
    // [1,2,3] x [[1,0],[-1,2],[0,0.5]] = [1-2+0, 0+4+1.5] = [-1, 5.5]
    expect(Array.from(await r.predict(Float32Array.from([1, 2, 3]), [1, 3]))).toEqual([-1, 5.5]);
    r.dispose();
    // Graph models reach onnxruntime through graphToLayers + the layers exporter: same hand-computed output.
    expect(await bm.unsupported('onnx')).toBeUndefined();
    const o = await bm.open('onnx');
    expect(Array.from(await o.predict(Float32Array.from([1, 2, 3]), [1, 3]))).toEqual([-1, 5.5]);
    o.dispose();
    bm.dispose();
  });

  it('container files (.tfjsc) are detected and unpacked through src/serialize', async () => {
    const path = join(dir, 'mlp.tfjsc');
    await saveContainer(model, path);
    const copy = join(dir, 'mlp-container.bin'); // no extension: detected by magic bytes
    writeFileSync(copy, (await import('node:fs')).readFileSync(path));
    for (const p of [path, copy]) {
      const bm = await openBenchModel(p);
      expect(bm.kind).toBe('container');
      expect(bm.files).toEqual([p]);
      const r = await bm.open('tfjs-cpu');
      expect(maxAbsDiff(await r.predict(x, [7, 5]), cpuPredict(model, x, [7, 5]))).toBeLessThan(1e-5);
      r.dispose();
      bm.dispose();
    }
  });

  it('names a missing model path', async () => {
    await expect(openBenchModel(join(dir, 'missing'))).rejects.toThrow(/missing does not exist/);
  });
});
