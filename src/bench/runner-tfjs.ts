import * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { setBackend } from '../backend/index.js';
import type { ModelKind, ModelRunner, RunOutput, RuntimeName } from './runner.js';
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
  const shape = (model.inputs[0] as { shape?: Array<number | null> } | undefined)?.shape;
  if (!shape || shape.length < 2) return undefined;
  const rest = shape.slice(1);
  return rest.every((d) => typeof d === 'number' && d > 0) ? (rest as number[]) : undefined;
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
  const forward = (x: Float32Array, shape: number[]): tf.Tensor =>
    tf.tidy(() => {
      const out = model.predict(tf.tensor(x, shape, 'float32'));
      const first = Array.isArray(out) ? out[0] : out instanceof tf.Tensor ? out : Object.values(out)[0];
      if (!first) throw new Error(`model '${args.name}' returned no output`);
      return first.dtype === 'float32' ? first : first.toFloat();
    });
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
