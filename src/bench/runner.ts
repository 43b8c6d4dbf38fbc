/** Where a model runs: a tfjs backend or onnxruntime-node's CPU execution provider. */
export type RuntimeName = 'tfjs-tensorflow' | 'tfjs-wasm' | 'tfjs-cpu' | 'onnx';

/** Every runtime name, in the order reports list them. */
export const RUNTIMES: readonly RuntimeName[] = ['tfjs-tensorflow', 'tfjs-wasm', 'tfjs-cpu', 'onnx'];

/** What kind of artifact a runner was opened from. */
export type ModelKind = 'tfjs-layers' | 'tfjs-graph' | 'container' | 'onnx';

import type { InputSpec } from '../model/input-shape.js';

/** Values for one model input, batch first. */
export interface Feed {
  data: Float32Array | Int32Array;
  shape: number[];
  dtype: 'float32' | 'int32';
}

/** Output of one inference: flat values plus their shape (batch first). */
export interface RunOutput {
  data: Float32Array;
  shape: number[];
}

/**
 * One model opened on one runtime. The same Float32Array input feeds every runtime, so
 * numbers are comparable across tfjs backends and onnxruntime.
 *
 * @example
 * const y = await runner.predict(x, [1, 28, 28, 1]);
 * runner.dispose();
 */
export interface ModelRunner {
  kind: ModelKind;
  runtime: RuntimeName;
  name: string;
  /** Artifact files the model was loaded from (empty for in-memory models). */
  files: string[];
  /** Shape of one input sample (no batch dimension) when the model declares it. */
  inputShape?: number[];
  /** Run a batch; resolves once the output is on the CPU (so timings include the work). */
  predict(x: Float32Array, shape: number[]): Promise<Float32Array>;
  /** Like {@link predict} but also returns the output shape. */
  run(x: Float32Array, shape: number[]): Promise<RunOutput>;
  /** Every input the model takes, in feed order (with index ranges for token-id inputs). */
  inputs?: InputSpec[];
  /** Output names, in the order {@link runFeeds} returns them. */
  outputNames?: string[];
  /** Run with one feed per input (multi-input, integer and token-id models); resolves to every output. */
  runFeeds?(feeds: Feed[]): Promise<RunOutput[]>;
  /** Peak tensor bytes allocated during one inference, where the runtime can tell. */
  peakBytes?(x: Float32Array, shape: number[]): Promise<number>;
  dispose(): void;
}

/**
 * Parse a comma-separated runtime list (`tfjs-wasm,onnx`), naming the bad entry on error.
 * `tfjs` alone means the default tfjs backend and is returned as `tfjs-default`.
 */
export function parseRuntimes(list: string): Array<RuntimeName | 'tfjs-default'> {
  const out: Array<RuntimeName | 'tfjs-default'> = [];
  for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const name = raw === 'tfjs' ? 'tfjs-default' : raw === 'ort' || raw === 'onnxruntime' ? 'onnx' : raw;
    if (name !== 'tfjs-default' && !RUNTIMES.includes(name as RuntimeName)) {
      throw new Error(`unknown runtime '${raw}': expected one of tfjs, ${RUNTIMES.join(', ')}`);
    }
    if (!out.includes(name as RuntimeName)) out.push(name as RuntimeName);
  }
  if (out.length === 0) throw new Error(`runtime list '${list}' is empty`);
  return out;
}

/** tfjs backend name of a tfjs runtime (`tfjs-wasm` -> `wasm`). */
export function tfjsBackendOf(runtime: RuntimeName): 'tensorflow' | 'wasm' | 'cpu' | undefined {
  return runtime.startsWith('tfjs-') ? (runtime.slice(5) as 'tensorflow' | 'wasm' | 'cpu') : undefined;
}
