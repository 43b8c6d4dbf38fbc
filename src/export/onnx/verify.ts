import * as tf from '@tensorflow/tfjs';
import type * as ort from 'onnxruntime-node';
import { loadOnnxRuntime } from '../../util/onnxruntime.js';
import { seededRandom } from '../../data/dataset.js';
import type { ConvertedModel } from './convert.js';
import { toCfPerm } from './context.js';

/** How an export is checked against the tfjs model. */
export interface VerifyArgs {
  /** Sample inputs (tfjs layout, one tensor per model input). Default: seeded random inputs. */
  inputs?: tf.Tensor | tf.Tensor[];
  /** Batch size of the default random inputs (default 8). */
  samples?: number;
  /** Largest allowed max |onnx - tfjs| (default 1e-4). */
  tolerance?: number;
  /** Seed of the default random inputs (default 1). */
  seed?: number;
}

/** Outcome of {@link verifyOnnx}. */
export interface VerifyReport {
  samples: number;
  tolerance: number;
  /**
   * Max |onnxruntime - tfjs| over all outputs; for float16/int8 the tfjs side uses the same rounded
   * weights, and int8 runs with {@link WEIGHT_ONLY_INT8_SESSION}.
   */
  maxAbsDiff: number;
  /** Per output. */
  maxAbsDiffPerOutput: number[];
  /** float16/int8 only: max |onnxruntime - original float32 tfjs model| (the quantization error itself). */
  maxAbsDiffVsFloat?: number;
  /**
   * int8 only: max |onnxruntime - dequantized tfjs| with default session options, where onnxruntime
   * may also quantize activations (see {@link WEIGHT_ONLY_INT8_SESSION}); informational.
   */
  maxAbsDiffOrtDefaultSession?: number;
  ok: boolean;
}

/**
 * Session options that keep int8 weight-only semantics: with default settings onnxruntime fuses
 * DequantizeLinear + MatMul/Gemm into a dynamically quantized int8 matmul (activations quantized too).
 */
export const WEIGHT_ONLY_INT8_SESSION: ort.InferenceSession.SessionOptions = { extra: { session: { disable_quant_qdq: '1' } } };

const RECURRENT = new Set(['LSTM', 'GRU', 'SimpleRNN', 'Bidirectional']);

/** Layers of `model` that take the model input `t` directly. */
function consumersOf(model: tf.LayersModel, t: tf.SymbolicTensor): tf.layers.Layer[] {
  return model.layers.filter((l) => l.inboundNodes.some((nd) => (nd as unknown as { inputTensors: tf.SymbolicTensor[] }).inputTensors.some((x) => x.id === t.id)));
}

/**
 * Default inputs: uniform [0, 1); valid integer ids for inputs feeding an Embedding layer; one-hot
 * steps for sequences feeding a recurrent layer directly (what such inputs really are: dense
 * random sequences drive a trained LSTM into a chaotic regime where even tfjs's cpu and wasm
 * backends disagree by 1e-2, so they could not tell a wrong export from rounding).
 */
export function defaultInputs(model: tf.LayersModel, n: number, seed = 1): tf.Tensor[] {
  const rand = seededRandom(seed);
  return model.inputs.map((t) => {
    const shape = [n, ...(t.shape.slice(1) as number[])];
    const size = shape.reduce((a, b) => a * b, 1);
    const users = consumersOf(model, t);
    const emb = users.find((l) => l.getClassName() === 'Embedding');
    if (emb || t.dtype === 'int32') {
      const hi = emb ? (emb.getConfig().inputDim as number) : 10;
      const ids = Float32Array.from({ length: size }, () => Math.floor(rand() * hi));
      return tf.tensor(ids, shape, t.dtype === 'int32' ? 'int32' : 'float32');
    }
    const features = shape[shape.length - 1]!;
    if (shape.length === 3 && users.some((l) => RECURRENT.has(l.getClassName()))) {
      const data = new Float32Array(size);
      for (let s = 0; s < size / features; s++) data[s * features + Math.floor(rand() * features)] = 1;
      return tf.tensor(data, shape);
    }
    return tf.tensor(Float32Array.from({ length: size }, () => rand()), shape);
  });
}

/**
 * Run ONNX bytes in onnxruntime-node. Feeds are physical (already in the graph's layout).
 * @example const out = await runOnnx(bytes, { input: new ort.Tensor('float32', x, [1, 28, 28, 1]) });
 */
export async function runOnnx(
  bytes: Uint8Array,
  feeds: Record<string, ort.Tensor>,
  options: ort.InferenceSession.SessionOptions = {},
): Promise<Record<string, ort.Tensor>> {
  const ortRt = await loadOnnxRuntime();
  const session = await ortRt.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, ...options });
  try {
    return (await session.run(feeds)) as Record<string, ort.Tensor>;
  } finally {
    await session.release();
  }
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`output size mismatch: onnx ${a.length} vs tfjs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** tfjs predictions in the ONNX output layouts, as flat arrays. */
function tfjsOutputs(model: tf.LayersModel, xs: tf.Tensor[], conv: ConvertedModel): Float32Array[] {
  // tidy returns tensors, not typed arrays: tidy walks what it returns element by element, which
  // fails on large outputs (224x224x10 segmentation maps).
  const outs = tf.tidy(() => {
    const raw = model.predict(xs.length === 1 ? xs[0]! : xs);
    return (Array.isArray(raw) ? raw : [raw]).map((o, i) => (conv.outputLayouts[i] === 'cf' ? tf.transpose(o, toCfPerm(o.rank)) : o));
  });
  try {
    return outs.map((t) => t.dataSync() as Float32Array);
  } finally {
    tf.dispose(outs);
  }
}

/**
 * Compare an ONNX conversion with the tfjs model on sample inputs. For float16/int8 weights the tfjs
 * reference temporarily uses the same dequantized weights (restored afterwards), so the check
 * isolates conversion errors from the (reported) quantization error.
 */
export async function verifyOnnx(model: tf.LayersModel, conv: ConvertedModel, args: VerifyArgs = {}): Promise<VerifyReport> {
  const tolerance = args.tolerance ?? 1e-4;
  const own = args.inputs === undefined;
  const xs = own ? defaultInputs(model, args.samples ?? 8, args.seed ?? 1) : Array.isArray(args.inputs) ? args.inputs : [args.inputs!];
  try {
    const ortRt = await loadOnnxRuntime();
    if (xs.length !== model.inputs.length) throw new Error(`verify.inputs: model has ${model.inputs.length} inputs, got ${xs.length} tensors`);
    const feeds: Record<string, ort.Tensor> = {};
    xs.forEach((x, i) => {
      // tfjs predict() turns a rank-1 batch into [N, 1] for a [null, 1] input: feed ONNX the same.
      const fed = x.rank === 1 && model.inputs[i]!.shape.length === 2 ? x.reshape([-1, 1]) : x;
      const phys = tf.tidy(() => (conv.inputLayouts[i] === 'cf' ? tf.transpose(fed, toCfPerm(fed.rank)) : fed.clone()));
      if (fed !== x) fed.dispose();
      const data = phys.dataSync();
      feeds[conv.inputNames[i]!] =
        x.dtype === 'int32' ? new ortRt.Tensor('int32', Int32Array.from(data), phys.shape) : new ortRt.Tensor('float32', Float32Array.from(data), phys.shape);
      phys.dispose();
    });
    // int8 weights (the int8 mode or exported records) need the weight-only session to keep their semantics.
    const int8 = (conv.opCounts.DequantizeLinear ?? 0) > 0;
    const onnxOut = await runOnnx(conv.bytes, feeds, int8 ? WEIGHT_ONLY_INT8_SESSION : {});
    const onnxData = conv.outputNames.map((n) => onnxOut[n]!.data as Float32Array);
    const fusedOut = int8 ? await runOnnx(conv.bytes, feeds) : undefined;

    let floatDiff: number | undefined;
    let reference: Float32Array[];
    if (conv.dequantized.size) {
      const floatOut = tfjsOutputs(model, xs, conv);
      floatDiff = Math.max(...floatOut.map((f, i) => maxAbs(onnxData[i]!, f)));
      const saved: [tf.LayerVariable, tf.Tensor][] = [];
      try {
        for (const [v, deq] of conv.dequantized) {
          saved.push([v, v.read().clone()]);
          const t = tf.tensor(deq, v.shape as number[]);
          v.write(t);
          t.dispose();
        }
        reference = tfjsOutputs(model, xs, conv);
      } finally {
        for (const [v, orig] of saved) {
          v.write(orig);
          orig.dispose();
        }
      }
    } else {
      reference = tfjsOutputs(model, xs, conv);
    }
    const per = reference.map((r, i) => maxAbs(onnxData[i]!, r));
    const maxAbsDiff = Math.max(...per);
    const fusedDiff = fusedOut ? Math.max(...reference.map((r, i) => maxAbs(fusedOut[conv.outputNames[i]!]!.data as Float32Array, r))) : undefined;
    return {
      samples: xs[0]!.shape[0]!,
      tolerance,
      maxAbsDiff,
      maxAbsDiffPerOutput: per,
      maxAbsDiffVsFloat: floatDiff,
      maxAbsDiffOrtDefaultSession: fusedDiff,
      ok: maxAbsDiff <= tolerance,
    };
  } finally {
    if (own) xs.forEach((x) => x.dispose());
  }
}
