import * as tf from '@tensorflow/tfjs';
import type { TensorDataset } from '../data/dataset.js';
import { cloneModel } from '../model/clone.js';
import { dequantize } from './dequantize.js';
import { evaluate } from '../train/evaluate.js';
import { fineTuneCentroids, type FineTuneArgs, type FineTuneReport, type SharedWeight } from './finetune.js';
import { getQuantizer } from './quantizers.js';
import type { QuantizedWeights } from './types.js';

/** Options for {@link quantizeModel}. */
export interface QuantizeArgs {
  /** Quantizer name: float16, int8, uint8, int8-channel, uint8-channel or codebook. */
  mode: string;
  /** Codebook index width, 2..8 (default 5). */
  bits?: number;
  /** Layer names whose weights stay float32. Unknown names are an error. */
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
}

/** Per-weight summary. */
export interface QuantizedWeightInfo {
  name: string;
  layer: string;
  shape: number[];
  kind: string;
  /** Largest |original - dequantized| over the tensor. */
  maxAbsError: number;
  /** Fraction of exact zeros in the original and in the dequantized weight. */
  zerosBefore: number;
  zerosAfter: number;
}

/** What {@link quantizeModel} returns. */
export interface QuantizeResult {
  /** Deployment model: a new model whose weights are the dequantized values. */
  model: tf.LayersModel;
  /** The quantized form of every quantized weight, for the container and the ONNX exporter. */
  quantized: QuantizedWeights;
  weights: QuantizedWeightInfo[];
  /** Top-1 accuracy (fractions) when `validation` was given. */
  accuracyBefore?: number;
  accuracyAfter?: number;
  fineTune?: FineTuneReport;
}

const KERNEL_NAMES = new Set(['kernel', 'depthwise_kernel', 'pointwise_kernel', 'recurrent_kernel', 'embeddings']);

function zeroFraction(v: Float32Array): number {
  let z = 0;
  for (let i = 0; i < v.length; i++) if (v[i] === 0) z++;
  return v.length ? z / v.length : 0;
}

/**
 * Post-training weight quantization. Returns a new deployment model holding the dequantized
 * weights plus the quantized records; the input model is not modified. With `maxAccuracyDrop`
 * the call throws (and disposes the new model) when validation accuracy falls by more than that.
 *
 * @example
 * const { model: q, quantized } = await quantizeModel(model, { mode: 'codebook', bits: 5 });
 * const bytes = await packModel(q, { quantized });
 */
export async function quantizeModel(model: tf.LayersModel, args: QuantizeArgs): Promise<QuantizeResult> {
  const quantizer = getQuantizer(args.mode);
  const kernelsOnly = args.kernelsOnly ?? true;
  if (args.maxAccuracyDrop !== undefined && !args.validation) {
    throw new Error('quantize: maxAccuracyDrop needs validation data');
  }
  if (args.fineTune && quantizer.name !== 'codebook') {
    throw new Error(`quantize: fineTune applies to codebook mode only, not '${args.mode}'`);
  }
  const skip = new Set(args.skipLayers ?? []);
  const layerNames = new Set(model.layers.map((l) => l.name));
  const unknown = [...skip].filter((n) => !layerNames.has(n));
  if (unknown.length) {
    throw new Error(`quantize: skipLayers names unknown layer(s) ${unknown.join(', ')}; model layers are ${[...layerNames].join(', ')}`);
  }
  const accuracyBefore = args.validation ? (await evaluate(model, args.validation)).accuracy : undefined;
  const clone = await cloneModel(model);
  try {
    const quantized: QuantizedWeights = {};
    const weights: QuantizedWeightInfo[] = [];
    const shared: SharedWeight[] = [];
    const originals = new Map<string, Float32Array>();
    for (const layer of clone.layers) {
      if (skip.has(layer.name)) continue;
      for (const w of layer.weights) {
        const leaf = w.originalName.split('/').pop()!;
        if (w.dtype !== 'float32' || (kernelsOnly && !KERNEL_NAMES.has(leaf))) continue;
        if (quantized[w.originalName]) throw new Error(`quantize: duplicate weight name '${w.originalName}'`);
        const original = (w.read().dataSync() as Float32Array).slice();
        // Conv2DTranspose kernels are [h, w, out, in]: their output channel is axis 2, not the last.
        const channelAxis = layer.getClassName() === 'Conv2DTranspose' && leaf === 'kernel' ? 2 : -1;
        const q = quantizer.quantize(original, w.shape as number[], { bits: args.bits, channelAxis });
        quantized[w.originalName] = q;
        if (q.kind === 'codebook') shared.push({ variable: w, tensor: q });
        const deq = dequantize(q);
        const t = tf.tensor(deq, w.shape as number[], 'float32');
        w.write(t);
        t.dispose();
        weights.push({ name: w.originalName, layer: layer.name, shape: [...(w.shape as number[])], kind: q.kind, maxAbsError: 0, zerosBefore: zeroFraction(original), zerosAfter: 0 });
        originals.set(w.originalName, original);
      }
    }
    const fineTune = args.fineTune ? fineTuneCentroids(clone, shared, args.fineTune) : undefined;
    // Errors and zero counts are measured on the final values (after any fine-tuning).
    for (const info of weights) {
      const deq = dequantize(quantized[info.name]!);
      const orig = originals.get(info.name)!;
      let err = 0;
      for (let i = 0; i < deq.length; i++) err = Math.max(err, Math.abs(orig[i]! - deq[i]!));
      info.maxAbsError = err;
      info.zerosAfter = zeroFraction(deq);
    }
    const accuracyAfter = args.validation ? (await evaluate(clone, args.validation)).accuracy : undefined;
    if (args.maxAccuracyDrop !== undefined) {
      const drop = (accuracyBefore! - accuracyAfter!) * 100;
      if (drop > args.maxAccuracyDrop) {
        throw new Error(
          `quantize (${args.mode}): accuracy dropped ${drop.toFixed(2)} points (${(accuracyBefore! * 100).toFixed(2)}% -> ${(accuracyAfter! * 100).toFixed(2)}%), more than maxAccuracyDrop ${args.maxAccuracyDrop}`,
        );
      }
    }
    return { model: clone, quantized, weights, accuracyBefore, accuracyAfter, fineTune };
  } catch (err) {
    clone.dispose();
    throw err;
  }
}
