import type * as ort from 'onnxruntime-node';
import { loadOnnxRuntime } from '../util/onnxruntime.js';
import { basename } from 'node:path';
import { adaptSampleShape } from '../model/input-shape.js';
import type { InputSpec } from '../model/input-shape.js';
import type { Feed, ModelRunner, RunOutput } from './runner.js';

/** Arguments of {@link openOnnxRunner}. */
export interface OnnxRunnerArgs {
  /** Display name (default: file name without extension). */
  name?: string;
  /** Intra-op threads for the CPU execution provider (default: onnxruntime's choice). */
  threads?: number;
}

/**
 * Open an `.onnx` file on onnxruntime-node's CPU execution provider. Feeds the first input,
 * reads the first output.
 *
 * @example
 * const r = await openOnnxRunner('out/cnn.onnx', { threads: 2 });
 * const y = await r.predict(x, [32, 28, 28, 1]);
 */
export async function openOnnxRunner(path: string, args: OnnxRunnerArgs = {}): Promise<ModelRunner> {
  const ortRt = await loadOnnxRuntime();
  let session: ort.InferenceSession;
  try {
    session = await ortRt.InferenceSession.create(path, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      ...(args.threads ? { intraOpNumThreads: args.threads } : {}),
    });
  } catch (err) {
    throw new Error(`${path}: onnxruntime cannot load this model (${(err as Error).message})`);
  }
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  if (!inputName || !outputName) throw new Error(`${path}: ONNX model has no inputs or no outputs`);
  const meta = session.inputMetadata?.[0];
  const dims = meta && meta.isTensor ? meta.shape.slice(1) : [];
  const inputShape = dims.length > 0 && dims.every((d) => typeof d === 'number' && d > 0) ? (dims as number[]) : undefined;
  const declared = dims.length > 0 ? dims.map((d) => (typeof d === 'number' && d > 0 ? d : null)) : undefined;

  const run = async (x: Float32Array, shape: number[]): Promise<RunOutput> => {
    // [N,28,28,1] data into a [N,28,28] input (or back): same values, unit dims differ.
    const sample = declared ? adaptSampleShape(shape.slice(1), declared) : undefined;
    const feed = new ortRt.Tensor('float32', x, sample ? [shape[0]!, ...sample] : shape);
    const results = await session.run({ [inputName]: feed });
    const out = results[outputName]!;
    if (out.type !== 'float32') throw new Error(`${path}: output '${outputName}' is ${out.type}, expected float32`);
    const result = { data: out.data as Float32Array, shape: out.dims.slice() };
    feed.dispose();
    return result;
  };
  // Every input (int64 ids are fed as int32 values widened to int64).
  const inputs: InputSpec[] = session.inputNames.map((name, i) => {
    const m = session.inputMetadata?.[i];
    const shape = m && m.isTensor ? m.shape.slice(1).map((d) => (typeof d === 'number' && d > 0 ? d : null)) : [];
    const dtype = m && m.isTensor ? (m.type === 'int64' || m.type === 'int32' ? 'int32' : 'float32') : 'float32';
    return { name, shape, dtype };
  });
  const intTypes = new Map(session.inputNames.map((n, i) => [n, (session.inputMetadata?.[i] as { type?: string } | undefined)?.type]));
  const runFeeds = async (feeds: Feed[]): Promise<RunOutput[]> => {
    const map: Record<string, ort.Tensor> = {};
    feeds.forEach((f, i) => {
      const name = session.inputNames[i]!;
      map[name] = intTypes.get(name) === 'int64'
        ? new ortRt.Tensor('int64', BigInt64Array.from(f.data, (v) => BigInt(v)), f.shape)
        : new ortRt.Tensor(f.dtype, f.data, f.shape);
    });
    const results = await session.run(map);
    return session.outputNames.map((n) => {
      const t = results[n]!;
      return { data: t.type === 'float32' ? (t.data as Float32Array) : Float32Array.from(t.data as ArrayLike<number>, Number), shape: t.dims.slice() };
    });
  };
  return {
    kind: 'onnx',
    runtime: 'onnx',
    name: args.name ?? basename(path).replace(/\.onnx$/i, ''),
    files: [path],
    inputShape,
    inputs,
    outputNames: [...session.outputNames],
    runFeeds,
    run,
    predict: async (x, shape) => (await run(x, shape)).data,
    dispose: () => {
      void session.release();
    },
  };
}
