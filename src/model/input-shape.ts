import * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { graphNodes } from './graph-info.js';
import { leafLayers } from './summary.js';

/*
 * One rule for "the data's samples and the model's input differ only by unit dims": MNIST comes
 * as [N, 28, 28, 1] while many converted graphs take [-1, 28, 28] (or the other way round).
 * Every forward pass (evaluate, the training loop, distillation, bench) goes through here.
 */

/** A model input shape as tfjs reports it: batch first, unknown dims as `null` (layers) or `-1` (graph). */
export type InputShape = ReadonlyArray<number | null>;

const known = (d: number | null | undefined): d is number => typeof d === 'number' && d >= 0;

/** `[28, 28, 1]`, unknown dims (null, -1) as `?`: how every shape-mismatch message prints a shape. */
export function shapeText(s: ReadonlyArray<number | null | undefined>): string {
  return `[${s.map((d) => (known(d) ? d : '?')).join(', ')}]`;
}

/** True when a sample shape fits a per-sample model shape as is (unknown dims match anything). */
function fits(sample: readonly number[], want: ReadonlyArray<number | null>): boolean {
  return sample.length === want.length && sample.every((d, i) => !known(want[i]) || want[i] === d);
}

/**
 * The per-sample shape to reshape `sample` to so it fits the model's per-sample input shape
 * `want` (no batch dim): `sample` itself when it already fits, the model's shape when the two
 * differ only by dims of size 1 (e.g. [28, 28, 1] -> [28, 28]), else `undefined`.
 *
 * @example
 * adaptSampleShape([28, 28, 1], [28, 28]); // [28, 28]
 * adaptSampleShape([28, 28], [null, 28, 28, 1].slice(1)); // [28, 28, 1]
 */
export function adaptSampleShape(sample: readonly number[], want: ReadonlyArray<number | null>): number[] | undefined {
  if (fits(sample, want)) return [...sample];
  // Only a fully known target can be reshaped to: an unknown dim would be a guess.
  if (!want.every(known)) return undefined;
  const squeeze = (s: ReadonlyArray<number>) => s.filter((d) => d !== 1);
  const a = squeeze(sample);
  const b = squeeze(want as number[]);
  return a.length === b.length && a.every((d, i) => d === b[i]) ? (want as number[]).slice() : undefined;
}

/** Per-sample input shape of a layers or graph model's first input (undefined when not declared). */
export function modelInputShape(model: tf.LayersModel | GraphModel): InputShape | undefined {
  const shape = (model.inputs[0] as { shape?: Array<number | null> } | undefined)?.shape;
  return shape && shape.length >= 1 ? shape.slice(1) : undefined;
}

/**
 * Reshape a batch `[N, ...sample]` to a model's input shape when they differ only by unit dims
 * (returns `x` itself when it already fits or the model declares no shape). Throws one line
 * naming both shapes when they cannot be matched. A new tensor is owned by the caller (or the
 * surrounding `tf.tidy`).
 *
 * @example
 * const y = graph.execute(adaptBatch(xs, modelInputShape(graph))); // [N,28,28,1] into a [-1,28,28] graph
 */
export function adaptBatch(x: tf.Tensor, want: InputShape | undefined, who = 'model'): tf.Tensor {
  if (!want) return x;
  const sample = x.shape.slice(1);
  const to = adaptSampleShape(sample, want);
  if (to === undefined) {
    // Unknown dims the data does not fill exactly: let the model itself judge the input.
    if (!want.every(known)) return x;
    throw new Error(`input samples have shape ${shapeText(sample)} but ${who} expects ${shapeText(want)}`);
  }
  return to.length === sample.length && to.every((d, i) => d === sample[i]) ? x : tf.reshape(x, [x.shape[0]!, ...to]);
}

/**
 * `[height, width]` and channels of an image input (`[H, W, C]` with C 1 or 3, or `[H, W]` as
 * one channel), so image folders are decoded at the size the model takes; `undefined` for
 * other shapes (a vector input, unknown dims).
 *
 * @example
 * imageInputOf([224, 224, 3]); // { imageSize: [224, 224], channels: 3 }
 * imageInputOf([28, 28]); // { imageSize: [28, 28], channels: 1 }
 */
export function imageInputOf(shape: InputShape | undefined): { imageSize: [number, number]; channels: 1 | 3 } | undefined {
  if (!shape || !shape.every(known)) return undefined;
  const [h, w, c = 1] = shape as number[];
  if (shape.length < 2 || shape.length > 3 || (c !== 1 && c !== 3)) return undefined;
  return { imageSize: [h!, w!], channels: c };
}

/** One input of a model: name, per-sample shape, dtype and, for token ids, the valid range. */
export interface InputSpec {
  name: string;
  /** Per-sample shape (no batch dim); unknown dims as `null`. */
  shape: Array<number | null>;
  dtype: string;
  /** Inputs read as indices (Embedding, Gather): valid values are integers in `[0, indexRange)`. */
  indexRange?: number;
}

type Sym = { name: string; shape: Array<number | null>; dtype: string };

/** Vocabulary size of each input that feeds an Embedding layer directly (nested models searched too). */
function embeddingRanges(model: tf.LayersModel): Map<string, number> {
  const out = new Map<string, number>();
  for (const { layer } of leafLayers(model)) {
    if (layer.getClassName() !== 'Embedding') continue;
    const inputs = ([] as Sym[]).concat(layer.input as unknown as Sym | Sym[]);
    const dim = (layer.getConfig() as { inputDim?: number }).inputDim;
    if (dim) for (const t of inputs) out.set(t.name, dim);
  }
  return out;
}

const THROUGH = new Set(['Cast', 'ExpandDims', 'Identity', 'Reshape', 'Squeeze', 'StopGradient']);

/** Rows of the table each graph Placeholder indexes through a Gather (looking through casts and reshapes). */
function gatherRanges(graph: GraphModel): Map<string, number> {
  const nodes = graphNodes(graph);
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const source = (ref: string | undefined): string | undefined => {
    let name = ref?.replace(/:\d+$/, '');
    for (let hops = 0; name && hops < 16; hops++) {
      const n = byName.get(name);
      if (!n || !THROUGH.has(n.op)) return name;
      name = n.input?.[0]?.replace(/:\d+$/, '');
    }
    return name;
  };
  const out = new Map<string, number>();
  for (const n of nodes) {
    if (!['GatherV2', 'Gather', 'ResourceGather'].includes(n.op)) continue;
    const table = graph.weights[source(n.input?.[0]) ?? '']?.[0];
    const from = source(n.input?.[1]);
    if (table && from && byName.get(from)?.op === 'Placeholder') out.set(from, table.shape[0]!);
  }
  return out;
}

/**
 * Every input of a layers or graph model, in feed order, with the index range of inputs that
 * feed an Embedding layer or a Gather (so random bench inputs are valid token ids).
 *
 * @example
 * modelInputSpecs(acgan); // [{ name: 'input_2', shape: [100], dtype: 'float32' }, { name: 'input_3', shape: [1], dtype: 'int32', indexRange: 10 }]
 */
export function modelInputSpecs(model: tf.LayersModel | GraphModel): InputSpec[] {
  const ranges = model instanceof tf.LayersModel ? embeddingRanges(model) : gatherRanges(model);
  // Layers models name inputs by their InputLayer (the symbolic tensors carry load-time suffixes).
  const names = model instanceof tf.LayersModel ? model.inputNames : undefined;
  return (model.inputs as unknown as Array<{ name: string; shape?: Array<number | null>; dtype?: string }>).map((t, i) => {
    const shape = (t.shape ?? [null]).slice(1).map((d) => (typeof d === 'number' && d >= 0 ? d : null));
    const range = ranges.get(t.name) ?? ranges.get(t.name.replace(/:\d+$/, ''));
    return { name: names?.[i] ?? t.name, shape, dtype: t.dtype ?? 'float32', ...(range ? { indexRange: range } : {}) };
  });
}
