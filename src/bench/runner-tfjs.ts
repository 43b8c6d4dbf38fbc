import * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { setBackend } from '../backend/index.js';
import { adaptBatch, modelInputShape, modelInputSpecs } from '../model/input-shape.js';
import type { Feed, ModelKind, ModelRunner, RunOutput, RuntimeName } from './runner.js';
import { tfjsBackendOf } from './runner.js';

/** Arguments of {@link openTfjsRunner}. */
export interface TfjsRunnerArgs {
  name: string;
  kind: ModelKind;
  files: string[];
  /** A tfjs runtime, e.g. `tfjs-wasm`. */
  runtime: RuntimeName;
  /** Loads a fresh model; called after the backend is active so weights live on it. */
  load: () => Promise<tf.LayersModel | GraphModel>;
}

/** Activate a tfjs backend (through src/backend, which also registers wasm kernels). */
export async function useTfjsBackend(backend: 'tensorflow' | 'wasm' | 'cpu'): Promise<void> {
  if (tf.getBackend() !== backend) await setBackend(backend);
}

function inputShapeOf(model: tf.LayersModel | GraphModel): number[] | undefined {
  const rest = modelInputShape(model);
  return rest && rest.length > 0 && rest.every((d) => typeof d === 'number' && d > 0) ? (rest as number[]) : undefined;
}

/**
 * Open a tfjs model on one tfjs backend. Inference awaits `.data()`, so a timing covers the
 * full computation, not just kernel dispatch.
 *
 * @example
 * const r = await openTfjsRunner({ name: 'cnn', kind: 'tfjs-layers', files: [], runtime: 'tfjs-cpu',
 *   load: () => loadLayersModelFromFiles('out/cnn') });
 */
export async function openTfjsRunner(args: TfjsRunnerArgs): Promise<ModelRunner> {
  const backend = tfjsBackendOf(args.runtime);
  if (!backend) throw new Error(`openTfjsRunner: '${args.runtime}' is not a tfjs runtime`);
  await useTfjsBackend(backend);
  const model = await args.load();

  // Another runner may have switched the global backend since; switch back before each call.
  const ensure = async () => {
    if (tf.getBackend() !== backend) await tf.setBackend(backend);
  };
  const declared = modelInputShape(model);
  const forward = (x: Float32Array, shape: number[]): tf.Tensor =>
    tf.tidy(() => {
      const out = model.predict(adaptBatch(tf.tensor(x, shape, 'float32'), declared, `model '${args.name}'`));
      const first = Array.isArray(out) ? out[0] : out instanceof tf.Tensor ? out : Object.values(out)[0];
      if (!first) throw new Error(`model '${args.name}' returned no output`);
      return first.dtype === 'float32' ? first : first.toFloat();
    });
  const specs = modelInputSpecs(model);
  const outputNames = model instanceof tf.LayersModel ? model.outputNames : model.outputs.map((o) => o.name);
  const forwardAll = (feeds: Feed[]): tf.Tensor[] =>
    tf.tidy(() => {
      if (feeds.length !== specs.length) throw new Error(`model '${args.name}' takes ${specs.length} inputs, got ${feeds.length}`);
      const xs = feeds.map((f, i) => adaptBatch(tf.tensor(f.data, f.shape, f.dtype), specs[i]!.shape, `model '${args.name}' input ${specs[i]!.name}`));
      const out = model.predict(xs.length === 1 ? xs[0]! : xs);
      const list = Array.isArray(out) ? out : out instanceof tf.Tensor ? [out] : Object.values(out);
      return list.map((t) => (t.dtype === 'float32' ? t : t.toFloat()));
    });
  const runFeeds = async (feeds: Feed[]): Promise<RunOutput[]> => {
    await ensure();
    const ys = forwardAll(feeds);
    try {
      return await Promise.all(ys.map(async (y) => ({ data: (await y.data()) as Float32Array, shape: y.shape.slice() })));
    } finally {
      for (const y of ys) y.dispose();
    }
  };
  const run = async (x: Float32Array, shape: number[]): Promise<RunOutput> => {
    await ensure();
    const y = forward(x, shape);
    try {
      return { data: (await y.data()) as Float32Array, shape: y.shape.slice() };
    } finally {
      y.dispose();
    }
  };
  return {
    kind: args.kind,
    runtime: args.runtime,
    name: args.name,
    files: args.files,
    inputShape: inputShapeOf(model),
    inputs: specs,
    outputNames,
    runFeeds,
    run,
    predict: async (x, shape) => (await run(x, shape)).data,
    peakBytes: async (x, shape) => {
      await ensure();
      // tf.profile tracks every allocation, including intermediates freed inside tidy.
      const info = await tf.profile(async () => {
        const y = forward(x, shape);
        await y.data();
        y.dispose();
      });
      return info.peakBytes;
    },
    dispose: () => model.dispose(),
  };
}
