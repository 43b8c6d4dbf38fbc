import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { benchModels } from '../../src/bench/bench.js';
import { renderHtml } from '../../src/bench/report/html.js';
import { formatMarkdown } from '../../src/bench/report/markdown.js';
import type { BenchReport } from '../../src/bench/report/schema.js';
import { formatTable } from '../../src/bench/report/table.js';
import { benchReportSchema } from '../../src/bench/report/validate.js';
import { readReport, writeReports } from '../../src/bench/report/write.js';
import { registerBenchCommand } from '../../src/cli/commands/bench.js';
import { TensorDataset, oneHot } from '../../src/data/dataset.js';
import { saveLayersModel } from '../../src/model/io.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Dense 4 -> 3 with a chosen kernel; output = x · kernel. */
function linear(kernel: number[][], name: string): tf.LayersModel {
  const input = tf.input({ shape: [4] });
  const out = tf.layers.dense({ units: 3, useBias: false, name: 'fc' }).apply(input) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: out, name });
  const k = tf.tensor(kernel);
  m.getLayer('fc').setWeights([k]);
  k.dispose();
  return m;
}

// Input i has a 1 in column (i % 3); label = i % 3. Baseline kernel maps column c to class c
// (all right); the pruned one zeroes column 2's row, so class-2 samples score [0,0,0] -> argmax 0.
const N = 12;
const x = new Float32Array(N * 4);
const labels = Int32Array.from({ length: N }, (_, i) => i % 3);
labels.forEach((c, i) => (x[i * 4 + c] = 1));
const data = new TensorDataset(x, [4], oneHot(labels, 3), [3], labels);
const BASE = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0.5]];
const PRUNED = [[1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 0]];

let report: BenchReport;

describe('bench reports', () => {
  beforeAll(async () => {
    await setBackend('cpu');
    const before = tf.memory().numTensors;
    const base = linear(BASE, 'base');
    const pruned = linear(PRUNED, 'pruned');
    report = await benchModels({
      models: [{ name: 'base', model: base }, { name: 'pruned', model: pruned }],
      runtimes: ['tfjs-cpu', 'tfjs-wasm', 'onnx'],
      batches: [1, 4],
      warmup: 1,
      repeats: 4,
      data,
      dataName: 'hand-built',
      progress: false,
      history: { pruned: { loss: [1.2, 0.8, 0.5], valLoss: [1.3, 0.9, 0.7] } },
    });
    base.dispose();
    pruned.dispose();
    expect(tf.memory().numTensors).toBe(before);
    for (const m of report.models) for (const k of m.skipped) console.log(`not measured: ${m.name} ${k.runtime}: ${k.reason}`);
  });

  it('measures every runtime and batch, with consistent ratios vs the baseline', () => {
    const [b, p] = report.models as [BenchReport['models'][0], BenchReport['models'][0]];
    expect(report.options.runtimes).toEqual(['tfjs-cpu', 'tfjs-wasm', 'onnx']);
    for (const m of report.models) {
      const measured = m.latency.map((l) => `${l.runtime}@${l.batch}`);
      const onnxSkipped = m.skipped.some((s) => s.runtime === 'onnx');
      expect(measured).toEqual(['tfjs-cpu@1', 'tfjs-cpu@4', 'tfjs-wasm@1', 'tfjs-wasm@4', ...(onnxSkipped ? [] : ['onnx@1', 'onnx@4'])]);
      for (const l of m.latency) {
        expect(l.count).toBe(4);
        expect(l.minMs).toBeLessThanOrEqual(l.p50Ms);
        expect(l.p50Ms).toBeLessThanOrEqual(l.p95Ms);
        expect(l.p95Ms).toBeLessThanOrEqual(l.maxMs);
        expect(l.samplesPerSec).toBeCloseTo((l.batch * 1000) / l.meanMs, 6);
      }
      expect(m.coldStart.length).toBe(onnxSkipped ? 2 : 3);
    }
    expect(b.quality).toMatchObject({ task: 'classification', accuracy: 1, runtime: 'tfjs-cpu', dataset: 'hand-built' });
    expect(p.quality).toMatchObject({ task: 'classification', accuracy: 8 / 12 });
    expect(p.vsBaseline!.accuracyDelta).toBeCloseTo(8 / 12 - 1, 12);
    expect(p.vsBaseline!.sizeRatio).toBeCloseTo(p.size.totalBytes / b.size.totalBytes, 12);
    expect(p.vsBaseline!.gzipRatio).toBeCloseTo(p.size.totalGzipBytes / b.size.totalGzipBytes, 12);
    expect(p.vsBaseline!.latencyRatio['tfjs-cpu@4']).toBeCloseTo(p.latency[1]!.meanMs / b.latency[1]!.meanMs, 12);
    // Same shapes, so same raw bytes; the zeros make the pruned weights gzip smaller.
    expect(p.params).toMatchObject({ params: 12, nonZero: 2 });
    expect(p.size.totalGzipBytes).toBeLessThanOrEqual(b.size.totalGzipBytes);
  });

  it('JSON validates against the documented schema and round-trips through readReport', () => {
    writeReports(report, { json: join(dir, 'r.json'), md: join(dir, 'r.md'), html: join(dir, 'r.html') });
    const raw = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
    expect(benchReportSchema.safeParse(raw).success).toBe(true);
    expect(raw.schemaVersion).toBe(1);
    expect(readReport(join(dir, 'r.json'))).toEqual(raw);
    const broken = { ...raw, models: [{ ...raw.models[0], size: { ...raw.models[0].size, totalBytes: 'big' } }] };
    writeReports({ ...broken } as BenchReport, { json: join(dir, 'bad.json') });
    expect(() => readReport(join(dir, 'bad.json'))).toThrow(/field 'models\.0\.size\.totalBytes'/);
  });

  it('table and Markdown list the baseline first with ratios and accuracy delta', () => {
    const t = formatTable(report);
    const lines = t.split('\n');
    expect(lines[2]).toMatch(/^base \(baseline\)/);
    expect(lines[3]).toMatch(/^pruned .* -33\.33 pp$/);
    const md = formatMarkdown(report);
    expect(md).toContain('| base (baseline) | tfjs-layers |');
    expect(md).toMatch(/## Latency/);
    expect(md).toMatch(/\| pruned \| [\d.]+ \([\d.]+x\) \|/);
  });

  it('CLI: bench <model...> writes JSON/Markdown/HTML', async () => {
    const base = linear(BASE, 'base');
    await saveLayersModel(base, join(dir, 'cli-base'));
    base.dispose();
    const program = new Command().exitOverride();
    registerBenchCommand(program);
    const logs: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => void logs.push(a.join(' '));
    try {
      await program.parseAsync(['node', 'x', 'bench', join(dir, 'cli-base'), join(dir, 'cli-base'), '--runtime', 'tfjs-cpu', '--batch', '2',
        '--repeats', '3', '--warmup', '0', '--json', join(dir, 'cli.json'), '--md', join(dir, 'cli.md'), '--html', join(dir, 'cli.html'), '--no-progress']);
    } finally {
      console.log = log;
    }
    expect(logs.join('\n')).toMatch(/cli-base \(baseline\)/);
    const r = readReport(join(dir, 'cli.json'));
    expect(r.models.map((m) => m.latency.map((l) => `${l.runtime}@${l.batch}`))).toEqual([['tfjs-cpu@2'], ['tfjs-cpu@2']]);
    expect(r.models[1]!.vsBaseline!.sizeRatio).toBe(1);
    expect(readFileSync(join(dir, 'cli.md'), 'utf8')).toMatch(/^# tfjs-compress bench/);
    await expect(program.parseAsync(['node', 'x', 'bench', 'zoo:mlp', '--runtime', 'tfjs-gpu'])).rejects.toThrow(/unknown runtime 'tfjs-gpu'/);
    await expect(program.parseAsync(['node', 'x', 'bench', 'zoo:mlp', '--batch', '0'])).rejects.toThrow(/--batch expects/);
  });

  const chromium = '/usr/bin/chromium';
  const hasChromium = existsSync(chromium);
  const title = hasChromium
    ? 'HTML renders in headless Chromium with every chart'
    : 'HTML in headless Chromium: SKIPPED, /usr/bin/chromium is not installed (apt-get install -y chromium; CI installs it)';
  it.skipIf(!hasChromium)(title, () => {
    const html = join(dir, 'r.html');
    writeReports(report, { html });
    expect(renderHtml(report)).not.toMatch(/<script(?! type="application\/json")/);
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', `--user-data-dir=${join(dir, 'chrome')}`];
    const dump = spawnSync(chromium, [...flags, '--dump-dom', `file://${html}`], { encoding: 'utf8', timeout: 60_000 });
    expect(dump.status, dump.stderr).toBe(0);
    const dom = dump.stdout;
    const ids = [...dom.matchAll(/<svg id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids).toEqual(expect.arrayContaining(['chart-size', 'chart-latency-tfjs-cpu', 'chart-latency-tfjs-wasm', 'chart-accuracy-size',
      'chart-sparsity-base', 'chart-sparsity-pruned', 'chart-loss']));
    const sizeSvg = dom.slice(dom.indexOf('<svg id="chart-size"'), dom.indexOf('</svg>', dom.indexOf('<svg id="chart-size"')));
    expect(sizeSvg.match(/class="bar"/g)).toHaveLength(4); // 2 models x (disk, gzip)
    expect(dom.match(/class="point"/g)).toHaveLength(2);
    expect(dom.match(/class="line"/g)).toHaveLength(2);
    const png = join(dir, 'r.png');
    const shot = spawnSync(chromium, [...flags, `--screenshot=${png}`, '--window-size=1200,2000', `file://${html}`], { encoding: 'utf8', timeout: 60_000 });
    expect(shot.status, shot.stderr).toBe(0);
    expect(statSync(png).size).toBeGreaterThan(10_000);
  });
});
