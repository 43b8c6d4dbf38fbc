import * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import type { TensorDataset } from '../../data/dataset.js';
import { adaptSampleShape, modelInputShape, shapeText, type InputShape } from '../input-shape.js';
import { leafLayers } from '../summary.js';

/*
 * Data and model are checked against each other once, before any batch runs, on every backend:
 * a mismatch otherwise surfaces as "memory access out of bounds" on wasm, or trains silently on
 * cpu (a Dense layer with zero inputs). train() and evaluate() call this, so distillation,
 * pruning and every command that trains or scores go through it.
 */


function sameRankFits(sample: readonly number[], want: InputShape): boolean {
  return sample.length === want.length && sample.every((d, i) => !(typeof want[i] === 'number' && want[i]! >= 0) || want[i] === d);
}

/** The first layer (nested models searched) whose output has a zero-sized dimension. */
function emptyLayer(model: tf.LayersModel): { name: string; shape: Array<number | null> } | undefined {
  for (const { layer } of leafLayers(model)) {
    let shapes: Array<Array<number | null>>;
    try {
      const s = layer.outputShape as Array<number | null> | Array<Array<number | null>>;
      shapes = Array.isArray(s[0]) ? (s as Array<Array<number | null>>) : [s as Array<number | null>];
    } catch {
      continue; // a layer used at several shapes has no single outputShape
    }
    for (const shape of shapes) if (shape.slice(1).some((d) => d === 0)) return { name: layer.name, shape };
  }
  return undefined;
}

function outputShapeOf(model: tf.LayersModel | GraphModel): InputShape | undefined {
  const s = (model.outputs[0] as { shape?: Array<number | null> } | undefined)?.shape;
  return s && s.length >= 1 ? s.slice(1).map((d) => (typeof d === 'number' && d >= 0 ? d : null)) : undefined;
}

/** What {@link checkDataFitsShapes} compares: a model's name and per-sample first input/output shapes. */
export interface ModelShapes {
  name: string;
  inputShape?: InputShape;
  outputShape?: InputShape;
}

/**
 * The shape part of {@link checkDataFitsModel}, for when only the model's shapes are known (an
 * ONNX file, a model described before its data is loaded): one line naming both shapes.
 */
export function checkDataFitsShapes(model: ModelShapes, data: Pick<TensorDataset, 'xShape' | 'yShape'>, what = 'dataset', check: 'inputs' | 'all' = 'all'): void {
  const want = model.inputShape;
  if (want && !adaptSampleShape(data.xShape, want) && !sameRankFits(data.xShape, want)) {
    throw new Error(`${what} samples have shape ${shapeText(data.xShape)} but model '${model.name}' expects inputs of shape ${shapeText(want)}`);
  }
  const out = model.outputShape;
  if (check === 'all' && out && !sameRankFits(data.yShape, out)) {
    throw new Error(`${what} targets have shape ${shapeText(data.yShape)} but model '${model.name}' outputs shape ${shapeText(out)}`);
  }
}

/**
 * Throw one line naming both shapes when `data` cannot be fed to `model`: the samples do not fit
 * its first input (beyond unit dims, which batches are reshaped across), the input is too small
 * for the architecture (a layer would output a zero-sized dimension), or its first output's
 * per-sample shape differs from the targets.
 *
 * @example
 * checkDataFitsModel(buildZooModel('lenet5', { inputShape: [10, 10, 1] }), ds);
 * // Error: model 'lenet5' cannot take dataset samples of shape [10, 10, 1]: layer 'pool_2' would output [?, 0, 0, 16] ...
 */
export function checkDataFitsModel(model: tf.LayersModel | GraphModel, data: TensorDataset, what = 'dataset'): void {
  // Graph inputs are matched batch by batch by adaptBatch (same rule, before the graph runs).
  const isLayers = model instanceof tf.LayersModel;
  const shapes: ModelShapes = { name: (model as { name?: string }).name ?? 'model', inputShape: isLayers ? modelInputShape(model) : undefined, outputShape: outputShapeOf(model) };
  checkDataFitsShapes(shapes, data, what, 'inputs');
  if (model instanceof tf.LayersModel) {
    const empty = emptyLayer(model);
    if (empty) {
      throw new Error(`model '${shapes.name}' cannot take ${what} samples of shape ${shapeText(data.xShape)}: layer '${empty.name}' would output ${shapeText(empty.shape)} (input too small for this architecture)`);
    }
  }
  checkDataFitsShapes(shapes, data, what);
}

/** Per-sample shape of a model's first output (unknown dims `null`), e.g. `[10]` for a 10-class classifier. */
export function modelOutputShape(model: tf.LayersModel | GraphModel): InputShape | undefined {
  return outputShapeOf(model);
}
