/**
 * Helpers shared by the compression benchmarks B1 (compress-lenet300) and B2 (compress-tfmot):
 * the quantize -> pack -> unpack -> evaluate step that turns a pruned model into a `.tfjsc` container and measures it against the fp32 baseline.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorDataset } from '../src/data/dataset.js';
import { quantizeModel, type QuantizeArgs } from '../src/quantize/index.js';
import { containerStats, measureCompression, unpackModel } from '../src/serialize/index.js';
import { evaluate } from '../src/train/index.js';

/** Options of {@link quantizePack}. */
export interface QuantizePackArgs {
  /** Quantizer arguments (mode, bits, fineTune...). */
  quantize: QuantizeArgs;
  /** The unpruned fp32 model: the gzip baseline of `gzipRatio`. */
  baseline: tf.LayersModel;
  /** Data the unpacked model is judged on while choosing (the validation split). */
  test: TensorDataset;
  /** The test set, scored once on the decoded container when given (`testAccuracy`). */
  finalTest?: TensorDataset;
}

/** Sizes and accuracy of one quantize + pack run. */
export interface QuantizePackResult {
  mode: string;
  bits?: number;
  /** Test accuracy of the model decoded from the container (fraction). */
  accuracy: number;
  /** Test accuracy of the in-memory quantized model (must equal `accuracy`). */
  accuracyInMemory: number;
  /** Accuracy of the decoded container on `finalTest`, when given. */
  testAccuracy?: number;
  containerBytes: number;
  containerGzipBytes: number;
  /** float32 bytes of every weight (kernels and biases, dense). */
  denseWeightBytes: number;
  /** denseWeightBytes / containerBytes (Deep Compression's ratio). */
  fp32Ratio: number;
  /** gzip(fp32 tfjs artifact of the baseline) / gzip(container). */
  gzipRatio: number;
  baselineGzipBytes: number;
  tensors: { name: string; encoding: string; nnz: number; elements: number; storedBytes: number }[];
  fineTune?: { steps: number; lossStart: number; lossEnd: number };
  seconds: number;
  /** The container itself (not enumerable: kept out of the result JSON), to score a chosen variant later. */
  readonly bytes?: Uint8Array;
}

/** Accuracy of a container's decoded model on `data` (the test set, once the choice is made). */
export async function containerAccuracy(bytes: Uint8Array, data: TensorDataset): Promise<number> {
  const decoded = await unpackModel(bytes);
  try {
    return (await evaluate(decoded, data)).accuracy!;
  } finally {
    decoded.dispose();
  }
}

/**
 * Quantize `model`, pack it, decode the container again and evaluate the decoded model, so the
 * reported accuracy is that of the bytes actually shipped.
 */
export async function quantizePack(model: tf.LayersModel, args: QuantizePackArgs): Promise<QuantizePackResult> {
  const t0 = performance.now();
  const q = await quantizeModel(model, args.quantize);
  try {
    const report = await measureCompression(q.model, { quantized: q.quantized }, args.baseline);
    const accuracyInMemory = (await evaluate(q.model, args.test)).accuracy!;
    const decoded = await unpackModel(report.bytes);
    const accuracy = (await evaluate(decoded, args.test)).accuracy!;
    const testAccuracy = args.finalTest ? (await evaluate(decoded, args.finalTest)).accuracy! : undefined;
    decoded.dispose();
    const stats = containerStats(report.bytes);
    const result: QuantizePackResult = {
      mode: args.quantize.mode,
      bits: args.quantize.bits,
      accuracy,
      accuracyInMemory,
      testAccuracy,
      containerBytes: report.bytes.byteLength,
      containerGzipBytes: report.container.gzipBytes,
      denseWeightBytes: report.container.denseWeightBytes,
      fp32Ratio: report.fp32Ratio,
      gzipRatio: report.gzipRatio,
      baselineGzipBytes: report.baseline.gzipBytes,
      tensors: stats.tensors.map((t) => ({ name: t.name, encoding: t.encoding, nnz: t.nnz, elements: t.elements, storedBytes: t.storedBytes })),
      fineTune: q.fineTune,
      seconds: (performance.now() - t0) / 1000,
    };
    Object.defineProperty(result, 'bytes', { value: report.bytes, enumerable: false });
    return result;
  } finally {
    q.model.dispose();
  }
}

/** `0.9812` -> `1.88%` error. */
export const errPct = (accuracy: number): string => `${((1 - accuracy) * 100).toFixed(2)}%`;
