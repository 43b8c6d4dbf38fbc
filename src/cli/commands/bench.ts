import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { benchModels, formatTable, parseRuntimes, writeReports, type HistoryCurve } from '../../bench/index.js';
import { parseBenchInput } from '../../bench/labels.js';
import { modelDataFacts, type ModelDataFacts } from '../../model/describe.js';
import { loadModel } from '../../model/load.js';
import { addInputScalingOptions, DATA_FORMS, loadDataForModel, parsePositiveInt } from '../data-arg.js';

function parseIntList(flag: string): (v: string) => number[] {
  return (v: string) =>
    v.split(',').map((s) => {
      const n = Number(s.trim());
      if (!(Number.isInteger(n) && n > 0)) throw new Error(`${flag} expects comma-separated positive integers, got '${v}'`);
      return n;
    });
}

function parseShape(v: string): number[] {
  const dims = v.split(/[,x]/).map((s) => Number(s.trim()));
  if (dims.length === 0 || !dims.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`--input-shape expects positive integers like 28,28,1, got '${v}'`);
  }
  return dims;
}

/** Read `{ "<model>": { "loss": [...], "valLoss": [...] } }` (or a single `{loss, valLoss}`) for the loss chart. */
function readHistory(path: string): Record<string, HistoryCurve> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`--history ${path}: not a readable JSON file (${(err as Error).message})`);
  }
  const isCurve = (x: unknown): x is HistoryCurve =>
    typeof x === 'object' && x !== null && Array.isArray((x as HistoryCurve).loss) && (x as HistoryCurve).loss.every((v) => typeof v === 'number');
  if (isCurve(raw)) return { history: { loss: raw.loss, ...(raw.valLoss ? { valLoss: raw.valLoss } : {}) } };
  if (typeof raw !== 'object' || raw === null) throw new Error(`--history ${path}: expected an object`);
  const out: Record<string, HistoryCurve> = {};
  for (const [name, curve] of Object.entries(raw)) {
    if (!isCurve(curve)) throw new Error(`--history ${path}: entry '${name}' needs a numeric 'loss' array`);
    out[name] = curve;
  }
  return out;
}

/** Input shape and stored scaling of the baseline (first) model: the data is loaded to fit it. */
async function baselineFacts(spec: string): Promise<ModelDataFacts> {
  const m = await loadModel(spec, { command: 'bench', accept: ['layers', 'graph', 'onnx'] });
  try {
    return modelDataFacts(m);
  } finally {
    if (m.kind !== 'onnx') m.model.dispose();
  }
}

/**
 * `tfjs-compress bench <model...>`: size, latency, memory and quality side by side (first model
 * is the baseline), printed as a table and optionally written as JSON, Markdown and HTML.
 */
export function registerBenchCommand(program: Command): void {
  addInputScalingOptions(program
    .command('bench <model...>')
    .description(
      'compare models (layers or graph folders / model JSON, .tfjsc, .onnx, zoo:name; first = baseline): size, gzip, latency, memory, accuracy. ' +
        'Each is labelled by its path below the folder all inputs share (out/m, out/m.tfjsc -> m, m.tfjsc), or name it: name=path',
    )
    .option('--data <spec>', `score quality on a test set: ${DATA_FORMS.join(' | ')}`)
    .option('--limit <n>', 'test samples to score (default 1000)', parsePositiveInt('--limit'), 1000))
    .option('--runtime <list>', 'runtimes: tfjs (active backend), tfjs-tensorflow, tfjs-wasm, tfjs-cpu, onnx', 'tfjs,onnx')
    .option('--batch <list>', 'batch sizes to time', parseIntList('--batch'), [1, 32])
    .option('--repeats <n>', 'timed runs per runtime and batch', parsePositiveInt('--repeats'), 50)
    .option('--warmup <n>', 'untimed warm-up runs', (v: string) => {
      const n = Number(v);
      if (!(Number.isInteger(n) && n >= 0)) throw new Error(`--warmup expects a non-negative integer, got '${v}'`);
      return n;
    }, 5)
    .option('--threads <n>', 'onnxruntime intra-op threads', parsePositiveInt('--threads'))
    .option('--input-shape <dims>', 'shape of one input sample when no --data is given, e.g. 28,28,1', parseShape)
    .option('--history <file>', 'training history JSON to chart as loss curves')
    .option('--json <file>', 'write the report as JSON (schema: docs/bench.md)')
    .option('--md <file>', 'write the report as Markdown')
    .option('--html <file>', 'write a self-contained HTML report with charts')
    .option('--no-progress', 'no progress bar')
    .action(async (args: string[], o) => {
      const log = (line: string) => console.error(line);
      const models = args.map(parseBenchInput);
      const first = models[0]!;
      const baseline = typeof first === 'string' ? first : first.path;
      const test = o.data ? (await loadDataForModel(o.data, o, await baselineFacts(baseline), { limit: 1, testLimit: o.limit, log })).test : undefined;
      const report = await benchModels({
        models,
        runtimes: parseRuntimes(o.runtime),
        batches: o.batch,
        repeats: o.repeats,
        warmup: o.warmup,
        threads: o.threads,
        inputShape: o.inputShape,
        data: test,
        dataName: test ? `${o.data} test (${test.size})` : undefined,
        history: o.history ? readHistory(o.history) : undefined,
        progress: o.progress,
      });
      console.log(formatTable(report));
      writeReports(report, { json: o.json, md: o.md, html: o.html });
      for (const [flag, path] of [['json', o.json], ['md', o.md], ['html', o.html]] as const) if (path) console.error(`wrote ${flag}: ${path}`);
    });
}
