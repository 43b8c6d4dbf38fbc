import type { Command } from 'commander';
import type * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import type { TensorDataset } from '../../data/dataset.js';
import { cloneModel } from '../../model/clone.js';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { fileHandler, saveLayersModel } from '../../model/io.js';
import { modelInputShape } from '../../model/input-shape.js';
import { leafLayers } from '../../model/summary.js';
import { loadLayersModel, loadModel } from '../../model/load.js';
import { graphArtifacts, loadGraphArtifacts } from '../../quantize/index.js';
import { artifactSize } from '../../serialize/index.js';
import {
  artifactBytes,
  configFromSensitivity,
  formatSensitivity,
  formatSparsityReport,
  importanceNames,
  levelPrune,
  parseConfigList,
  prunableClasses,
  PruningCallback,
  scheduleForRun,
  sensitivityAnalysis,
  sparsityReport,
  disposeMasks,
  disposePlan,
  freezeBatchNorm,
  hasBatchNorm,
  formatGraphPruning,
  graphSensitivity,
  levelPruneGraph,
  planStructured,
  speedup,
  strip,
} from '../../prune/index.js';
import type { ArtifactBytes, ConfigEntryInput } from '../../prune/index.js';
import { evaluate, train } from '../../train/index.js';
import type { TrainCallback } from '../../train/index.js';
import { writeJsonAtomic } from '../../util/atomic.js';
import { addInputScalingOptions, inputScalingOf, loadDataForModel, parseNumber, parsePositiveInt } from '../data-arg.js';
import { inputScalingFromMetadata, setModelInputScaling } from '../../data/scaling-metadata.js';
import { describeConversion } from './quantize.js';
import { refuseContainerOut, refuseOverwrite } from '../output-guards.js';

function parseNonNegativeInt(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} expects an integer >= 0, got '${v}'`);
    return n;
  };
}

function parseFraction(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (!(n >= 0 && n < 1)) throw new Error(`${flag} expects a number in [0, 1), got '${v}'`);
    return n;
  };
}

function readConfigFile(path: string): ConfigEntryInput[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`--config ${path}: cannot read JSON (${(err as Error).message})`);
  }
  // Accept a bare list or {configList: [...]}.
  const list = Array.isArray(raw) ? raw : (raw as { configList?: unknown })?.configList;
  return parseConfigList(list, path) as ConfigEntryInput[];
}

/** Config list pruning every prunable layer class present in the model. */
function defaultConfig(model: tf.LayersModel, sparsity: number | undefined, granularity?: string): ConfigEntryInput[] {
  const leaves = leafLayers(model);
  const present = prunableClasses().filter((c) => leaves.some((l) => l.layer.getClassName() === c));
  if (!present.length) throw new Error(`model '${model.name}' has no prunable layers (${prunableClasses().join(', ')})`);
  const entry: ConfigEntryInput = { opTypes: present, granularity: (granularity ?? 'element') as ConfigEntryInput['granularity'] };
  if (sparsity !== undefined) entry.sparsity = sparsity;
  return [entry];
}

const pct = (x: number | undefined) => (x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);

function printTable(rows: { name: string; sparsity: number; accuracy?: number; params: number; size: ArtifactBytes }[]): void {
  const table = [
    ['model', 'params', 'sparsity', 'accuracy', 'bytes', 'gzip bytes'],
    ...rows.map((r) => [r.name, String(r.params), pct(r.sparsity), pct(r.accuracy), String(r.size.bytes), String(r.size.gzipBytes)]),
  ];
  const w = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  for (const r of table) console.log(r.map((cell, c) => (c ? cell.padStart(w[c]!) : cell.padEnd(w[c]!))).join('  '));
  const [a, b] = [rows[0]!, rows[rows.length - 1]!];
  console.log(`gzip: ${a.size.gzipBytes} B -> ${b.size.gzipBytes} B (${(a.size.gzipBytes / b.size.gzipBytes).toFixed(2)}x smaller)`);
}

/** Fine-tune with the shared loop, or with distillation when a teacher is given. */
async function fineTune(
  model: tf.LayersModel,
  data: TensorDataset,
  test: TensorDataset,
  o: { epochs: number; batchSize: number; lr: number; seed: number; teacher?: string; trainBatchnorm?: boolean },
  callbacks: TrainCallback[],
): Promise<void> {
  // Batch norm in training mode re-normalises with per-batch statistics while evaluation uses the
  // (lagging, or never trained) moving averages: freeze them unless asked not to.
  const frozen = !o.trainBatchnorm && hasBatchNorm(model);
  if (frozen) console.log('batch norm: statistics frozen during fine-tuning (inference mode; --train-batchnorm updates them)');
  const restore = frozen ? freezeBatchNorm(model) : () => {};
  try {
    await fineTuneWith(model, data, test, o, callbacks);
  } finally {
    restore();
  }
}

async function fineTuneWith(
  model: tf.LayersModel,
  data: TensorDataset,
  test: TensorDataset,
  o: { epochs: number; batchSize: number; lr: number; seed: number; teacher?: string },
  callbacks: TrainCallback[],
): Promise<void> {
  if (!o.teacher) {
    await train(model, data, { epochs: o.epochs, batchSize: o.batchSize, learningRate: o.lr, seed: o.seed, callbacks, validation: test, progress: true, label: 'prune' });
    return;
  }
  let distillMod: typeof import('../../distill/index.js');
  try {
    distillMod = await import('../../distill/index.js');
  } catch (err) {
    throw new Error(`--teacher needs src/distill (${(err as Error).message})`);
  }
  const t = await loadModel(o.teacher, { command: 'prune --teacher', accept: ['layers', 'graph'], seed: o.seed });
  if (t.kind === 'onnx') throw new Error(`prune --teacher: '${o.teacher}' is not a tfjs model`);
  try {
    await distillMod.distill({ teacher: t.model, student: model, data, epochs: o.epochs, batchSize: o.batchSize, learningRate: o.lr, seed: o.seed, callbacks, validation: test, progress: true, label: 'prune+distill' });
  } finally {
    t.model.dispose();
  }
}

/** The options of `prune` as commander parses them. */
interface PruneOptions {
  model: string;
  data?: string;
  sparsity: number;
  schedule?: string;
  initialSparsity: number;
  frequency?: number;
  granularity: string;
  ranking: string;
  config?: string;
  structured?: boolean;
  ratio: number;
  importance: string;
  teacher?: string;
  epochs?: number;
  batchSize: number;
  lr: number;
  seed: number;
  limit?: number;
  testLimit?: number;
  out: string;
  inputRange?: string;
  inputScale?: number;
  inputOffset?: number;
  trainBatchnorm?: boolean;
  warnAccuracyDrop: number;
}

/** Accuracy of a graph model built from artifacts (loaded, evaluated, disposed). */
async function graphAccuracy(artifacts: tf.io.ModelArtifacts, test: TensorDataset): Promise<number> {
  const m = await loadGraphArtifacts(artifacts);
  try {
    return (await evaluate(m, test)).accuracy!;
  } finally {
    m.dispose();
  }
}

/** What the data loader needs to know of a model: its input shape and the scaling stored with it. */
function dataFacts(model: tf.LayersModel | GraphModel, spec: string) {
  return { inputShape: modelInputShape(model), inputScaling: inputScalingFromMetadata(model, spec) };
}

/** One-shot magnitude pruning of a graph model, no training: a pruned graph model folder. */
async function pruneGraphOneShot(graph: GraphModel, o: PruneOptions): Promise<void> {
  const source = await graphArtifacts(graph);
  const configList = o.config ? readConfigFile(o.config) : undefined;
  const r = levelPruneGraph(source, { configList, sparsity: o.sparsity, granularity: o.granularity as ConfigEntryInput['granularity'], ranking: o.ranking as 'layer' | 'global' });
  const test = o.data ? (await loadDataForModel(o.data, o, dataFacts(graph, o.model), { limit: 1, testLimit: o.testLimit })).test : undefined;
  const accuracyBefore = test ? (await evaluate(graph, test)).accuracy : undefined;
  const accuracyAfter = test ? await graphAccuracy(r.artifacts, test) : undefined;
  const [before, after] = [artifactSize(source), artifactSize(r.artifacts)];
  const pruned = r.tensors.reduce((a, t) => a + t.sparsity * t.shape.reduce((p, q) => p * q, 1), 0);
  const total = r.tensors.reduce((a, t) => a + t.shape.reduce((p, q) => p * q, 1), 0);
  const pruneReport = {
    model: o.model, data: o.data, testSamples: test?.size, schedule: 'level (one-shot, graph)', configList: configList ?? { sparsity: o.sparsity, granularity: o.granularity },
    accuracyBefore, accuracyAfter, sizeBefore: before, sizeAfter: after, sparsity: pruned / total, tensors: r.tensors,
  };
  // Model and report in one unit (a stale quantization sidecar cannot survive the swap).
  await fileHandler(o.out, { files: { 'prune-report.json': pruneReport } }).save!(r.artifacts);
  console.log(formatGraphPruning(r.tensors));
  console.log(`sparsity of the ${r.tensors.length} pruned kernels: ${pct(pruned / total)} (${Math.round(pruned)} of ${total} weights are 0)`);
  if (test) console.log(`accuracy: ${pct(accuracyBefore)} -> ${pct(accuracyAfter)} (${test.size} test samples, one-shot, no fine-tuning)`);
  console.log(`gzip: ${before.gzipBytes} B -> ${after.gzipBytes} B (${(before.gzipBytes / after.gzipBytes).toFixed(2)}x smaller)`);
  console.log(`wrote ${o.out} (graph model)`);
}

/** Magnitude (scheduled or one-shot) or structured pruning of a layers model, with fine-tuning. */
async function pruneLayers(model: tf.LayersModel, o: PruneOptions & { epochs: number; schedule: string; data: string }): Promise<void> {
  const { train: data, test, scaling } = await loadDataForModel(o.data, o, dataFacts(model, o.model), { limit: o.limit, testLimit: o.testLimit });
  const accBefore = (await evaluate(model, test)).accuracy;
  const sizeBefore = await artifactBytes(model);
  const rows = [{ name: `${model.name} (input)`, sparsity: sparsityReport(model).sparsity, accuracy: accBefore, params: model.countParams(), size: sizeBefore }];
  const configList = o.config ? readConfigFile(o.config) : undefined;
  const ftArgs = { epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, seed: o.seed, teacher: o.teacher, trainBatchnorm: o.trainBatchnorm };
  let result: tf.LayersModel;
  const report: Record<string, unknown> = { model: o.model, data: o.data, trainSamples: data.size, testSamples: test.size, accuracyBefore: accBefore };
  if (o.epochs > 0 && hasBatchNorm(model)) report.batchNorm = o.trainBatchnorm ? 'trained' : 'frozen';

  if (o.structured) {
    const plan = planStructured(model, { ratio: o.ratio, configList, importance: o.importance, ranking: o.ranking as 'layer' | 'global' });
    try {
      result = await speedup(model, plan);
    } finally {
      disposePlan(plan);
    }
    if (plan.flat) console.log(`${model.name}: nested models inlined; the structured result is one functional model`);
    const accPruned = (await evaluate(result, test)).accuracy;
    rows.push({ name: 'structured, before fine-tune', sparsity: 0, accuracy: accPruned, params: result.countParams(), size: await artifactBytes(result) });
    for (const g of plan.groups) console.log(`  ${g.group.producers.map((l) => l.name).join('+')}: ${g.group.size} -> ${g.keep.length} channels`);
    for (const s of plan.skipped) console.log(`  ${s.producers.join('+')}: kept whole (${s.reason})`);
    if (o.epochs > 0) await fineTune(result, data, test, ftArgs, []);
    report.structured = { ratio: o.ratio, importance: o.importance, ranking: o.ranking, groups: plan.groups.map((g) => ({ layers: g.group.producers.map((l) => l.name), before: g.group.size, after: g.keep.length })), skipped: plan.skipped, accuracyBeforeFineTune: accPruned };
  } else {
    const list = configList ?? defaultConfig(model, o.sparsity, o.granularity);
    if (o.epochs === 0) {
      const r = await levelPrune(model, { configList: list, ranking: o.ranking as 'layer' | 'global' });
      disposeMasks(r.masks);
      result = r.model;
    } else {
      result = await cloneModel(model);
      const totalSteps = data.batchCount(o.batchSize) * o.epochs;
      const factory = scheduleForRun(o.schedule as 'constant' | 'polynomial', { totalSteps, initialSparsity: o.initialSparsity, frequency: o.frequency });
      const cb = new PruningCallback(result, { configList: list, schedule: factory, ranking: o.ranking as 'layer' | 'global' });
      console.log(`pruning schedule: ${JSON.stringify(factory(o.sparsity).getConfig())} over ${totalSteps} steps`);
      try {
        await fineTune(result, data, test, ftArgs, [cb]);
        const stripped = await strip(result, cb.masks);
        result.dispose();
        result = stripped;
      } finally {
        cb.dispose();
      }
    }
    report.configList = list;
    report.schedule = o.epochs === 0 ? 'level (one-shot)' : o.schedule;
  }
  try {
    const accAfter = (await evaluate(result, test)).accuracy;
    const sizeAfter = await artifactBytes(result);
    const after = sparsityReport(result);
    rows.push({ name: o.structured ? 'structured, fine-tuned' : 'pruned', sparsity: after.sparsity, accuracy: accAfter, params: result.countParams(), size: sizeAfter });
    // The output records the scaling it was fine-tuned on (a flag may have overridden the model's).
    setModelInputScaling(result, scaling.scaling);
    const pruneReport = { ...report, accuracyAfter: accAfter, sizeBefore, sizeAfter, paramsBefore: model.countParams(), paramsAfter: result.countParams(), layers: after.layers };
    await saveLayersModel(result, o.out, { files: { 'prune-report.json': pruneReport } });
    console.log(formatSparsityReport(result));
    printTable(rows);
    const drop = ((accBefore ?? 0) - (accAfter ?? 0)) * 100;
    if (drop > o.warnAccuracyDrop) {
      console.error(`warning: test accuracy dropped ${drop.toFixed(2)} points (${pct(accBefore)} -> ${pct(accAfter)}), more than --warn-accuracy-drop ${o.warnAccuracyDrop}; try more --epochs, a lower --sparsity/--ratio or --lr`);
    }
    console.log(`wrote ${o.out}`);
  } finally {
    result.dispose();
  }
}

/**
 * `tfjs-compress prune`: magnitude (TF-MOT schedules) or structured pruning with fine-tuning
 * (optionally distilled from `--teacher`), saving a plain tfjs model and a report. Graph models
 * are pruned one-shot in place of their kernels (no training) unless fine-tuning, a schedule or
 * structured pruning is asked for: then they are converted to a layers model first.
 */
export function registerPruneCommand(program: Command): void {
  const cmd = program
    .command('prune')
    .description('prune a model: gradual magnitude pruning (TF-MOT schedules), --structured filter removal, or one-shot (graph models: no training)')
    .requiredOption('--model <spec>', 'model folder, model.json, .tfjsc or zoo:name (layers or graph model; should be trained)')
    .option('--data <name>', 'dataset (mnist, fashion-mnist, folder:..., npy:...; default mnist, optional for one-shot graph pruning)')
    .option('--sparsity <s>', 'target sparsity of every prunable layer (unstructured)', parseFraction('--sparsity'), 0.8)
    .option('--schedule <kind>', 'constant | polynomial (TF-MOT PolynomialDecay, power 3; default polynomial)')
    .option('--initial-sparsity <s>', 'polynomial schedule start sparsity', parseFraction('--initial-sparsity'), 0.5)
    .option('--frequency <n>', 'steps between mask updates (default: min(100, steps/10))', parsePositiveInt('--frequency'))
    .option('--granularity <g>', "element | N:M (e.g. '2:4') | block<R>x<C> (e.g. 'block1x4')", 'element')
    .option('--ranking <r>', 'layer | global', 'layer')
    .option('--config <file>', 'NNI-style config list JSON (overrides --sparsity/--granularity selection; graph models: op types and op node names)')
    .option('--structured', 'remove whole filters/units and save a physically smaller model (graph models are converted first)')
    .option('--ratio <r>', 'structured: fraction of channels removed per layer', parseFraction('--ratio'), 0.5)
    .option('--importance <name>', `structured: channel importance (${importanceNames().join(', ')})`, 'l1')
    .option('--teacher <spec>', 'fine-tune by distillation from this (trained) teacher')
    .option('--epochs <n>', 'fine-tuning epochs (0: one-shot pruning, no training; default 2, graph models 0)', parseNonNegativeInt('--epochs'))
    .option('--batch-size <n>', 'batch size', parsePositiveInt('--batch-size'), 128)
    .option('--lr <x>', 'learning rate', parseNumber('--lr'), 1e-3)
    .option('--seed <n>', 'seed', parseNonNegativeInt('--seed'), 0)
    .option('--limit <n>', 'training samples used', parsePositiveInt('--limit'))
    .option('--test-limit <n>', 'test samples used for accuracy', parsePositiveInt('--test-limit'))
    .option('--train-batchnorm', 'update batch-norm statistics while fine-tuning (default: frozen, inference mode)')
    .option('--warn-accuracy-drop <points>', 'warn when test accuracy drops by more percentage points', parseNumber('--warn-accuracy-drop'), 1)
    .requiredOption('--out <dir>', 'output folder (model.json + weights.bin + prune-report.json)');
  addInputScalingOptions(cmd).action(async (o: PruneOptions) => {
    if (o.schedule !== undefined && !['constant', 'polynomial'].includes(o.schedule)) throw new Error(`--schedule '${o.schedule}': expected constant or polynomial`);
    if (!['layer', 'global'].includes(o.ranking)) throw new Error(`--ranking '${o.ranking}': expected layer or global`);
    inputScalingOf(o);
    refuseOverwrite(o.model, o.out);
    refuseContainerOut('prune', o.out, 'prune-report.json');
    const loaded = await loadModel(o.model, { command: 'prune', accept: ['layers', 'graph'], seed: o.seed });
    let model: tf.LayersModel;
    if (loaded.kind === 'graph') {
      const trains = (o.epochs ?? 0) > 0 || o.schedule !== undefined || o.structured;
      if (!trains) {
        try {
          return await pruneGraphOneShot(loaded.model, o);
        } finally {
          loaded.model.dispose();
        }
      }
      loaded.model.dispose();
      // Fine-tuning, schedules and structured pruning need a trainable layers model.
      const converted = await loadLayersModel(o.model, { command: 'prune', seed: o.seed });
      if (converted.converted) console.log(describeConversion(o.model, converted.converted));
      model = converted.model;
    } else if (loaded.kind === 'layers') {
      model = loaded.model;
    } else {
      throw new Error(`prune: '${o.model}' is not a tfjs model`);
    }
    try {
      await pruneLayers(model, { ...o, epochs: o.epochs ?? 2, schedule: o.schedule ?? 'polynomial', data: o.data ?? 'mnist' });
    } finally {
      model.dispose();
    }
  });
}

/**
 * `tfjs-compress sensitivity`: per-layer accuracy vs sparsity sweep, table + JSON. Graph models
 * are swept on the graph itself: each prunable kernel pruned one-shot in turn (no conversion).
 */
export function registerSensitivityCommand(program: Command): void {
  const cmd = program
    .command('sensitivity')
    .description('per-layer pruning sensitivity: prune one layer (graph: one kernel) at a time to each sparsity and measure accuracy')
    .requiredOption('--model <spec>', 'model folder, model.json, .tfjsc or zoo:name (layers or graph model; should be trained)')
    .option('--data <name>', 'dataset whose test split is used', 'mnist')
    .option('--sparsities <list>', 'comma-separated sparsities', '0.5,0.6,0.7,0.8,0.9,0.95')
    .option('--limit <n>', 'test samples used', parsePositiveInt('--limit'), 2000)
    .option('--config <file>', 'config list selecting the layers (graph: op types / op node names) to analyse')
    .option('--target <s>', 'also derive a per-layer config list reaching this overall sparsity', parseFraction('--target'))
    .option('--out <file>', 'write the sweep (and derived config list) as JSON');
  addInputScalingOptions(cmd).action(async (o) => {
    const sparsities = String(o.sparsities).split(',').map((s) => parseFraction('--sparsities')(s.trim()));
    const configList = o.config ? readConfigFile(o.config) : undefined;
    const onResult = (row: { layer: string; sparsity: number; accuracy: number }) => console.error(`  ${row.layer} @ ${row.sparsity}: ${pct(row.accuracy)}`);
    const loaded = await loadModel(o.model, { command: 'sensitivity', accept: ['layers', 'graph'] });
    if (loaded.kind === 'onnx') throw new Error(`sensitivity: '${o.model}' is not a tfjs model`);
    let r;
    try {
      const { test } = await loadDataForModel(o.data, o, dataFacts(loaded.model, o.model), { limit: 1, testLimit: o.limit });
      if (loaded.kind === 'graph') {
        console.log(`${o.model}: graph model, swept per kernel on the graph itself (one-shot pruning, no conversion)`);
        r = await graphSensitivity(await graphArtifacts(loaded.model), test, { sparsities, configList, onResult });
      } else {
        r = await sensitivityAnalysis(loaded.model, test, { sparsities, configList, onResult });
      }
    } finally {
      loaded.model.dispose();
    }
    console.log(formatSensitivity(r));
    const derived = o.target !== undefined ? configFromSensitivity(r, { targetSparsity: o.target }) : undefined;
    if (derived) console.log(`config list for ${o.target} overall sparsity:\n${JSON.stringify(derived, null, 2)}`);
    if (o.out) {
      writeJsonAtomic(o.out, { model: o.model, ...r, ...(derived ? { target: o.target, configList: derived } : {}) });
      console.log(`wrote ${o.out}`);
    }
  });
}
