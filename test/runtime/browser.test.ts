/**
 * The shipped runtime script in a real browser: headless Chromium loads stock tf.min.js and the
 * minified runtime bundle (built here with the exact tsup options of the package), decodes
 * containers the CLI wrote (pruned + codebook, int8, an int8 graph model from a real fixture) and
 * the CLI's uint8 tfjs export with stock `tf.loadLayersModel`, imports the ESM build as a module,
 * and posts its predictions back.
 * They must match Node's predictions of the same files on the cpu backend within 1e-6.
 */
import * as tf from '@tensorflow/tfjs';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeModules, runtimeScript } from '../../tsup.config.js';
import { registerExportCommand } from '../../src/cli/commands/export.js';
import { registerPackCommand } from '../../src/cli/commands/pack.js';
import { registerPruneCommand } from '../../src/cli/commands/prune.js';
import { registerQuantizeCommand } from '../../src/cli/commands/quantize.js';
import { loadMnist } from '../../src/data/mnist.js';
import { loadLayersModelFromFiles } from '../../src/model/io.js';
import { fromContainer } from '../../src/runtime/index.js';
import { useBackend } from '../helpers/backend.js';
import { CHROMIUM_MISSING, hasChromium, runPage } from '../helpers/browser.js';
import { runCommands } from '../helpers/cli.js';
import { REAL_MODELS } from '../helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'runtime-browser-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tfMinJs = join(createRequire(import.meta.url).resolve('@tensorflow/tfjs/package.json'), '..', 'dist', 'tf.min.js');
const N = 4;
const SHAPE = [N, 28, 28, 1];

const cli = (...args: string[]) =>
  runCommands((p) => {
    registerPruneCommand(p);
    registerQuantizeCommand(p);
    registerPackCommand(p);
    registerExportCommand(p);
  }, args);

/** The page: every model predicts the same real MNIST images; results are posted back. */
const PAGE = `<!doctype html><meta charset="utf-8">
<script src="/__report.js"></script>
<script src="/tf.min.js"></script>
<script src="/tfjs-compress-runtime.min.js"></script>
<script>
(async () => {
  await tf.setBackend('cpu');
  const x = tf.tensor(new Float32Array(await (await fetch('/inputs.bin')).arrayBuffer()), ${JSON.stringify(SHAPE)});
  const before = tf.memory().numTensors;
  const predict = async (m) => { const y = m.predict(x); const v = Array.from(await y.data()); y.dispose(); m.dispose(); return v; };
  const out = { backend: tf.getBackend(), hasNodeProcess: typeof process !== 'undefined', api: Object.keys(tfjsCompress).sort() };
  const bytes = new Uint8Array(await (await fetch('/m/pruned-codebook.tfjsc')).arrayBuffer());
  out.prunedCodebook = await predict(await tf.loadLayersModel(tfjsCompress.fromContainer(bytes)));
  out.int8 = await predict(await tfjsCompress.loadFromContainer(tf, '/m/int8.tfjsc'));
  out.graph = await predict(await tf.loadGraphModel(tfjsCompress.fromContainerUrl('/m/graph-int8.tfjsc')));
  const auto = await tfjsCompress.loadFromContainer(tf, '/m/graph-int8.tfjsc');
  out.graphAutoIsGraphModel = auto instanceof tf.GraphModel;
  out.graphAuto = await predict(auto);
  out.web = await predict(await tf.loadLayersModel('/web/model.json'));
  // The ESM build (dist/runtime.js) imports nothing, so a page can load it as a module as is.
  const esm = await import('/runtime.js');
  out.esmInt8 = await predict(await esm.loadFromContainer(tf, '/m/int8.tfjsc'));
  const bad = bytes.slice();
  bad[bad.length - 9] ^= 0xff;
  try { tfjsCompress.unpackArtifacts(bad); out.corrupt = 'accepted'; } catch (e) { out.corrupt = e.message; }
  try { await tfjsCompress.fetchContainer('/m/missing.tfjsc'); out.missing = 'accepted'; } catch (e) { out.missing = e.message; }
  x.dispose();
  out.leaked = tf.memory().numTensors - (before - 1);
  report(out);
})();
</script>`;

interface PageResult {
  backend: string;
  hasNodeProcess: boolean;
  api: string[];
  prunedCodebook: number[];
  int8: number[];
  graph: number[];
  graphAuto: number[];
  graphAutoIsGraphModel: boolean;
  web: number[];
  esmInt8: number[];
  corrupt: string;
  missing: string;
  leaked: number;
}

let inputs: Float32Array;
let bundle: string;
const node: Record<'prunedCodebook' | 'int8' | 'graph' | 'web', number[]> = { prunedCodebook: [], int8: [], graph: [], web: [] };

/** Node's prediction on the cpu backend; the model is freed and no tensor is left behind. */
async function predictInNode(model: tf.LayersModel | { predict(x: tf.Tensor): tf.Tensor | tf.Tensor[] | tf.NamedTensorMap; dispose(): void }): Promise<number[]> {
  const before = tf.memory().numTensors;
  const x = tf.tensor(inputs, SHAPE);
  const y = model.predict(x) as tf.Tensor;
  const values = Array.from(await y.data());
  tf.dispose([x, y]);
  model.dispose();
  expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
  return values;
}

function maxAbsDiff(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('runtime bundle in headless Chromium', () => {
  beforeAll(async () => {
    await useBackend('cpu');
    // The exact options the package ships its script with (tsup.config.ts), into a temp folder.
    await build({ ...runtimeScript, outDir: join(dir, 'bundle'), sourcemap: false, silent: true, config: false });
    bundle = readFileSync(join(dir, 'bundle', 'tfjs-compress-runtime.min.js'), 'utf8');
    await build({ ...runtimeModules, format: ['esm'], outDir: join(dir, 'esm'), sourcemap: false, silent: true, config: false });
    if (!hasChromium) return;
    await cli('prune', '--model', 'zoo:lenet5', '--sparsity', '0.8', '--epochs', '0', '--data', 'mnist', '--test-limit', '100', '--seed', '3', '--out', join(dir, 'pruned'));
    await cli('quantize', '--model', join(dir, 'pruned'), '--mode', 'codebook', '--bits', '4', '--probe', '0', '--out', join(dir, 'm', 'pruned-codebook.tfjsc'));
    await cli('quantize', '--model', 'zoo:cnn', '--mode', 'int8', '--probe', '0', '--out', join(dir, 'm', 'int8.tfjsc'));
    await cli('quantize', '--model', join(REAL_MODELS, 'keras3-export-mnist-graph'), '--mode', 'int8', '--probe', '0', '--out', join(dir, 'm', 'graph-int8.tfjsc'));
    await cli('export', '--model', join(dir, 'pruned'), '--format', 'tfjs', '--quantize', 'uint8', '--out', join(dir, 'web'));
    inputs = loadMnist({ split: 'test', limit: N }).x;
    writeFileSync(join(dir, 'inputs.bin'), new Uint8Array(inputs.buffer, inputs.byteOffset, inputs.byteLength));
    const bytes = (f: string) => new Uint8Array(readFileSync(join(dir, 'm', f)));
    node.prunedCodebook = await predictInNode(await tf.loadLayersModel(fromContainer(bytes('pruned-codebook.tfjsc'))));
    node.int8 = await predictInNode(await tf.loadLayersModel(fromContainer(bytes('int8.tfjsc'))));
    node.graph = await predictInNode(await loadGraphModel(fromContainer(bytes('graph-int8.tfjsc'))));
    node.web = await predictInNode(await loadLayersModelFromFiles(join(dir, 'web')));
  });

  it('the script bundles no tfjs and no Node code: it uses the page\'s global tf', () => {
    expect(bundle.length).toBeGreaterThan(1000);
    for (const marker of ['registerKernel', 'require("fs")', 'require("node:', 'process.versions']) {
      expect(bundle.includes(marker), marker).toBe(false);
    }
  });

  it.skipIf(!hasChromium)(hasChromium ? 'decodes CLI containers and loads the uint8 tfjs export like Node does (<= 1e-6)' : `browser decode: ${CHROMIUM_MISSING}`, async () => {
    const r = await runPage<PageResult>(
      {
        files: { '/index.html': PAGE, '/tf.min.js': { path: tfMinJs }, '/tfjs-compress-runtime.min.js': bundle, '/inputs.bin': { path: join(dir, 'inputs.bin') },
          '/runtime.js': { path: join(dir, 'esm', 'runtime.js') } },
        dirs: { '/m/': join(dir, 'm'), '/web/': join(dir, 'web') },
      },
      '/index.html',
    );
    expect(r.backend).toBe('cpu');
    expect(r.hasNodeProcess).toBe(false);
    expect(r.api).toEqual(expect.arrayContaining(['fromContainer', 'fromContainerUrl', 'loadFromContainer', 'unpackArtifacts', 'dequantize', 'fromHalfBits']));
    for (const key of ['prunedCodebook', 'int8', 'graph', 'web'] as const) {
      expect(r[key]).toHaveLength(N * 10);
      // Outputs that vary (not a constant a broken model would give on both sides).
      expect(Math.max(...r[key]) - Math.min(...r[key]), key).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(r[key], node[key]), key).toBeLessThanOrEqual(1e-6);
    }
    expect(maxAbsDiff(r.esmInt8, node.int8)).toBeLessThanOrEqual(1e-6);
    // A graph container picked tf.loadGraphModel by itself.
    expect(r.graphAutoIsGraphModel).toBe(true);
    expect(maxAbsDiff(r.graphAuto, node.graph)).toBeLessThanOrEqual(1e-6);
    // The models differ from each other, so equal numbers are not an accident of the comparison.
    expect(maxAbsDiff(r.prunedCodebook, r.web)).toBeGreaterThan(0);
    expect(r.corrupt).toMatch(/checksum mismatch in tensor '.+'/);
    expect(r.missing).toMatch(/cannot fetch container '\/m\/missing\.tfjsc': HTTP 404/);
    expect(r.leaked).toBe(0);
  });
});
