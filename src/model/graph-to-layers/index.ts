/**
 * Graph model -> layers model: rebuild a tensorflowjs_converter graph model (GraphDef ops) as a
 * functional tfjs LayersModel made of stock layers only, checked against `GraphModel.execute`.
 */
import * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { buildLayersModel, unsupportedOpCounts } from './build.js';
import { GraphDef } from './graph.js';
import { checkParity, parityInputs } from './parity.js';
import { parityReference } from './reference.js';

/** Options of {@link graphToLayers}. */
export interface GraphToLayersArgs {
  /** Real sample inputs for the parity check, one tensor per model input (not disposed). Default: seeded random inputs. */
  inputs?: tf.Tensor[];
  /** Batch size of the seeded random parity inputs (default 4). */
  samples?: number;
  /** Largest allowed max |layers - graph| on any output (default 1e-5). */
  tolerance?: number;
  /** Model name used for the layers model and in messages (default 'graph'). */
  name?: string;
}

/** What {@link graphToLayers} built and how closely it matches the graph. */
export interface GraphToLayersReport {
  /** Layers in the rebuilt model (input layers included). */
  layers: number;
  params: number;
  /** Op-type counts of the graph nodes the outputs depend on (Const excluded). */
  opCounts: Record<string, number>;
  /** Max |layers model - GraphModel.execute| over the parity inputs, overall and per output. */
  parity: { samples: number; maxAbsDiff: number; perOutput: number[]; tolerance: number };
}

/**
 * Rebuild a graph model as a trainable functional LayersModel from stock tfjs layers (so stock
 * `tf.loadLayersModel` loads it once saved), then check it against `graph.execute` on the given or
 * seeded random inputs. Throws one line naming the unsupported ops, or the output whose
 * difference exceeds the tolerance; nothing leaks on either path.
 *
 * Constant per-channel Mul/Add (a folded inference batch norm) become BatchNormalization layers
 * with mean 0, variance 1, epsilon 0: exact at inference; in training mode they normalise by
 * batch statistics like any BatchNormalization.
 *
 * @example
 * const graph = await loadGraphModelFromFiles('web_model2');
 * const { model, report } = await graphToLayers(graph, { samples: 8 });
 * console.log(report.layers, report.params, report.parity.maxAbsDiff);
 */
export async function graphToLayers(graph: GraphModel, args: GraphToLayersArgs = {}): Promise<{ model: tf.LayersModel; report: GraphToLayersReport }> {
  const name = args.name ?? 'graph';
  const tolerance = args.tolerance ?? 1e-5;
  const samples = args.samples ?? 4;
  if (!(tolerance >= 0)) throw new Error(`tolerance must be >= 0, got ${tolerance}`);
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`samples must be a positive integer, got ${samples}`);
  if (args.inputs && args.inputs.length !== graph.inputs.length) {
    throw new Error(`graph model '${name}' has ${graph.inputs.length} inputs, got ${args.inputs.length} parity input tensors`);
  }
  const def = new GraphDef(graph);
  const built = buildLayersModel(def, name);
  const own = args.inputs ? undefined : parityInputs(graph, built, samples);
  let reference: GraphModel | undefined;
  try {
    reference = await parityReference(graph, def.reachable);
    const parity = checkParity(reference, built, args.inputs ?? own!, tolerance);
    const worst = parity.perOutput.findIndex((d) => !(d <= tolerance));
    if (worst >= 0) {
      throw new Error(
        `graph model '${name}' -> layers: output '${def.outputRefs[worst]}' differs from GraphModel.execute by ${parity.perOutput[worst]!.toExponential(2)} ` +
          `> tolerance ${tolerance} (${parity.samples} samples)`,
      );
    }
    const report: GraphToLayersReport = { layers: built.model.layers.length, params: built.model.countParams(), opCounts: def.opCounts(), parity };
    return { model: built.model, report };
  } catch (err) {
    built.model.dispose();
    throw err;
  } finally {
    own?.forEach((t) => t.dispose());
    if (reference && reference !== graph) reference.dispose();
  }
}

/**
 * Op types (with node counts) in the graph's reachable nodes that have no layers conversion;
 * empty when every op type converts. Attribute-level refusals (e.g. NCHW data format) are only
 * found by {@link graphToLayers} itself.
 *
 * @example
 * const bad = unsupportedGraphOps(graph); // { TopKV2: 2 }
 */
export function unsupportedGraphOps(graph: GraphModel): Record<string, number> {
  return unsupportedOpCounts(new GraphDef(graph));
}

export { convertibleGraphOps } from './registry.js';
export { GraphConversionRefused } from './build.js';
