import * as ort from 'onnxruntime-node';
import { basename } from 'node:path';
import type { ModelRunner, RunOutput } from './runner.js';

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
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, {
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

  const run = async (x: Float32Array, shape: number[]): Promise<RunOutput> => {
    const feed = new ort.Tensor('float32', x, shape);
    const results = await session.run({ [inputName]: feed });
    const out = results[outputName]!;
    if (out.type !== 'float32') throw new Error(`${path}: output '${outputName}' is ${out.type}, expected float32`);
    const result = { data: out.data as Float32Array, shape: out.dims.slice() };
    feed.dispose();
    return result;
  };
  return {
    kind: 'onnx',
    runtime: 'onnx',
    name: args.name ?? basename(path).replace(/\.onnx$/i, ''),
    files: [path],
    inputShape,
    run,
    predict: async (x, shape) => (await run(x, shape)).data,
    dispose: () => {
      void session.release();
    },
  };
}
