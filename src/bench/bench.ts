import * as tf from '@tensorflow/tfjs';
import type { TensorDataset } from '../data/dataset.js';
import { currentBackend, setBackend } from '../backend/index.js';
import { measureColdStart, measureLatency, randomFeeds } from './latency.js';
import { machineInfo } from './machine.js';
import { createProgress } from './progress.js';
import { evaluateQuality } from './quality.js';
import { BENCH_SCHEMA_VERSION, type BenchReport, type HistoryCurve, type ModelReport, type VsBaseline } from './report/schema.js';
import type { ModelRunner, RuntimeName } from './runner.js';
import { benchLabels } from './labels.js';
import { openBenchModel, type ModelInput } from './source.js';
import { measureFiles } from './size.js';

/** Options of {@link benchModels}. */
export interface BenchArgs {
  /** Models to compare; the first is the baseline. Each gets a unique label ({@link benchLabels}). */
  models: ModelInput[];
  /** Runtimes to time on (`tfjs-default` = the active tfjs backend). Default `['tfjs-default', 'onnx']`. */
  runtimes?: Array<RuntimeName | 'tfjs-default'>;
  /** Batch sizes to time. Default [1, 32]. */
  batches?: number[];
  /** Untimed calls per runtime and batch. Default 5. */
  warmup?: number;
  /** Timed calls per runtime and batch. Default 50. */
  repeats?: number;
  /** Dataset to score quality on (skipped when absent). */
  data?: TensorDataset;
  /** Name of the dataset for the report, e.g. `mnist-test[0:1000]`. */
  dataName?: string;
  /** Shape of one input sample; default the dataset's, then the model's own. */
  inputShape?: number[];
  /** onnxruntime intra-op threads. */
  threads?: number;
  /** k for top-k accuracy. Default 5. */
  topK?: number;
  /** Show a progress bar on a TTY. Default true. */
  progress?: boolean;
  /** Training histories to chart, by model name. */
  history?: Record<string, HistoryCurve>;
}

/** An input the bench cannot read at all: the whole run fails (not one runtime skipped). */
class UnreadableInput extends Error {}

async function resolveRuntimes(list: Array<RuntimeName | 'tfjs-default'>): Promise<RuntimeName[]> {
  const active = currentBackend()?.name ?? (await setBackend('auto')).name;
  const out: RuntimeName[] = [];
  for (const r of list) {
    const name = r === 'tfjs-default' ? (`tfjs-${active}` as RuntimeName) : r;
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/**
 * Inputs as fed and every output's shape for one sample. Informational: a model whose free
 * dims a random feed cannot fill (e.g. a fully convolutional [?, ?, 3]) just reports none.
 */
async function signatureOf(runner: ModelRunner, inputShape?: number[]): Promise<Pick<ModelReport, 'inputs' | 'outputs'>> {
  const inputs = runner.inputs!.map((i, k) => ({ ...i, shape: k === 0 && inputShape && runner.inputs!.length === 1 ? [...inputShape] : [...i.shape] }));
  try {
    const outs = await runner.runFeeds!(randomFeeds(inputs, 1));
    return { inputs, outputs: outs.map((o, i) => ({ name: runner.outputNames?.[i] ?? `output_${i}`, shape: o.shape })) };
  } catch {
    return { inputs };
  }
}

function qualityScore(m: ModelReport): number | undefined {
  const q = m.quality;
  return q ? (q.task === 'classification' ? q.accuracy : q.pixelAccuracy) : undefined;
}

/** Ratios of `m` against `base` (sizes, mean latency per runtime@batch, accuracy delta). */
export function compareToBaseline(m: ModelReport, base: ModelReport): VsBaseline {
  const latencyRatio: Record<string, number> = {};
  for (const l of m.latency) {
    const b = base.latency.find((x) => x.runtime === l.runtime && x.batch === l.batch);
    if (b) latencyRatio[`${l.runtime}@${l.batch}`] = l.meanMs / b.meanMs;
  }
  const qa = qualityScore(m);
  const qb = qualityScore(base);
  return {
    sizeRatio: m.size.totalBytes / base.size.totalBytes,
    gzipRatio: m.size.totalGzipBytes / base.size.totalGzipBytes,
    ...(qa !== undefined && qb !== undefined ? { accuracyDelta: qa - qb } : {}),
    latencyRatio,
  };
}

/**
 * Measure size, latency (cold and warm, per runtime and batch), memory and quality of each
 * model, baseline first, and return a report ready for the table/JSON/Markdown/HTML writers.
 *
 * @example
 * const report = await benchModels({ models: ['out/base', 'out/pruned'], data: loadMnist({ split: 'test', limit: 1000 }) });
 * console.log(formatTable(report));
 */
export async function benchModels(args: BenchArgs): Promise<BenchReport> {
  if (args.models.length === 0) throw new Error('bench: no models given');
  const batches = args.batches ?? [1, 32];
  for (const b of batches) if (!(Number.isInteger(b) && b > 0)) throw new Error(`bench: batch sizes must be positive integers, got ${b}`);
  const warmup = args.warmup ?? 5;
  const repeats = args.repeats ?? 50;
  const restore = currentBackend()?.name ?? tf.getBackend();
  const runtimes = await resolveRuntimes(args.runtimes ?? ['tfjs-default', 'onnx']);
  const inputShape = args.inputShape ?? args.data?.xShape;
  const labels = benchLabels(args.models);
  const progress = createProgress(args.progress ?? true);
  progress.start(args.models.length * runtimes.length * batches.length * (warmup + repeats), 'opening');
  const reports: ModelReport[] = [];
  const opened: Awaited<ReturnType<typeof openBenchModel>>[] = [];
  try {
    // Open (read and check) every input before timing any: an unreadable file fails the run at once.
    for (const [i, input] of args.models.entries()) opened.push(await openBenchModel(input, labels[i]));
    for (const model of opened) {
      const report: ModelReport = {
        name: model.name,
        kind: model.kind,
        source: model.source,
        size: measureFiles(model.files),
        params: await model.params(),
        coldStart: [],
        latency: [],
        skipped: [],
      };
      for (const runtime of runtimes) {
        const steps = batches.length * (warmup + repeats);
        const why = await model.unsupported(runtime);
        if (why) {
          report.skipped.push({ runtime, reason: why });
          progress.tick(steps);
          continue;
        }
        let runner: ModelRunner | undefined;
        let done = 0;
        try {
          progress.label(`${model.name} ${runtime} load`);
          const open = () =>
            model.open(runtime, { threads: args.threads }).catch((err: Error) => {
              // onnxruntime is an ONNX file's only runtime: failing to load it means the input is unreadable.
              throw model.kind === 'onnx' ? new UnreadableInput(err.message.includes(model.source) ? err.message : `${model.source}: ${err.message}`) : err;
            });
          const started = await measureColdStart(open, { inputShape });
          runner = started.runner;
          report.coldStart.push(started.cold);
          if (!report.outputs && runner.runFeeds && runner.inputs) Object.assign(report, await signatureOf(runner, inputShape));
          for (const batch of batches) {
            progress.label(`${model.name} ${runtime} b${batch}`);
            const onStep = () => {
              done++;
              progress.tick();
            };
            report.latency.push(await measureLatency(runner, { batch, warmup, repeats, inputShape, onStep }));
          }
          if (args.data && !report.quality) {
            progress.label(`${model.name} ${runtime} quality`);
            const q = await evaluateQuality(runner, args.data, { topK: args.topK });
            report.quality = { ...q, runtime, dataset: args.dataName ?? 'dataset' };
          }
        } catch (err) {
          if (err instanceof UnreadableInput) throw err;
          report.skipped.push({ runtime, reason: (err as Error).message });
          progress.tick(steps - done);
        } finally {
          runner?.dispose();
        }
      }
      reports.push(report);
    }
  } finally {
    for (const m of opened) m.dispose();
    progress.stop();
    if (tf.getBackend() !== restore) await setBackend(restore as 'wasm' | 'cpu' | 'tensorflow');
  }
  for (const m of reports.slice(1)) m.vsBaseline = compareToBaseline(m, reports[0]!);
  return {
    schemaVersion: BENCH_SCHEMA_VERSION,
    tool: 'tfjs-compress bench',
    createdAt: new Date().toISOString(),
    machine: machineInfo(),
    options: {
      runtimes,
      batches,
      warmup,
      repeats,
      ...(args.data ? { dataset: args.dataName ?? 'dataset', evalSamples: args.data.size } : {}),
    },
    models: reports,
    ...(args.history ? { history: args.history } : {}),
  };
}
