import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchModels } from '../../src/bench/bench.js';
import { renderHtml } from '../../src/bench/report/html.js';
import type { BenchReport } from '../../src/bench/report/schema.js';
import { formatTable } from '../../src/bench/report/table.js';
import { TensorDataset, oneHot } from '../../src/data/dataset.js';
import { exportOnnx } from '../../src/export/index.js';
import { fileHandler, saveLayersModel } from '../../src/model/io.js';
import { packArtifacts } from '../../src/serialize/index.js';
import { useBackend } from '../helpers/backend.js';

/*
 * The HTML report as a person sees it: rendered by headless Chromium at 1280 px, with a script
 * (in a test copy only; the report itself has none) that measures the laid-out page and writes
 * the facts into the DOM, read back with --dump-dom.
 */

const dir = mkdtempSync(join(tmpdir(), 'report-layout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 64 -> 32 -> 10 without biases; `zeros[i]` weights of layer i set to exactly 0 (the first ones). */
function mlp(zeros: [number, number], seed: number): tf.LayersModel {
  const input = tf.input({ shape: [64] });
  const h = tf.layers.dense({ units: 32, useBias: false, activation: 'relu', name: 'hidden_layer_with_a_long_name', kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(input) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 10, useBias: false, activation: 'softmax', name: 'logits', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }).apply(h) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: out });
  m.layers.slice(1).forEach((layer, i) => {
    const w = layer.getWeights()[0]!;
    const v = w.dataSync().slice();
    for (let k = 0; k < zeros[i]!; k++) v[k] = 0;
    const t = tf.tensor(v, w.shape);
    layer.setWeights([t]);
    t.dispose();
  });
  return m;
}

// 20/2048 = 0.98 % of the hidden kernel and 256/320 = 80 % of the logits kernel are zero.
const SPARSE: [number, number] = [20, 256];
const N = 64;
const x = Float32Array.from({ length: N * 64 }, (_, i) => Math.sin(i * 0.37));
const labels = Int32Array.from({ length: N }, (_, i) => (i * 7) % 10);
const data = new TensorDataset(x, [64], oneHot(labels, 10), [10], labels);

const chromium = '/usr/bin/chromium';
const hasChromium = existsSync(chromium);
const VIEWPORT = 1280;

/** Runs in the page: every layout fact the test checks, as JSON in <pre id="layout">. */
const MEASURE = `<script>
addEventListener('load', () => {
  const vw = document.documentElement.clientWidth;
  const describe = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.getAttribute('class') ? '.' + e.getAttribute('class') : '');
  const overflowing = [];
  for (const e of document.body.querySelectorAll('*')) {
    // Inside a scroll box or an SVG, the box or the SVG is what must fit.
    if (e.parentElement && (e.parentElement.closest('.scroll') || e.parentElement.closest('svg'))) continue;
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > vw + 0.5 || r.left < -0.5) overflowing.push(describe(e) + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
  }
  const ids = [...document.querySelectorAll('[id]')].map((e) => e.id);
  const charts = [...document.querySelectorAll('svg.chart')].map((svg) => {
    const axisLabels = [...svg.querySelectorAll('.axis-label')].map((t) => t.textContent.trim()).filter(Boolean);
    const ticks = [...svg.querySelectorAll('.tick')].map((t) => t.textContent.trim());
    const tickX = [...svg.querySelectorAll('text.tick')].map((t) => t.getBoundingClientRect().left + t.getBoundingClientRect().width / 2);
    const bars = [...svg.querySelectorAll('rect.bar')].map((b) => ({ value: Number(b.dataset.value), left: b.getBoundingClientRect().left, width: b.getBoundingClientRect().width }));
    const r = svg.getBoundingClientRect();
    return { id: svg.id, axisLabels, ticks, tickX, bars, right: r.right };
  });
  const boxes = [...document.querySelectorAll('.scroll')].map((b) => ({
    overflowX: getComputedStyle(b).overflowX, clientWidth: b.clientWidth, scrollWidth: b.scrollWidth, right: b.getBoundingClientRect().right,
    headers: [...b.querySelectorAll('th')].map((h) => h.textContent),
  }));
  const cells = [...document.querySelectorAll('td')].map((td) => td.textContent);
  const pre = document.createElement('pre');
  pre.id = 'layout';
  pre.textContent = JSON.stringify({ vw, pageWidth: document.documentElement.scrollWidth, overflowing, ids, charts, boxes, cells });
  document.body.appendChild(pre);
});
</script>`;

interface Layout {
  vw: number;
  pageWidth: number;
  overflowing: string[];
  ids: string[];
  charts: Array<{ id: string; axisLabels: string[]; ticks: string[]; tickX: number[]; bars: Array<{ value: number; left: number; width: number }>; right: number }>;
  boxes: Array<{ overflowX: string; clientWidth: number; scrollWidth: number; right: number; headers: string[] }>;
  cells: string[];
}

/** Render `html` in headless Chromium at `width` px and return what the measuring script found. */
function layoutOf(html: string, width: number): Layout {
  const page = join(dir, `page-${width}.html`);
  writeFileSync(page, html.replace('</body>', `${MEASURE}</body>`));
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-first-run', '--hide-scrollbars', `--user-data-dir=${join(dir, 'chrome')}`, `--window-size=${width},900`, '--virtual-time-budget=5000'];
  const dump = spawnSync(chromium, [...flags, '--dump-dom', `file://${page}`], { encoding: 'utf8', timeout: 90_000 });
  expect(dump.status, dump.stderr).toBe(0);
  const m = /<pre id="layout">([^<]*)<\/pre>/.exec(dump.stdout);
  expect(m, 'the measuring script wrote no result').not.toBeNull();
  const text = m![1]!.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return JSON.parse(text) as Layout;
}

let report: BenchReport;
let html: string;

beforeAll(async () => {
  await useBackend();
  const out = join(dir, 'out');
  mkdirSync(join(out, 'onnx'), { recursive: true });
  const base = mlp([0, 0], 1);
  const pruned = mlp(SPARSE, 1);
  await saveLayersModel(base, join(out, 'm'));
  await saveLayersModel(pruned, join(out, 'p'));
  writeFileSync(join(out, 'm.tfjsc'), packArtifacts(await fileHandler(join(out, 'p')).load!()));
  writeFileSync(join(out, 'onnx', 'm.onnx'), (await exportOnnx(pruned)).bytes);
  base.dispose();
  pruned.dispose();
  report = await benchModels({
    // Basenames collide three times over; a fourth, explicitly named, is the same folder again.
    models: [join(out, 'm'), join(out, 'm.tfjsc'), join(out, 'onnx', 'm.onnx'), { name: 'the same baseline under a much longer explicit name', path: join(out, 'm') }],
    runtimes: ['tfjs-cpu', 'tfjs-wasm', 'onnx'],
    batches: [1, 32],
    warmup: 0,
    repeats: 2,
    data,
    dataName: 'synthetic (64)',
    progress: false,
    history: { 'm.tfjsc': { loss: [2.3, 1.9, 1.7], valLoss: [2.4, 2.0, 1.9] } },
  });
  html = renderHtml(report);
}, 240_000);

describe('report content', () => {
  it('labels every model uniquely by its path below the shared folder, or by its explicit name', () => {
    expect(report.models.map((m) => m.name)).toEqual(['m', 'm.tfjsc', 'onnx/m.onnx', 'the same baseline under a much longer explicit name']);
  });

  it('cells with nothing measured say on which runtime and why, in every format', () => {
    const onnx = report.models[2]!;
    expect(onnx.skipped.map((s) => s.runtime)).toEqual(['tfjs-cpu', 'tfjs-wasm']);
    const table = formatTable(report);
    const row = table.split('\n').find((l) => l.startsWith('onnx/m.onnx') && l.includes('not measured'))!;
    expect(row).toContain('not measured on tfjs-cpu (an ONNX file runs on onnxru…)');
    expect(row).toContain('not measured on tfjs-wasm (an ONNX file runs on onnxru…)');
    // Without --data nothing is scored, and the cell says so.
    const unscored = renderHtml({ ...report, options: { ...report.options, dataset: undefined }, models: report.models.map((m) => ({ ...m, quality: undefined })) });
    expect(unscored).toContain('<td class="none">not scored (no test data)</td>');
    expect(html).toContain('not measured on tfjs-cpu (an ONNX file runs on onnxruntime only)');
    expect(html).not.toMatch(/<td>-?<\/td>/);
  });
});

describe.skipIf(!hasChromium)(`report laid out by headless Chromium at ${VIEWPORT} px`, () => {
  let layout: Layout;
  beforeAll(() => {
    layout = layoutOf(html, VIEWPORT);
  }, 120_000);

  it('nothing is wider than the viewport; wide tables scroll in their own box', () => {
    expect(layout.vw).toBeLessThanOrEqual(VIEWPORT);
    expect(layout.vw).toBeGreaterThan(VIEWPORT - 40);
    expect(layout.overflowing).toEqual([]);
    expect(layout.pageWidth).toBeLessThanOrEqual(layout.vw);
    const latency = layout.boxes.find((b) => b.headers.some((h) => h.includes('mean ms')))!;
    expect(latency.overflowX).toBe('auto');
    expect(latency.right).toBeLessThanOrEqual(layout.vw);
    // 3 runtimes x 2 batches x (mean, p95) + the model column.
    expect(latency.headers).toHaveLength(13);
    for (const b of layout.boxes) expect(b.overflowX).toBe('auto');
  });

  it('every chart has an axis label and tick labels, and fits', () => {
    const ids = layout.charts.map((c) => c.id);
    expect(ids).toEqual(expect.arrayContaining(['chart-size', 'chart-latency-tfjs-cpu', 'chart-latency-tfjs-wasm', 'chart-latency-onnx',
      'chart-accuracy-size', 'chart-sparsity-m', 'chart-sparsity-m-tfjsc', 'chart-loss']));
    for (const c of layout.charts) {
      expect(c.axisLabels.length, c.id).toBeGreaterThanOrEqual(1);
      expect(c.ticks.length, c.id).toBeGreaterThanOrEqual(5);
      expect(c.right, c.id).toBeLessThanOrEqual(layout.vw);
    }
  });

  it('element ids are unique', () => {
    const dupes = layout.ids.filter((id, i) => layout.ids.indexOf(id) !== i);
    expect(dupes).toEqual([]);
    expect(layout.ids.length).toBeGreaterThan(8);
  });

  it('per-layer sparsity charts share one labelled 0-100 % axis: bar widths are proportional to sparsity across charts', () => {
    const sparsity = layout.charts.filter((c) => c.id.startsWith('chart-sparsity-'));
    // m, m.tfjsc, the ONNX file (its initializers) and the explicitly named copy of m.
    expect(sparsity).toHaveLength(4);
    const first = sparsity[0]!;
    for (const c of sparsity) {
      expect(c.ticks).toEqual(['0%', '25%', '50%', '75%', '100%']);
      expect(c.axisLabels.join(' ')).toMatch(/zero weights/);
      // Same axis position and length in every chart.
      expect(c.tickX[0]).toBeCloseTo(first.tickX[0]!, 0);
      expect(c.tickX[4]).toBeCloseTo(first.tickX[4]!, 0);
    }
    const axisPx = first.tickX[4]! - first.tickX[0]!;
    const pruned = sparsity.find((c) => c.id === 'chart-sparsity-m-tfjsc')!;
    const [hidden, logits] = pruned.bars;
    expect(hidden!.value).toBeCloseTo(20 / 2048, 12);
    expect(logits!.value).toBeCloseTo(256 / 320, 12);
    // Bars start at the 0 % tick and measure value x axis length (within a pixel).
    for (const b of pruned.bars) {
      expect(b.left).toBeCloseTo(first.tickX[0]!, 0);
      expect(Math.abs(b.width - b.value * axisPx)).toBeLessThan(1);
    }
    expect(hidden!.width).toBeLessThan(logits!.width / 50);
    // The ONNX export of the pruned model: its initializers hold the same zeros (kernels transposed, not changed).
    const onnx = sparsity.find((c) => c.id === 'chart-sparsity-onnx-m-onnx')!;
    expect(onnx.bars.map((b) => b.value).sort()).toEqual(pruned.bars.map((b) => b.value).sort());
    for (const b of onnx.bars) expect(Math.abs(b.width - b.value * axisPx)).toBeLessThan(1);
    // The dense baseline's bars are zero-width at the same scale.
    for (const b of sparsity.find((c) => c.id === 'chart-sparsity-m')!.bars) expect(b.width).toBeLessThan(0.5);
  });

  it('empty cells explain themselves in the rendered page', () => {
    expect(layout.cells).toContain('not measured on tfjs-wasm (an ONNX file runs on onnxruntime only)');
    expect(layout.cells.filter((c) => c.trim() === '' || c.trim() === '-')).toEqual([]);
  });
});
