import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  classifyOutcome,
  datasetFromSource,
  discoverModels,
  formatRows,
  lastJson,
  parseAffine,
  parsedParity,
  planSteps,
  scalingFlags,
  scalingFromSource,
  selectSteps,
  stepNames,
  summaryLine,
  totals,
  type FixtureModel,
  type Row,
} from '../../bench/real-models-shared.js';
import { runChild } from '../../bench/real-models.js';
import { useBackend } from '../helpers/backend.js';

const FIXTURES = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'real-models');
const haveFixtures = existsSync(FIXTURES);
const source = (f: string) => readFileSync(join(FIXTURES, f, 'SOURCE.md'), 'utf8');
const PLAN = { evalLimit: 2000, pruneTrainLimit: 10000, timeoutS: 300, fineTuneTimeoutS: 1200 };

beforeAll(async () => {
  await useBackend();
});

describe('parseAffine', () => {
  it('reduces the SOURCE.md expressions to input = raw * scale + offset (hand-computed)', () => {
    expect(parseAffine('(x - 127.5) / 128')).toEqual({ scale: 0.0078125, offset: -0.99609375 });
    expect(parseAffine('x / 255')).toEqual({ scale: 1 / 255, offset: 0 });
    expect(parseAffine('x / 127.5 - 1')).toEqual({ scale: 1 / 127.5, offset: -1 });
    expect(parseAffine('x / 127 − 1')).toEqual({ scale: 1 / 127, offset: -1 });
    const a = parseAffine('(x / 255 − 0.5) × 2')!;
    expect(a.scale).toBeCloseTo(2 / 255, 15);
    expect(a.offset).toBeCloseTo(-1, 15);
    expect(parseAffine('x/255*2-1')!.scale).toBeCloseTo(2 / 255, 15);
  });

  it('rejects what is not an affine function of x', () => {
    for (const e of ['x * x', '(gray − 0.5) × 2', '255', 'x / 0', 'x / (x + 1)', 'x +', 'sqrt(x)', '0 * x']) expect(parseAffine(e), e).toBeUndefined();
  });
});

describe.skipIf(!haveFixtures)('reading the real fixtures', () => {
  it('finds the input scaling each SOURCE.md states', () => {
    const expected: Record<string, [number, number] | undefined> = {
      'jsimluken-mnist': [1 / 128, -127.5 / 128],
      'keras3-export-mnist-graph': [1 / 255, 0],
      'fashion-mnist-keras3': [1 / 255, 0],
      'moonflower-mnist-keras3': [1 / 255, 0],
      'human-emotion-graph': [2 / 255, -1],
      'oarriaga-fer2013-xception-h5': [2 / 255, -1],
      'tfjs-automl-flowers-graph': [1 / 127.5, -1],
      'nsfwjs-mobilenet-v2': [1 / 255, 0],
      'tm-nail-biting-mobilenet': [1 / 127, -1],
      'tfjs-mobilenet-segmentation-graph': undefined, // "unknown"
      'reiinakano-lstm-textgen': undefined, // one-hot, none
      'tfjs-e2e-embedding-gru': undefined,
      'tfjs-examples-prefetch-embedding-graph': undefined,
      'tensorspace-acgan-generator': undefined,
    };
    for (const [fixture, want] of Object.entries(expected)) {
      const got = scalingFromSource(source(fixture));
      if (!want) expect(got, fixture).toBeUndefined();
      else {
        expect(got?.scale, fixture).toBeCloseTo(want[0], 12);
        expect(got?.offset, fixture).toBeCloseTo(want[1], 12);
      }
    }
  });

  it('matches only the 28x28x1 MNIST and Fashion-MNIST models to data', () => {
    const data = Object.fromEntries(
      ['jsimluken-mnist', 'keras3-export-mnist-graph', 'moonflower-mnist-keras3', 'fashion-mnist-keras3', 'human-emotion-graph', 'tensorspace-acgan-generator', 'tfjs-e2e-embedding-gru'].map((f) => [
        f,
        datasetFromSource(source(f)),
      ]),
    );
    expect(data).toEqual({
      'jsimluken-mnist': 'mnist',
      'keras3-export-mnist-graph': 'mnist',
      'moonflower-mnist-keras3': 'mnist',
      'fashion-mnist-keras3': 'fashion-mnist',
      'human-emotion-graph': undefined,
      'tensorspace-acgan-generator': undefined,
      'tfjs-e2e-embedding-gru': undefined,
    });
  });

  it('discovers every model of a fixture with the format SOURCE.md gives', async () => {
    const models = await discoverModels(FIXTURES);
    const of = (f: string) => models.filter((m) => m.fixture === f).map((m) => [m.name, m.family]);
    expect(of('jsimluken-mnist')).toEqual([
      ['jsimluken-mnist/tiny_mnist.h5', 'keras'],
      ['jsimluken-mnist/web_model', 'layers'],
      ['jsimluken-mnist/web_model2', 'graph'],
    ]);
    expect(of('human-emotion-graph')).toEqual([['human-emotion-graph', 'graph']]); // emotion.json, not model.json
    expect(of('tm-nail-biting-mobilenet')).toEqual([['tm-nail-biting-mobilenet', 'layers']]); // metadata.json skipped
    expect(of('moonflower-mnist-keras3').map((m) => m[1])).toEqual(['keras', 'keras']);
    expect(new Set(models.map((m) => m.fixture)).size).toBe(14);
  });
});

describe('step table', () => {
  const graph: FixtureModel = { fixture: 'f', name: 'f/g', relPath: 'g', family: 'graph', dataset: 'mnist', scaling: { expression: '(x - 127.5) / 128', scale: 1 / 128, offset: -127.5 / 128 } };
  const ids = (m: FixtureModel) => planSteps(m, '/in/m', '/out', PLAN).map((s) => s.id);

  it('passes the model scaling as the flags the brief names, none for the default 0..1', () => {
    expect(scalingFlags(graph.scaling)).toEqual(['--input-scale', '0.0078125', '--input-offset', '-0.99609375']);
    expect(scalingFlags({ scale: 1 / 255, offset: 0 })).toEqual([]);
    const evalStep = planSteps(graph, '/in/m', '/out', PLAN).find((s) => s.id === 'eval')!;
    expect(evalStep.args).toEqual(['eval', '/in/m', '--data', 'mnist', '--input-scale', '0.0078125', '--input-offset', '-0.99609375', '--limit', '2000', '--json']);
  });

  it('plans convert and both prunes for a graph model, the 80% prune on the converted model', () => {
    const steps = planSteps(graph, '/in/m', '/out', PLAN);
    expect(steps.map((s) => s.id)).toEqual(['info', 'eval', 'quantize-float16', 'quantize-uint8', 'quantize-int8', 'pack', 'unpack', 'convert', 'prune-50', 'prune-80', 'export-onnx', 'onnx-check', 'export-tfjs']);
    const p80 = steps.find((s) => s.id === 'prune-80')!;
    expect(p80.needs).toBe('convert');
    expect(p80.args[2]).toBe('/out/converted');
    expect(p80.timeoutS).toBe(1200);
    expect(p80.args.join(' ')).toContain('--sparsity 0.8 --data mnist --input-scale 0.0078125');
    expect(steps.find((s) => s.id === 'prune-50')!.args.join(' ')).toContain('--sparsity 0.5 --epochs 0');
    // Export's parity inputs follow the model's scaling, with or without data.
    const noData = planSteps({ ...graph, dataset: undefined }, '/in/m', '/out', PLAN);
    expect(noData.find((s) => s.id === 'export-onnx')!.args).toEqual(['export', '--model', '/in/m', '--format', 'onnx', '--input-scale', '0.0078125', '--input-offset', '-0.99609375', '--out', '/out/model.onnx']);
    expect(noData.find((s) => s.id === 'export-tfjs')!.args).toContain('--input-scale');
  });

  it('prunes a layers model itself, skips convert, and measures no accuracy without data', () => {
    const layers: FixtureModel = { fixture: 'l', name: 'l', relPath: '', family: 'layers' };
    expect(ids(layers)).toEqual(['info', 'quantize-float16', 'quantize-uint8', 'quantize-int8', 'pack', 'unpack', 'export-onnx', 'onnx-check', 'export-tfjs']);
    expect(planSteps(layers, '/in/m', '/out', PLAN).some((s) => s.evalOutput)).toBe(false);
    const withData = planSteps({ ...layers, dataset: 'fashion-mnist' }, '/in/m', '/out', PLAN).find((s) => s.id === 'prune-80')!;
    expect(withData.needs).toBeUndefined();
    expect(withData.args[2]).toBe('/in/m');
    expect(ids({ ...layers, family: 'keras' })).toContain('convert');
    expect(ids({ ...layers, family: 'keras' })).not.toContain('prune-50');
  });

  it('selects steps by id or family and pulls in what they read from', () => {
    const steps = planSteps(graph, '/in/m', '/out', PLAN);
    expect(selectSteps(steps, ['unpack']).map((s) => s.id)).toEqual(['eval', 'pack', 'unpack']);
    expect(selectSteps(steps, ['quantize']).map((s) => s.id)).toEqual(['eval', 'quantize-float16', 'quantize-uint8', 'quantize-int8']);
    expect(selectSteps(steps, ['onnx-check']).map((s) => s.id)).toEqual(['export-onnx', 'onnx-check']);
    expect(selectSteps(steps, ['prune-80']).map((s) => s.id)).toEqual(['eval', 'convert', 'prune-80']);
    expect(selectSteps(steps, [])).toHaveLength(steps.length);
    expect(stepNames(PLAN)).toEqual(expect.arrayContaining(['convert', 'export', 'export-onnx', 'onnx', 'onnx-check', 'prune', 'prune-50', 'quantize', 'quantize-int8']));
  });
});

describe('classifyOutcome', () => {
  const names = ['/tmp/x/web_model2', 'web_model2'];
  const run = (code: number | null, stderr: string, timedOut = false) => classifyOutcome({ code, stderr, timedOut, timeoutS: 300 }, names);

  it('passes exit 0 and counts a one-line refusal that names the model as refused', () => {
    expect(run(0, 'backend: wasm (default)\n')).toEqual({ status: 'pass' });
    const msg = "quantize takes tfjs layers models (folder, model.json, .tfjsc or zoo:name); '/tmp/x/web_model2' is a tfjs graph model";
    expect(run(1, `(node:12) ExperimentalWarning: x\ntfjs-compress: error: ${msg}\n`)).toEqual({ status: 'refused', error: msg });
    expect(run(1, "tfjs-compress: error: graph op 'SpaceToBatchND' is not supported yet\n").status).toBe('refused');
    const keras =
      "info takes tfjs layers models (folder, model.json, .tfjsc or zoo:name), tfjs graph models (converter output), .onnx files; '/tmp/b9/f/tiny_mnist.h5' is a " +
      'Keras HDF5 file: Keras files are not read yet; convert it with `tensorflowjs_converter --input_format keras <file> <folder>` and pass the folder';
    expect(run(1, `tfjs-compress: error: ${keras}\n`)).toEqual({ status: 'refused', error: keras });
    // Cut by the CLI's one-line limit, still a refusal by name.
    const gru = "cannot export model 'sequential_5' to ONNX: unsupported layer 'gru_GRU1' (GRU). Supported layer classes: Activation, Add, AlphaDropout, A…";
    expect(run(1, `tfjs-compress: error: ${gru}\n`).status).toBe('refused');
  });

  it('fails crashes, stack traces, usage dumps, JSON dumps, silent exits and timeouts', () => {
    expect(run(1, "tfjs-compress: error: Cannot read properties of undefined (reading 'shape')\n").status).toBe('fail');
    expect(run(1, "TypeError: x is not a function\n    at foo (a.ts:1:1)\n    at bar (b.ts:2:2)\n").status).toBe('fail');
    const usage = run(1, "error: unknown command 'convert'\n\nUsage: tfjs-compress [options] [command]\n\nCommands:\n  info\n");
    expect(usage).toEqual({ status: 'fail', error: "error: unknown command 'convert' (+3 lines)" });
    expect(run(1, 'tfjs-compress: error: /tmp/x/web_model2: cannot load layers model (layer: Improper config format: {"node":[{"name"…\n').status).toBe('fail');
    expect(run(1, 'tfjs-compress: error: something went wrong\n').status).toBe('fail'); // names nothing
    expect(run(1, "tfjs-compress: error: graph model: node 'output_0' is referenced but not defined\n").status).toBe('fail'); // a bug, not a refusal
    expect(run(3, '')).toEqual({ status: 'fail', error: 'exit 3 with no message on stderr' });
    expect(run(null, '', true)).toEqual({ status: 'fail', error: 'timed out after 300 s (process group killed)' });
  });

  it('reads the last state of a progress line and ignores it as noise', () => {
    const r = run(1, "prune epoch 1/2 10%\rprune epoch 1/2 50%\ntfjs-compress: error: '--input-scale' needs --data\n");
    expect(r).toEqual({ status: 'refused', error: "'--input-scale' needs --data" });
  });
});

describe('figures and summary', () => {
  it('reads one-line and pretty-printed --json output', () => {
    expect(lastJson('backend: wasm\n{"accuracy":0.98,"samples":2000}\n')).toEqual({ accuracy: 0.98, samples: 2000 });
    expect(lastJson(JSON.stringify({ model: 'm', layers: [{ name: 'a' }], params: 3 }, null, 2) + '\n')).toEqual({ model: 'm', layers: [{ name: 'a' }], params: 3 });
    expect(lastJson('wrote x\n{not json\n')).toBeUndefined();
    expect(lastJson('[1, 2]\n')).toBeUndefined();
  });

  it('reads the parity figure export prints', () => {
    expect(parsedParity('wrote a.onnx\nparity (onnxruntime-node vs tfjs, 64 MNIST test images): max|diff| 1.23e-6 <= 0.0001 ok\n')).toBe(1.23e-6);
    expect(parsedParity('parity (stock tf.loadLayersModel vs original, 64 inputs): max|diff| 0')).toBe(0);
    expect(parsedParity('wrote x')).toBeUndefined();
    const graphExport = [
      'graph -> layers: 8 layers, 34,826 params; parity (layers vs GraphModel.execute, 8 MNIST test images): max|diff| 0.00e+0 <= 0.00001 ok',
      'wrote m.onnx: ONNX opset 13 (IR 8), 10 nodes, weights float32',
      'parity (onnxruntime-node vs tfjs, 64 MNIST test images): max|diff| 1.19e-7 <= 0.0001 ok',
    ].join('\n');
    expect(parsedParity(graphExport)).toBe(1.19e-7);
  });

  it('counts passes per format and accuracy kept within 1 pp, refused steps not passed', () => {
    const row = (family: Row['family'], status: Row['status'], before?: number, after?: number): Row => ({ model: 'm', family, step: 's', status, seconds: 1, accuracyBefore: before, accuracyAfter: after });
    const rows = [
      row('graph', 'pass', 0.99, 0.98), // exactly 1 pp: kept
      row('graph', 'refused'),
      row('graph', 'blocked'),
      row('layers', 'pass', 0.9, 0.8),
      row('layers', 'pass', 0.97), // eval: the baseline, no after
      row('keras', 'fail'),
    ];
    const t = totals(rows);
    expect([t.refused, t.failed, t.blocked]).toEqual([1, 1, 1]);
    expect(summaryLine(t)).toBe(
      'B9 real-models: 3/6 steps pass (graph models 1/3, layers models 2/2, keras files 0/1); accuracy kept within 1 pp on 1/2 measured steps',
    );
  });

  it('prints one table row per step and the errors of the steps that did not pass', () => {
    const text = formatRows([
      { model: 'jsimluken-mnist/web_model', family: 'layers', step: 'eval', status: 'pass', seconds: 3.14, accuracyBefore: 0.9915 },
      { model: 'keras3-export-mnist-graph', family: 'graph', step: 'quantize-int8', status: 'refused', seconds: 1, error: "quantize takes layers; 'g' is a graph model" },
    ]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^model\s+format\s+step\s+status\s+s\s+bytes\s+gzip\s+acc before\s+acc after\s+parity$/);
    expect(lines[2]).toContain('99.15');
    expect(lines[2]!.length).toBe(lines[0]!.length);
    expect(lines.slice(-2)).toEqual(['not passed:', "  keras3-export-mnist-graph quantize-int8 (refused): quantize takes layers; 'g' is a graph model"]);
  });
});

describe('runChild', () => {
  // A killed process whose parent is gone may stay a zombie (state Z) when PID 1 does not reap it.
  const alive = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z';
    } catch {
      return false;
    }
  };

  it('captures exit code and output', async () => {
    const r = await runChild('/bin/sh', ['-c', 'echo out; echo err >&2; exit 3'], 10, process.cwd());
    expect([r.code, r.stdout, r.stderr, r.timedOut]).toEqual([3, 'out\n', 'err\n', false]);
  });

  it('kills the whole process group on timeout, grandchildren included', async () => {
    const r = await runChild('/bin/sh', ['-c', 'sleep 30 & echo $!; wait'], 0.5, process.cwd());
    expect(r.timedOut).toBe(true);
    expect(r.seconds).toBeLessThan(5);
    const grandchild = Number(r.stdout.trim());
    expect(grandchild).toBeGreaterThan(0);
    for (let i = 0; i < 20 && alive(grandchild); i++) await new Promise((ok) => setTimeout(ok, 50));
    expect(alive(grandchild)).toBe(false);
  });
});
