import * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBenchCommand } from '../../src/cli/commands/bench.js';
import { registerDistillCommand } from '../../src/cli/commands/distill.js';
import { registerExportCommand } from '../../src/cli/commands/export.js';
import { registerInfoCommands } from '../../src/cli/commands/info.js';
import { registerPackCommand } from '../../src/cli/commands/pack.js';
import { registerPruneCommand } from '../../src/cli/commands/prune.js';
import { registerQuantizeCommand } from '../../src/cli/commands/quantize.js';
import { registerTrainCommand } from '../../src/cli/commands/train.js';
import { loadMnist } from '../../src/data/mnist.js';
import { loadLayersModel } from '../../src/model/load.js';
import { loadOnnxRuntime } from '../../src/util/onnxruntime.js';
import { useBackend } from '../helpers/backend.js';
import { runCommands } from '../helpers/cli.js';
import { REAL, stockGraphModel, stockLayersModel } from '../model/graph-helpers.js';

/*
 * The CLI takes what it makes: `.tfjsc` containers written by `pack` (a layers model and a graph
 * model) go into info, eval, export, quantize, prune and distill (--teacher and --student), and
 * `.onnx` files written by `export` into info, eval and bench. Results are checked against stock
 * tfjs loading the original folders and against onnxruntime-node run directly, on real MNIST.
 */

const root = join(import.meta.dirname, '..', '..');
const GRAPH = join(REAL, 'jsimluken-mnist', 'web_model2');
// jsimluken-mnist was trained on (x - 127.5) / 128.
const SCALE = ['--input-scale', String(1 / 128), '--input-offset', String(-127.5 / 128)];
const N = 500;

/** Run CLI commands in-process; every command leaves tfjs's tensor count where it found it. */
async function run(...args: string[]): Promise<string> {
  const before = tf.memory().numTensors;
  const out = await runCommands((p: Command) => {
    for (const r of [registerTrainCommand, registerPackCommand, registerInfoCommands, registerExportCommand, registerQuantizeCommand, registerPruneCommand, registerDistillCommand, registerBenchCommand]) r(p);
  }, args);
  // (train only makes the fixture here; its tensor accounting is tested in test/train.)
  if (args[0] !== 'train') expect(tf.memory().numTensors, `tensors left by ${args.slice(0, 2).join(' ')}`).toBe(before);
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'cli-artifacts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => join(dir, name);

/** The first N MNIST test digits, raw 0..255, and their labels. */
const raw = loadMnist({ split: 'test', limit: N, normalize: false });
const images = (scale: (v: number) => number) => tf.tensor(Float32Array.from(raw.x, scale), [N, 28, 28, 1]);
const unit = (v: number) => v / 255;
const centred = (v: number) => (v - 127.5) / 128;

/** Argmax of stock-tfjs predictions, and their accuracy on the labels. */
function argmaxOf(predict: (x: tf.Tensor) => tf.Tensor, scale: (v: number) => number): { pred: Int32Array; accuracy: number } {
  const x = images(scale);
  const pred = tf.tidy(() => tf.argMax(predict(x), -1).dataSync() as Int32Array);
  x.dispose();
  return { pred, accuracy: pred.reduce((s, p, i) => s + (p === raw.labels![i] ? 1 : 0), 0) / N };
}

/** Fraction of kernel weights that are exactly zero in a stock-loaded layers model. */
function kernelSparsity(m: tf.LayersModel): number {
  let zeros = 0;
  let total = 0;
  for (const w of m.weights) {
    if (!/kernel/.test(w.name)) continue;
    const v = w.read().dataSync();
    total += v.length;
    for (const x of v) if (x === 0) zeros++;
  }
  return zeros / total;
}

let stockLayersAcc: number;
let stockLayersPred: Int32Array;
let stockGraphAcc: number;
let stockGraphPred: Int32Array;
/** Accuracy of predictions on the first n digits. */
const firstAccuracy = (pred: Int32Array, n: number) => pred.subarray(0, n).reduce((s, p, i) => s + (p === raw.labels![i] ? 1 : 0), 0) / n;

beforeAll(async () => {
  await useBackend();
  // A real trained layers model, packed by the CLI; the graph fixture packed the same way.
  await run('train', '--arch', 'lenet300', '--epochs', '1', '--limit', '5000', '--test-limit', '200', '--no-progress', '--out', at('m'));
  await run('pack', at('m'), '--out', at('m.tfjsc'));
  await run('pack', GRAPH, '--out', at('g.tfjsc'));
  const stock = await stockLayersModel(join(at('m'), 'model.json'));
  ({ pred: stockLayersPred, accuracy: stockLayersAcc } = argmaxOf((x) => stock.predict(x) as tf.Tensor, unit));
  stock.dispose();
  const graph = await stockGraphModel(join(GRAPH, 'model.json'));
  ({ pred: stockGraphPred, accuracy: stockGraphAcc } = argmaxOf((x) => graph.predict(x) as tf.Tensor, centred));
  graph.dispose();
}, 300_000);

describe('info and eval take .tfjsc (layers and graph) and .onnx', () => {
  it('info: a container reports what its folder reports', async () => {
    for (const [container, folder] of [[at('m.tfjsc'), at('m')], [at('g.tfjsc'), GRAPH]] as const) {
      const c = JSON.parse(await run('info', container, '--json'));
      const f = JSON.parse(await run('info', folder, '--json'));
      expect(c.format).toBe('container');
      // Symbolic tensor names carry tfjs's global load counter (input_3, input_4): compare shapes and dtypes.
      const io = (x: Array<{ name: string }>) => x.map(({ name: _n, ...rest }) => rest);
      const same = (x: typeof c) => ({ ...x, model: '', format: '', inputs: io(x.inputs), outputs: io(x.outputs) });
      expect(same(c)).toEqual(same(f));
      expect(c.params).toBeGreaterThan(0);
    }
  });

  it('eval: layers container, its ONNX export and the folder score exactly what stock tfjs scores', async () => {
    await run('export', '--model', at('m.tfjsc'), '--format', 'onnx', '--out', at('m.onnx'));
    const scores = [];
    for (const p of [at('m'), at('m.tfjsc'), at('m.onnx')]) scores.push(JSON.parse(await run('eval', p, '--limit', String(N), '--json')));
    for (const s of scores) {
      expect(s.samples).toBe(N);
      expect(s.accuracy).toBe(stockLayersAcc);
    }
    expect(stockLayersAcc).toBeGreaterThan(0.8);
    // The ONNX loss is onnxruntime's float arithmetic, not tfjs's: equal to a few decimals.
    expect(scores[2].loss).toBeCloseTo(scores[0].loss, 4);
    // onnxruntime run directly (not through the CLI) predicts the same digits as stock tfjs.
    const ort = await loadOnnxRuntime();
    const session = await ort.InferenceSession.create(at('m.onnx'));
    const x = Float32Array.from(raw.x, unit);
    const out = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [N, 28, 28, 1]) }))[session.outputNames[0]!]!.data as Float32Array;
    await session.release();
    const ortPred = Array.from({ length: N }, (_, i) => {
      const row = out.subarray(i * 10, i * 10 + 10);
      return row.indexOf(Math.max(...row));
    });
    expect(ortPred).toEqual(Array.from(stockLayersPred));
  });

  it('eval: the graph container scores what stock tfjs scores on the graph folder', async () => {
    const s = JSON.parse(await run('eval', at('g.tfjsc'), '--limit', String(N), '--json', ...SCALE));
    expect(s.accuracy).toBe(stockGraphAcc);
    expect(stockGraphAcc).toBeGreaterThan(0.97);
  });
});

describe('export, quantize, prune and distill take .tfjsc', () => {
  it('export: ONNX from the graph container and tfjs from the layers container match stock tfjs on the originals', async () => {
    await run('export', '--model', at('g.tfjsc'), '--format', 'onnx', '--out', at('g.onnx'));
    const ort = await loadOnnxRuntime();
    const session = await ort.InferenceSession.create(at('g.onnx'));
    const x = Float32Array.from(raw.x.subarray(0, 64 * 784), centred);
    const onnxOut = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [64, 28, 28, 1]) }))[session.outputNames[0]!]!.data as Float32Array;
    await session.release();
    const graph: GraphModel = await stockGraphModel(join(GRAPH, 'model.json'));
    const ref = tf.tidy(() => (graph.predict(tf.tensor(x, [64, 28, 28, 1])) as tf.Tensor).dataSync());
    graph.dispose();
    expect(Math.max(...Array.from(ref, (v, i) => Math.abs(v - onnxOut[i]!)))).toBeLessThan(1e-4);

    await run('export', '--model', at('m.tfjsc'), '--format', 'tfjs', '--out', at('web'));
    const web = await stockLayersModel(join(at('web'), 'model.json'));
    expect(Array.from(argmaxOf((t) => web.predict(t) as tf.Tensor, unit).pred)).toEqual(Array.from(stockLayersPred));
    web.dispose();
  });

  it('quantize: int8 from a layers container (into a container) and from a graph container (into a graph folder)', async () => {
    await run('quantize', '--model', at('m.tfjsc'), '--mode', 'int8', '--out', at('q.tfjsc'));
    const info = JSON.parse(await run('info', at('q.tfjsc'), '--json'));
    expect(info.format).toBe('container');
    const q = JSON.parse(await run('eval', at('q.tfjsc'), '--limit', String(N), '--json'));
    expect(Math.abs(q.accuracy - stockLayersAcc)).toBeLessThanOrEqual(0.01);
    expect(readFileSync(at('q.tfjsc')).byteLength).toBeLessThan(readFileSync(at('m.tfjsc')).byteLength / 3);

    await run('quantize', '--model', at('g.tfjsc'), '--mode', 'int8', '--out', at('qg'));
    const qg = await stockGraphModel(join(at('qg'), 'model.json'));
    const acc = argmaxOf((x) => qg.predict(x) as tf.Tensor, centred).accuracy;
    qg.dispose();
    expect(Math.abs(acc - stockGraphAcc)).toBeLessThanOrEqual(0.01);
  });

  it('prune: a layers container fine-tuned with a graph-container teacher, and a graph container one-shot', async () => {
    await run('prune', '--model', at('m.tfjsc'), '--teacher', at('g.tfjsc'), '--sparsity', '0.5', '--schedule', 'constant', '--epochs', '1',
      '--limit', '1000', '--test-limit', '200', '--out', at('p'), ...SCALE);
    const p = await stockLayersModel(join(at('p'), 'model.json'));
    expect(kernelSparsity(p)).toBeCloseTo(0.5, 2);
    p.dispose();
    await run('prune', '--model', at('g.tfjsc'), '--sparsity', '0.5', '--epochs', '0', '--out', at('pg'));
    const json = JSON.parse(readFileSync(join(at('pg'), 'model.json'), 'utf8'));
    expect(json.format).toBe('graph-model');
    const pg = await stockGraphModel(join(at('pg'), 'model.json'));
    // The conv/dense kernels (rank >= 2 float weights) are half zero.
    let zeros = 0;
    let total = 0;
    for (const t of Object.values(pg.weights).flat()) {
      if (t.dtype !== 'float32' || t.rank < 2) continue;
      const v = t.dataSync();
      total += v.length;
      for (const x of v) if (x === 0) zeros++;
    }
    pg.dispose();
    expect(zeros / total).toBeCloseTo(0.5, 2);
  });

  it('distill: graph-container teacher into a layers-container student, and a layers-container teacher into a graph-container student', async () => {
    await run('distill', '--teacher', at('g.tfjsc'), '--student', at('m.tfjsc'), '--epochs', '1', '--limit', '1000', '--test-limit', '200', '--out', at('d1'), ...SCALE);
    await run('distill', '--teacher', at('m.tfjsc'), '--student', at('g.tfjsc'), '--epochs', '1', '--limit', '500', '--test-limit', '200', '--out', at('d2'));
    // Each student keeps its architecture: the layers container's, and the graph container's rebuilt as layers.
    const students = [(await loadLayersModel(at('m.tfjsc'), { command: 'test' })).model, (await loadLayersModel(at('g.tfjsc'), { command: 'test' })).model];
    for (const [k, out] of [at('d1'), at('d2')].entries()) {
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      const s = await stockLayersModel(join(out, 'model.json'));
      expect(s.countParams()).toBe(students[k]!.countParams());
      expect(s.layers.map((l) => l.getClassName())).toEqual(students[k]!.layers.map((l) => l.getClassName()));
      s.dispose();
      students[k]!.dispose();
      // The teacher was scored on the first 200 test digits: what stock tfjs gets on them.
      expect(report.teacherAccuracy).toBe(firstAccuracy(k === 0 ? stockGraphPred : stockLayersPred, 200));
    }
  });
});

describe('commands that write folders refuse a container name for --out', () => {
  it('prune and distill say so in one line and write nothing', async () => {
    await expect(run('prune', '--model', at('m.tfjsc'), '--epochs', '1', '--out', at('x.tfjsc'))).rejects.toThrow(
      /^prune --out \S*x\.tfjsc: prune writes a model folder .* tfjs-compress pack <folder> --out \S*x\.tfjsc$/,
    );
    await expect(run('distill', '--teacher', at('m.tfjsc'), '--student', 'zoo:mlp', '--out', at('x.tfjsc'))).rejects.toThrow(/^distill --out \S*x\.tfjsc: distill writes a model folder/);
    expect(existsSync(at('x.tfjsc'))).toBe(false);
  });
});

describe('bench: unique labels and unreadable inputs', () => {
  it('labels out/m and out/m.tfjsc as m and m.tfjsc (or name=path), and the HTML ids are unique', async () => {
    const args = ['--runtime', 'tfjs-cpu', '--batch', '1', '--repeats', '1', '--warmup', '0', '--no-progress'];
    await run('bench', at('m'), at('m.tfjsc'), `graph=${at('g.tfjsc')}`, at('m.onnx'), ...args, '--runtime', 'tfjs-cpu,onnx', '--json', at('b.json'), '--html', at('b.html'));
    const report = JSON.parse(readFileSync(at('b.json'), 'utf8'));
    expect(report.models.map((m: { name: string }) => m.name)).toEqual(['m', 'm.tfjsc', 'graph', 'm.onnx']);
    const html = readFileSync(at('b.html'), 'utf8');
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(4);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(['chart-sparsity-m', 'chart-sparsity-m-tfjsc', 'chart-sparsity-graph']));
  });

  it('a truncated .onnx or .tfjsc fails the run in one line naming the file', async () => {
    const bytes = readFileSync(at('m.onnx'));
    writeFileSync(at('cut.onnx'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    const c = readFileSync(at('m.tfjsc'));
    writeFileSync(at('cut.tfjsc'), c.subarray(0, Math.floor(c.length / 2)));
    const args = ['--runtime', 'tfjs-cpu,onnx', '--batch', '1', '--repeats', '1', '--warmup', '0', '--no-progress'];
    await expect(run('bench', at('m'), at('cut.onnx'), ...args)).rejects.toThrow(/cut\.onnx: not a readable ONNX model/);
    await expect(run('bench', at('m'), at('cut.tfjsc'), ...args)).rejects.toThrow(/cut\.tfjsc/);
    // The real CLI: exit 1, one line on stderr, before anything is timed (onnx runtime only: the cpu backend prints a banner).
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), '--quiet', 'bench', at('m'), at('cut.onnx'), ...args, '--runtime', 'onnx'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tfjs-compress: error: .*cut\.onnx: not a readable ONNX model/);
  });
});

describe('--version', () => {
  it('prints the version in package.json and exits 0', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), flag], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe(pkg.version);
    }
  });
});
