import * as tf from '@tensorflow/tfjs';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { saveLayersModel, type SaveFolderArgs } from '../../model/io.js';
import { setModelInputScaling } from '../../data/scaling-metadata.js';
import { evaluate } from '../../train/evaluate.js';
import type { Logs } from '../../train/types.js';
import { measureFiles, paramStats } from '../../bench/size.js';
import { tfjsArtifactFiles } from '../../bench/source.js';
import { segmentationMetrics } from '../../bench/quality.js';
import { OPTIMIZER_NAMES } from '../../train/optimizers.js';
import { nonEmpty, positiveInt, positiveNumber } from '../schema.js';
import type { Curve, OutputKind, RunData, StageContext, StageOutput } from '../types.js';

/** Fields every stage accepts. */
export const baseFields = {
  /** Stage name: names its folder and its main output (default: the stage kind). */
  name: z.string().regex(/^[\w.-]+$/, { error: 'expected a name of letters, digits, _, . or -' }).optional(),
};

/** Training settings shared by train, distill and fine-tuning. */
export const trainFields = {
  epochs: positiveInt(),
  batchSize: positiveInt().default(64),
  learningRate: positiveNumber().default(1e-3),
  optimizer: z.enum(OPTIMIZER_NAMES).default('adam'),
};

/** Settings of a training run after schema defaults. */
export interface TrainSettings {
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: string;
}

/** A reference to a model: a stage/output name, a zoo or recipe-local architecture, or a path. */
export const modelRef = () => nonEmpty('a stage name, architecture name or model path');

/**
 * Save a layers model as this stage's output `name` (folder `<stage dir>/<name>/`, written as one
 * unit together with `files`, e.g. a quantization sidecar).
 */
export async function saveOutput(ctx: StageContext, model: tf.LayersModel, name: string, primary = false, files?: SaveFolderArgs['files']): Promise<StageOutput> {
  const dir = join(ctx.dir, name);
  // The scaling the stage fed travels with the model, for later commands and recipes.
  setModelInputScaling(model, ctx.inputScaling());
  await saveLayersModel(model, dir, { files });
  return { name, kind: 'tfjs-layers', path: relative(ctx.outDir, dir), primary };
}

/** An output that is a file or folder already written. */
export function fileOutput(ctx: StageContext, name: string, kind: OutputKind, absPath: string, primary = false): StageOutput {
  return { name, kind, path: relative(ctx.outDir, absPath), primary };
}

/** Bytes and gzipped bytes of a saved tfjs layers model folder. */
export function folderSize(dir: string): { bytes: number; gzipBytes: number } {
  const s = measureFiles(tfjsArtifactFiles(dir));
  return { bytes: s.totalBytes, gzipBytes: s.totalGzipBytes };
}

/** Loss curve of a training history (per epoch). */
export function curveOf(history: Logs[]): Curve {
  const c: Curve = { loss: history.map((h) => h.loss ?? NaN) };
  const val = history.map((h) => h.val_loss ?? h.val_total_loss ?? h.val_hard_loss);
  if (val.every((v) => v !== undefined)) c.valLoss = val as number[];
  return c;
}

/** Foreground (any non-background class) precision and recall of per-pixel predictions. */
function foreground(outputs: Float32Array, labels: Int32Array, classes: number): { precision: number; recall: number } {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (outputs[i * classes + c]! > outputs[i * classes + best]!) best = c;
    const predFg = best !== 0;
    const trueFg = labels[i] !== 0;
    if (predFg && trueFg) tp++;
    else if (predFg) fp++;
    else if (trueFg) fn++;
  }
  return { precision: tp + fp ? tp / (tp + fp) : 0, recall: tp + fn ? tp / (tp + fn) : 0 };
}

/**
 * Quality of a model on the test split: accuracy and loss for classifiers; pixel accuracy,
 * mean IoU and foreground precision/recall for segmentation.
 */
export async function quality(model: tf.LayersModel, data: RunData): Promise<Record<string, number>> {
  const logs = await evaluate(model, data.test, { batchSize: 128 });
  if (data.task === 'classification') return { accuracy: logs.accuracy!, loss: logs.loss! };
  const classes = data.test.yShape[data.test.yShape.length - 1]!;
  const outs: Float32Array[] = [];
  const labels: Int32Array[] = [];
  for (const batch of data.test.batches({ batchSize: 128 })) {
    const [o, l] = tf.tidy(() => {
      const out = model.predict(batch.xs) as tf.Tensor;
      return [out.dataSync() as Float32Array, batch.ys.argMax(-1).dataSync() as Int32Array];
    });
    tf.dispose([batch.xs, batch.ys]);
    outs.push(o);
    labels.push(l);
  }
  const cat = <T extends Float32Array | Int32Array>(parts: T[], ctor: new (n: number) => T): T => {
    const out = new ctor(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const o = cat(outs, Float32Array);
  const l = cat(labels, Int32Array);
  const seg = segmentationMetrics(o, l, classes, data.test.size);
  const fg = foreground(o, l, classes);
  return { pixelAccuracy: seg.pixelAccuracy, meanIoU: seg.meanIoU, precision: fg.precision, recall: fg.recall, loss: logs.loss! };
}

/** Size, parameter and quality figures of a saved model, for the stage report. */
export async function describeModel(model: tf.LayersModel, dir: string, data: RunData): Promise<Record<string, number>> {
  const p = paramStats(model);
  return { ...folderSize(dir), params: p.params, nonZero: p.nonZero, sparsity: p.sparsity, ...(await quality(model, data)) };
}

/** One line of the main figures of a model, e.g. `acc 98.10%  93.4 KiB (gzip 80.1 KiB)`. */
export function figuresLine(m: Record<string, number>): string {
  const parts: string[] = [];
  if (m.accuracy !== undefined) parts.push(`test accuracy ${(m.accuracy * 100).toFixed(2)}%`);
  if (m.meanIoU !== undefined) parts.push(`mIoU ${m.meanIoU.toFixed(4)}, fg precision ${m.precision!.toFixed(4)}, recall ${m.recall!.toFixed(4)}`);
  if (m.params !== undefined) parts.push(`${m.params} params (${((m.sparsity ?? 0) * 100).toFixed(1)}% zero)`);
  if (m.bytes !== undefined) parts.push(`${(m.bytes / 1024).toFixed(1)} KiB, gzip ${(m.gzipBytes! / 1024).toFixed(1)} KiB`);
  return parts.join(', ');
}
