import * as tf from '@tensorflow/tfjs';
import type { TensorDataset } from '../data/dataset.js';
import { cloneModel } from '../model/clone.js';
import { leafLayers } from '../model/summary.js';
import { evaluate } from '../train/evaluate.js';
import { outputAgreement, type OutputAgreement } from './agreement.js';

export type { QuantizedWeightInfo } from './guard.js';
import { layerChannelAxes } from './channels.js';
import { dequantize } from './dequantize.js';
import { fineTuneCentroids, type FineTuneArgs, type FineTuneReport, type SharedWeight } from './finetune.js';
import { checkAccuracyDrop, checkMaxTensorError, FLOAT32, quantizeGuarded, weightInfo, type GuardedTensor, type QuantizedWeightInfo } from './guard.js';
import { getQuantizer } from './quantizers.js';
import type { QuantizedWeights } from './types.js';

/** Options for {@link quantizeModel}. */
export interface QuantizeArgs {
  /** Quantizer name: float16, int8, uint8, int8-channel, uint8-channel or codebook. */
  mode: string;
  /** Codebook index width, 2..8 (default 5). */
  bits?: number;
  /**
   * Layer names whose weights stay float32: a leaf layer's name or path (`sequential_1/model1/Conv1`),
   * or a nested model's name (all of its layers). Unknown names are an error.
   */
  skipLayers?: string[];
  /**
   * Quantize only kernels (`kernel`, `depthwise_kernel`, `pointwise_kernel`, `recurrent_kernel`,
   * `embeddings`), leaving biases and normalisation statistics in float32. Default true.
   */
  kernelsOnly?: boolean;
  /** Codebook only: fine-tune the shared centroids on training data. */
  fineTune?: FineTuneArgs;
  /** Validation data: accuracy is reported before and after. */
  validation?: TensorDataset;
  /**
   * Largest accepted accuracy drop in percentage points (e.g. 0.5). Needs `validation`; when
   * exceeded, {@link quantizeModel} throws and returns nothing.
   */
  maxAccuracyDrop?: number;
  /**
   * Bound on each tensor's reconstruction error (the worst output channel's relative RMS error,
   * see `reconstructionError`); a tensor above it falls back to a finer mode or stays float32.
   * Default {@link DEFAULT_MAX_TENSOR_ERROR}; `Infinity` turns the guard off.
   */
  maxTensorError?: number;
  /**
   * Inputs (one tensor per model input, batch first) run through the original and the quantized
   * model to report {@link QuantizeResult.agreement}; not disposed. Needs no labels.
   */
  probe?: tf.Tensor[];
}

/** What both quantizers report besides the model: records, per-weight summaries, agreement, accuracy. */
export interface QuantizeReport {
  /** The quantized form of every quantized weight, for the container and the ONNX exporter. */
  quantized: QuantizedWeights;
  /** Per quantized weight. */
  weights: QuantizedWeightInfo[];
  /** Tensors the guard kept in float32 (every requested and fallback mode exceeded the bound). */
  kept: QuantizedWeightInfo[];
  /** Agreement of the quantized with the original model on `probe`, when given. */
  agreement?: OutputAgreement;
  /** Top-1 accuracy (fractions) when `validation` was given. */
  accuracyBefore?: number;
  accuracyAfter?: number;
}

/** What {@link quantizeModel} returns. */
export interface QuantizeResult extends QuantizeReport {
  /** Deployment model: a new model whose weights are the dequantized values. */
  model: tf.LayersModel;
  fineTune?: FineTuneReport;
}

const KERNEL_NAMES = new Set(['kernel', 'depthwise_kernel', 'pointwise_kernel', 'recurrent_kernel', 'embeddings']);


/** A weight the model quantizes, with the leaf layer it belongs to. */
interface Selected {
  variable: tf.LayerVariable;
  layer: string;
  className: string;
}

/** Every quantizable weight of a (possibly nested) model, minus skipped layers; unknown skip names throw. */
function selectWeights(model: tf.LayersModel, args: QuantizeArgs): Selected[] {
  const kernelsOnly = args.kernelsOnly ?? true;
  const leaves = leafLayers(model);
  const skip = new Set(args.skipLayers ?? []);
  // A leaf is skipped by its name, its path, or the name/path of any model holding it.
  const namesOf = (path: string) => {
    const parts = path.split('/');
    return [...parts, ...parts.map((_, i) => parts.slice(0, i + 1).join('/'))];
  };
  const known = new Set(leaves.flatMap((l) => namesOf(l.path)));
  const unknown = [...skip].filter((n) => !known.has(n));
  if (unknown.length) {
    const some = leaves.filter((l) => l.layer.weights.length).slice(0, 12).map((l) => l.path);
    throw new Error(`quantize: skipLayers names unknown layer(s) ${unknown.join(', ')}; layers with weights include ${some.join(', ')}`);
  }
  const out: Selected[] = [];
  const names = new Set<string>();
  for (const { path, layer } of leaves) {
    if (namesOf(path).some((n) => skip.has(n))) continue;
    for (const w of layer.weights) {
      const leaf = w.originalName.split('/').pop()!;
      if (w.dtype !== 'float32' || (kernelsOnly && !KERNEL_NAMES.has(leaf))) continue;
      if (names.has(w.originalName)) throw new Error(`quantize: duplicate weight name '${w.originalName}'`);
      names.add(w.originalName);
      out.push({ variable: w, layer: path, className: layer.getClassName() });
    }
  }
  return out;
}

/**
 * Post-training weight quantization of a layers model (nested models walked into: every inner
 * kernel is quantized under its saved weight name). Each tensor's reconstruction error is checked
 * against `maxTensorError` and a tensor above it falls back to a finer mode or stays float32
 * (listed in `kept`). Returns a new deployment model holding the dequantized weights plus the
 * quantized records; the input model is not modified. With `maxAccuracyDrop` the call throws
 * (and disposes the new model) when validation accuracy falls by more than that.
 *
 * @example
 * const { model: q, quantized, kept } = await quantizeModel(model, { mode: 'codebook', bits: 5 });
 * const bytes = await packModel(q, { quantized });
 */
export async function quantizeModel(model: tf.LayersModel, args: QuantizeArgs): Promise<QuantizeResult> {
  const quantizer = getQuantizer(args.mode);
  checkMaxTensorError(args.maxTensorError);
  if (args.maxAccuracyDrop !== undefined && !args.validation) {
    throw new Error('quantize: maxAccuracyDrop needs validation data');
  }
  if (args.fineTune && quantizer.name !== 'codebook') {
    throw new Error(`quantize: fineTune applies to codebook mode only, not '${args.mode}'`);
  }
  selectWeights(model, args);
  const accuracyBefore = args.validation ? (await evaluate(model, args.validation)).accuracy : undefined;
  const clone = await cloneModel(model);
  try {
    const quantized: QuantizedWeights = {};
    const shared: SharedWeight[] = [];
    const done: { s: Selected; original: Float32Array; g: GuardedTensor }[] = [];
    for (const s of selectWeights(clone, args)) {
      const w = s.variable;
      const shape = w.shape as number[];
      const original = (w.read().dataSync() as Float32Array).slice();
      const channels = layerChannelAxes(s.className, w.originalName.split('/').pop()!, shape);
      const g = quantizeGuarded(original, shape, { mode: args.mode, bits: args.bits, channels, maxError: args.maxTensorError });
      done.push({ s, original, g });
      if (!g.record) continue;
      quantized[w.originalName] = g.record;
      if (g.record.kind === 'codebook') shared.push({ variable: w, tensor: g.record });
      const t = tf.tensor(g.values, shape, 'float32');
      w.write(t);
      t.dispose();
    }
    const fineTune = args.fineTune ? fineTuneCentroids(clone, shared, args.fineTune) : undefined;
    // Fine-tuning moves centroids: summaries are measured on the final values.
    const infos = done.map(({ s, original, g }) => {
      const where = { name: s.variable.originalName, layer: s.layer, shape: s.variable.shape as number[] };
      return weightInfo(where, original, g, g.record ? dequantize(quantized[where.name]!) : original);
    });
    const agreement = args.probe ? outputAgreement(model, clone, args.probe) : undefined;
    const accuracyAfter = args.validation ? (await evaluate(clone, args.validation)).accuracy : undefined;
    if (args.validation) checkAccuracyDrop(args.mode, accuracyBefore!, accuracyAfter!, args.maxAccuracyDrop);
    return {
      model: clone,
      quantized,
      weights: infos.filter((i) => i.kind !== FLOAT32),
      kept: infos.filter((i) => i.kind === FLOAT32),
      agreement,
      accuracyBefore,
      accuracyAfter,
      fineTune,
    };
  } catch (err) {
    clone.dispose();
    throw err;
  }
}
