import type { Command } from 'commander';
import type * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TensorDataset } from '../../data/dataset.js';
import { cloneModel } from '../../model/clone.js';
import { isGraphModelFile, loadGraphModelFromFiles, resolveModel, saveLayersModel } from '../../model/io.js';
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
  planStructured,
  speedup,
  strip,
} from '../../prune/index.js';
import type { ArtifactBytes, ConfigEntryInput } from '../../prune/index.js';
import { evaluate, train } from '../../train/index.js';
import type { TrainCallback } from '../../train/index.js';
import { writeJsonAtomic } from '../../util/atomic.js';
import { loadDataArg, parseNumber, parsePositiveInt } from '../data-arg.js';

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
  const present = prunableClasses().filter((c) => model.layers.some((l) => l.getClassName() === c));
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
  const teacher = !o.teacher.startsWith('zoo:') && isGraphModelFile(o.teacher) ? await loadGraphModelFromFiles(o.teacher) : await resolveModel(o.teacher, { seed: o.seed });
  await distillMod.distill({ teacher, student: model, data, epochs: o.epochs, batchSize: o.batchSize, learningRate: o.lr, seed: o.seed, callbacks, validation: test, progress: true, label: 'prune+distill' });
}

/**
 * `tfjs-compress prune`: magnitude (TF-MOT schedules) or structured pruning with fine-tuning
 * (optionally distilled from `--teacher`), saving a plain tfjs model and a report.
 */
export function registerPruneCommand(program: Command): void {
  program
    .command('prune')
    .description('prune a model: gradual magnitude pruning (TF-MOT schedules) or --structured filter removal, then fine-tune')
    .requiredOption('--model <spec>', 'model folder, model.json or zoo:name (should be trained)')
    .option('--data <name>', 'dataset (mnist, fashion-mnist, folder:..., npy:...)', 'mnist')
    .option('--sparsity <s>', 'target sparsity of every prunable layer (unstructured)', parseFraction('--sparsity'), 0.8)
    .option('--schedule <kind>', 'constant | polynomial (TF-MOT PolynomialDecay, power 3)', 'polynomial')
    .option('--initial-sparsity <s>', 'polynomial schedule start sparsity', parseFraction('--initial-sparsity'), 0.5)
    .option('--frequency <n>', 'steps between mask updates (default: min(100, steps/10))', parsePositiveInt('--frequency'))
    .option('--granularity <g>', "element | N:M (e.g. '2:4') | block<R>x<C> (e.g. 'block1x4')", 'element')
    .option('--ranking <r>', 'layer | global', 'layer')
    .option('--config <file>', 'NNI-style config list JSON (overrides --sparsity/--granularity selection)')
    .option('--structured', 'remove whole filters/units and save a physically smaller model')
    .option('--ratio <r>', 'structured: fraction of channels removed per layer', parseFraction('--ratio'), 0.5)
    .option('--importance <name>', `structured: channel importance (${importanceNames().join(', ')})`, 'l1')
    .option('--teacher <spec>', 'fine-tune by distillation from this (trained) teacher')
    .option('--epochs <n>', 'fine-tuning epochs (0: one-shot pruning, no training)', parseNonNegativeInt('--epochs'), 2)
    .option('--batch-size <n>', 'batch size', parsePositiveInt('--batch-size'), 128)
    .option('--lr <x>', 'learning rate', parseNumber('--lr'), 1e-3)
    .option('--seed <n>', 'seed', parseNonNegativeInt('--seed'), 0)
    .option('--limit <n>', 'training samples used', parsePositiveInt('--limit'))
    .option('--test-limit <n>', 'test samples used for accuracy', parsePositiveInt('--test-limit'))
    .requiredOption('--out <dir>', 'output folder (model.json + weights.bin + prune-report.json)')
    .action(async (o) => {
      if (!['constant', 'polynomial'].includes(o.schedule)) throw new Error(`--schedule '${o.schedule}': expected constant or polynomial`);
      if (!['layer', 'global'].includes(o.ranking)) throw new Error(`--ranking '${o.ranking}': expected layer or global`);
      const model = await resolveModel(o.model, { seed: o.seed });
      const { train: data, test } = await loadDataArg(o.data, { limit: o.limit, testLimit: o.testLimit });
      const accBefore = (await evaluate(model, test)).accuracy;
      const sizeBefore = await artifactBytes(model);
      const rows = [{ name: `${model.name} (input)`, sparsity: sparsityReport(model).sparsity, accuracy: accBefore, params: model.countParams(), size: sizeBefore }];
      const configList = o.config ? readConfigFile(o.config) : undefined;
      const ftArgs = { epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, seed: o.seed, teacher: o.teacher };
      let result: tf.LayersModel;
      const report: Record<string, unknown> = { model: o.model, data: o.data, trainSamples: data.size, testSamples: test.size, accuracyBefore: accBefore };

      if (o.structured) {
        const plan = planStructured(model, { ratio: o.ratio, configList, importance: o.importance, ranking: o.ranking });
        result = await speedup(model, plan);
        const accPruned = (await evaluate(result, test)).accuracy;
        rows.push({ name: 'structured, before fine-tune', sparsity: 0, accuracy: accPruned, params: result.countParams(), size: await artifactBytes(result) });
        for (const g of plan.groups) console.log(`  ${g.group.producers.map((l) => l.name).join('+')}: ${g.group.size} -> ${g.keep.length} channels`);
        for (const s of plan.skipped) console.log(`  ${s.producers.join('+')}: kept whole (${s.reason})`);
        if (o.epochs > 0) await fineTune(result, data, test, ftArgs, []);
        report.structured = { ratio: o.ratio, importance: o.importance, ranking: o.ranking, groups: plan.groups.map((g) => ({ layers: g.group.producers.map((l) => l.name), before: g.group.size, after: g.keep.length })), skipped: plan.skipped, accuracyBeforeFineTune: accPruned };
      } else {
        const list = configList ?? defaultConfig(model, o.sparsity, o.granularity);
        if (o.epochs === 0) {
          const r = await levelPrune(model, { configList: list, ranking: o.ranking });
          disposeMasks(r.masks);
          result = r.model;
        } else {
          result = await cloneModel(model);
          const totalSteps = data.batchCount(o.batchSize) * o.epochs;
          const factory = scheduleForRun(o.schedule, { totalSteps, initialSparsity: o.initialSparsity, frequency: o.frequency });
          const cb = new PruningCallback(result, { configList: list, schedule: factory, ranking: o.ranking });
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
      const accAfter = (await evaluate(result, test)).accuracy;
      const sizeAfter = await artifactBytes(result);
      const after = sparsityReport(result);
      rows.push({ name: o.structured ? 'structured, fine-tuned' : 'pruned', sparsity: after.sparsity, accuracy: accAfter, params: result.countParams(), size: sizeAfter });
      await saveLayersModel(result, o.out);
      writeJsonAtomic(join(o.out, 'prune-report.json'), { ...report, accuracyAfter: accAfter, sizeBefore, sizeAfter, paramsBefore: model.countParams(), paramsAfter: result.countParams(), layers: after.layers });
      console.log(formatSparsityReport(result));
      printTable(rows);
      console.log(`wrote ${o.out}`);
    });
}

/** `tfjs-compress sensitivity`: per-layer accuracy vs sparsity sweep, table + JSON. */
export function registerSensitivityCommand(program: Command): void {
  program
    .command('sensitivity')
    .description('per-layer pruning sensitivity: prune one layer at a time to each sparsity and measure accuracy')
    .requiredOption('--model <spec>', 'model folder, model.json or zoo:name (should be trained)')
    .option('--data <name>', 'dataset whose test split is used', 'mnist')
    .option('--sparsities <list>', 'comma-separated sparsities', '0.5,0.6,0.7,0.8,0.9,0.95')
    .option('--limit <n>', 'test samples used', parsePositiveInt('--limit'), 2000)
    .option('--config <file>', 'config list selecting the layers to analyse')
    .option('--target <s>', 'also derive a per-layer config list reaching this overall sparsity', parseFraction('--target'))
    .option('--out <file>', 'write the sweep (and derived config list) as JSON')
    .action(async (o) => {
      const sparsities = String(o.sparsities).split(',').map((s) => parseFraction('--sparsities')(s.trim()));
      const model = await resolveModel(o.model);
      const { test } = await loadDataArg(o.data, { limit: 1, testLimit: o.limit });
      const configList = o.config ? readConfigFile(o.config) : undefined;
      const r = await sensitivityAnalysis(model, test, {
        sparsities,
        configList,
        onResult: (row) => console.error(`  ${row.layer} @ ${row.sparsity}: ${pct(row.accuracy)}`),
      });
      console.log(formatSensitivity(r));
      const derived = o.target !== undefined ? configFromSensitivity(r, { targetSparsity: o.target }) : undefined;
      if (derived) console.log(`config list for ${o.target} overall sparsity:\n${JSON.stringify(derived, null, 2)}`);
      if (o.out) {
        writeJsonAtomic(o.out, { model: o.model, ...r, ...(derived ? { target: o.target, configList: derived } : {}) });
        console.log(`wrote ${o.out}`);
      }
    });
}
