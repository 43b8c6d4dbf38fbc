import type { TensorDataset } from '../data/dataset.js';
import type { ModelRunner } from './runner.js';

/** Precision/recall of one class. */
export interface ClassStats {
  class: number;
  precision: number | null;
  recall: number | null;
  /** True samples of this class. */
  support: number;
}

/** Classification quality of a model on a dataset. */
export interface ClassificationQuality {
  task: 'classification';
  samples: number;
  accuracy: number;
  topK: { k: number; accuracy: number };
  /** Mean softmax cross-entropy (natural log). */
  loss: number;
  /** True when outputs already looked like probabilities, so no softmax was applied. */
  outputsAreProbabilities: boolean;
  perClass: ClassStats[];
  macroPrecision: number;
  macroRecall: number;
  /** confusion[true][predicted] = count. */
  confusion: number[][];
}

/** Segmentation quality: per-pixel classification over [B, H, W, C] outputs. */
export interface SegmentationQuality {
  task: 'segmentation';
  samples: number;
  pixelAccuracy: number;
  loss: number;
  outputsAreProbabilities: boolean;
  /** IoU per class; null where the class appears in neither target nor prediction. */
  iou: Array<number | null>;
  meanIoU: number;
  dice: Array<number | null>;
  meanDice: number;
}

/** Either kind of quality report. */
export type Quality = ClassificationQuality | SegmentationQuality;

/**
 * True if every row of `outputs` (rows of `classes` values) lies in [0, 1] and sums to 1
 * (within 1e-3): then they are probabilities and must not be softmaxed again.
 */
export function looksLikeProbabilities(outputs: Float32Array, classes: number): boolean {
  for (let r = 0; r < outputs.length; r += classes) {
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const v = outputs[r + c]!;
      if (!(v >= 0 && v <= 1)) return false;
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3) return false;
  }
  return outputs.length > 0;
}

/** -log p(target) of one row, from logits (stable log-softmax) or from probabilities. */
function rowLoss(outputs: Float32Array, off: number, classes: number, target: number, probs: boolean): number {
  if (probs) return -Math.log(Math.max(outputs[off + target]!, 1e-7));
  let max = -Infinity;
  for (let c = 0; c < classes; c++) max = Math.max(max, outputs[off + c]!);
  let sum = 0;
  for (let c = 0; c < classes; c++) sum += Math.exp(outputs[off + c]! - max);
  return -(outputs[off + target]! - max - Math.log(sum));
}

function argmax(values: Float32Array, off: number, n: number): number {
  let best = 0;
  for (let c = 1; c < n; c++) if (values[off + c]! > values[off + best]!) best = c;
  return best;
}

function checkLabels(labels: ArrayLike<number>, rows: number, classes: number, what: string): void {
  if (labels.length !== rows) throw new Error(`${what}: ${rows} output rows but ${labels.length} labels`);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!(Number.isInteger(l) && l >= 0 && l < classes)) throw new Error(`${what}: label ${l} at ${i} is outside 0..${classes - 1}`);
  }
}

/**
 * Accuracy, top-k, loss, per-class precision/recall and confusion matrix from raw outputs
 * ([N, C] logits or probabilities, flat) and integer labels.
 *
 * @example
 * const q = classificationMetrics(logits, labels, 10, { topK: 5 });
 */
export function classificationMetrics(outputs: Float32Array, labels: ArrayLike<number>, numClasses: number, args: { topK?: number } = {}): ClassificationQuality {
  const n = outputs.length / numClasses;
  if (!Number.isInteger(n)) throw new Error(`classification: ${outputs.length} outputs do not split into rows of ${numClasses} classes`);
  checkLabels(labels, n, numClasses, 'classification');
  const k = Math.min(args.topK ?? 5, numClasses);
  const probs = looksLikeProbabilities(outputs, numClasses);
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let correct = 0;
  let topCorrect = 0;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const off = i * numClasses;
    const y = labels[i]!;
    const pred = argmax(outputs, off, numClasses);
    confusion[y]![pred]!++;
    if (pred === y) correct++;
    // Rank of the true class = number of classes scored strictly higher (ties favour the truth).
    let higher = 0;
    for (let c = 0; c < numClasses; c++) if (outputs[off + c]! > outputs[off + y]!) higher++;
    if (higher < k) topCorrect++;
    loss += rowLoss(outputs, off, numClasses, y, probs);
  }
  const perClass: ClassStats[] = confusion.map((row, c) => {
    const tp = row[c]!;
    const support = row.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((s, r) => s + r[c]!, 0);
    return { class: c, precision: predicted ? tp / predicted : null, recall: support ? tp / support : null, support };
  });
  const mean = (xs: Array<number | null>) => {
    const v = xs.filter((x): x is number => x !== null);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0;
  };
  return {
    task: 'classification',
    samples: n,
    accuracy: n ? correct / n : 0,
    topK: { k, accuracy: n ? topCorrect / n : 0 },
    loss: n ? loss / n : 0,
    outputsAreProbabilities: probs,
    perClass,
    macroPrecision: mean(perClass.map((p) => p.precision)),
    macroRecall: mean(perClass.map((p) => p.recall)),
    confusion,
  };
}

/**
 * Per-class IoU and Dice, mean IoU/Dice (over classes present in target or prediction), pixel
 * accuracy and per-pixel loss, from [N, H, W, C] outputs and per-pixel integer labels.
 *
 * @example
 * const q = segmentationMetrics(outputs, pixelLabels, 11);
 */
export function segmentationMetrics(outputs: Float32Array, labels: ArrayLike<number>, numClasses: number, samples = 1): SegmentationQuality {
  const pixels = outputs.length / numClasses;
  if (!Number.isInteger(pixels)) throw new Error(`segmentation: ${outputs.length} outputs do not split into pixels of ${numClasses} classes`);
  checkLabels(labels, pixels, numClasses, 'segmentation');
  const probs = looksLikeProbabilities(outputs, numClasses);
  const tp = new Float64Array(numClasses);
  const fp = new Float64Array(numClasses);
  const fn = new Float64Array(numClasses);
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < pixels; i++) {
    const off = i * numClasses;
    const y = labels[i]!;
    const pred = argmax(outputs, off, numClasses);
    if (pred === y) {
      correct++;
      tp[y]++;
    } else {
      fp[pred]++;
      fn[y]++;
    }
    loss += rowLoss(outputs, off, numClasses, y, probs);
  }
  const iou: Array<number | null> = [];
  const dice: Array<number | null> = [];
  for (let c = 0; c < numClasses; c++) {
    const union = tp[c]! + fp[c]! + fn[c]!;
    iou.push(union ? tp[c]! / union : null);
    dice.push(union ? (2 * tp[c]!) / (2 * tp[c]! + fp[c]! + fn[c]!) : null);
  }
  const mean = (xs: Array<number | null>) => {
    const v = xs.filter((x): x is number => x !== null);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0;
  };
  return {
    task: 'segmentation',
    samples,
    pixelAccuracy: pixels ? correct / pixels : 0,
    loss: pixels ? loss / pixels : 0,
    outputsAreProbabilities: probs,
    iou,
    meanIoU: mean(iou),
    dice,
    meanDice: mean(dice),
  };
}

/** Integer class per target row from one-hot (or soft) targets: argmax over the last axis. */
export function targetsToLabels(targets: Float32Array, numClasses: number): Int32Array {
  const rows = targets.length / numClasses;
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) out[i] = argmax(targets, i * numClasses, numClasses);
  return out;
}

/** Options of {@link evaluateQuality}. */
export interface QualityArgs {
  /** Samples per inference call. Default 256. */
  batchSize?: number;
  /** k of top-k accuracy. Default 5. */
  topK?: number;
  onBatch?: (done: number, total: number) => void;
}

/**
 * Run a model over a dataset and score it: classification when targets are [C], per-pixel
 * segmentation when targets are [H, W, C].
 *
 * @example
 * const q = await evaluateQuality(runner, loadMnist({ split: 'test', limit: 1000 }));
 */
export async function evaluateQuality(runner: ModelRunner, data: TensorDataset, args: QualityArgs = {}): Promise<Quality> {
  const batchSize = args.batchSize ?? 256;
  const classes = data.numClasses;
  const outSize = data.yShape.reduce((a, b) => a * b, 1);
  const xSize = data.xShape.reduce((a, b) => a * b, 1);
  const outputs = new Float32Array(data.size * outSize);
  for (let start = 0; start < data.size; start += batchSize) {
    const n = Math.min(batchSize, data.size - start);
    const y = await runner.run(data.x.subarray(start * xSize, (start + n) * xSize), [n, ...data.xShape]);
    if (y.data.length !== n * outSize) {
      throw new Error(`model '${runner.name}' on ${runner.runtime}: output shape [${y.shape}] does not match targets [${n}, ${data.yShape}]`);
    }
    outputs.set(y.data, start * outSize);
    args.onBatch?.(start + n, data.size);
  }
  if (data.yShape.length === 1) {
    const labels = data.labels ?? targetsToLabels(data.y, classes);
    return classificationMetrics(outputs, labels, classes, { topK: args.topK });
  }
  return segmentationMetrics(outputs, targetsToLabels(data.y, classes), classes, data.size);
}
