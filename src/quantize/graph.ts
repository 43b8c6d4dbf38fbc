import type * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { graphNodes } from '../model/graph-info.js';
import { evaluate } from '../train/evaluate.js';
import { outputAgreement, type OutputAgreement } from './agreement.js';
import type { ChannelAxes } from './channels.js';
import { checkAccuracyDrop, checkMaxTensorError, FLOAT32, quantizeGuarded, weightInfo, type QuantizedWeightInfo } from './guard.js';
import { graphKernels, splitWeights, storeWeight, withWeights, type NamedWeight, type StoredWeight } from './graph-weights.js';
import type { QuantizeArgs, QuantizeReport } from './model.js';
import { getQuantizer } from './quantizers.js';
import { isTfjsQuantizationMode, toTfjsWeight } from './tfjs-format.js';
import type { QuantizedWeights } from './types.js';

/** Options of {@link quantizeGraphModel}: those of `quantizeModel` minus fine-tuning (a graph has no trainable weights). */
export interface QuantizeGraphArgs extends Omit<QuantizeArgs, 'fineTune' | 'skipLayers'> {
  /** Weights kept in float32, named by Const node or by the op node that reads them. Unknown names are an error. */
  skipNodes?: string[];
}

/** What {@link quantizeGraphModel} returns (`weights[].layer` is the op node reading the weight). Nothing holds tensors. */
export interface QuantizeGraphResult extends QuantizeReport {
  /** Deployment form: the graph with float32 weights equal to the dequantized records (pack it with `quantized`). */
  artifacts: tf.io.ModelArtifacts;
  /**
   * For float16/uint8/uint16: the graph in tensorflowjs_converter's quantized weight format,
   * which stock `tf.loadGraphModel` dequantizes to exactly the deployment weights.
   */
  tfjs?: tf.io.ModelArtifacts;
}

/**
 * The artifacts a loaded graph model was built from (topology, signature, weights as stored,
 * possibly converter-quantized). Nothing is copied; treat them as read-only.
 */
export async function graphArtifacts(model: GraphModel): Promise<tf.io.ModelArtifacts> {
  let got: tf.io.ModelArtifacts | undefined;
  await model.save({
    save: async (a: tf.io.ModelArtifacts) => {
      got = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  });
  if (!got?.modelTopology) throw new Error('graph model has no topology to save');
  return got;
}

/** Load a graph model from in-memory artifacts (stock tfjs loader). The caller disposes it. */
export async function loadGraphArtifacts(artifacts: tf.io.ModelArtifacts): Promise<GraphModel> {
  const { loadGraphModel } = await import('@tensorflow/tfjs-converter');
  return loadGraphModel({ load: async () => artifacts });
}


/** Accuracy of a graph built from `artifacts` (loaded, evaluated, disposed). */
async function accuracyOf(artifacts: tf.io.ModelArtifacts, args: QuantizeGraphArgs): Promise<number> {
  const m = await loadGraphArtifacts(artifacts);
  try {
    return (await evaluate(m, args.validation!)).accuracy!;
  } finally {
    m.dispose();
  }
}

/** A weight to quantize, with the op reading it and its output-channel axes. */
interface SelectedWeight {
  w: NamedWeight;
  consumer: string;
  channels: ChannelAxes | null;
}

/** The float32 weights to quantize, each with the op reading it and its output-channel axes. */
function selectWeights(model: GraphModel, weights: NamedWeight[], args: QuantizeGraphArgs): SelectedWeight[] {
  const kernels = new Map(graphKernels(graphNodes(model), weights).map((k) => [k.name, k]));
  const skip = new Set(args.skipNodes ?? []);
  const known = new Set([...weights.map((w) => w.name), ...[...kernels.values()].map((k) => k.consumer)]);
  const unknown = [...skip].filter((n) => !known.has(n));
  if (unknown.length) {
    const some = [...kernels.values()].slice(0, 8).map((k) => `${k.consumer} (${k.op})`).join(', ');
    throw new Error(`quantize: skip names unknown graph node(s) ${unknown.join(', ')}; kernel-reading ops include ${some}`);
  }
  const kernelsOnly = args.kernelsOnly ?? true;
  const out: SelectedWeight[] = [];
  for (const w of weights) {
    const k = kernels.get(w.name);
    if (w.dtype !== 'float32' || (kernelsOnly && !k) || skip.has(w.name) || (k && skip.has(k.consumer))) continue;
    const rank = w.shape.length;
    const channels = rank < 2 ? null : k ? { axis: k.channelAxis, count: k.channelAxisCount } : { axis: rank - 1, count: 1 };
    out.push({ w, consumer: k?.consumer ?? w.name, channels });
  }
  return out;
}

/** Agreement of the graph built from `artifacts` with `model` on the probe (loaded, compared, disposed). */
async function agreementOf(model: GraphModel, artifacts: tf.io.ModelArtifacts, probe: tf.Tensor[]): Promise<OutputAgreement> {
  const m = await loadGraphArtifacts(artifacts);
  try {
    return outputAgreement(model, m, probe);
  } finally {
    m.dispose();
  }
}

/**
 * Post-training weight quantization of a graph model, without training: every float32 kernel
 * (or every float32 weight with `kernelsOnly: false`) is quantized with the mode's quantizer;
 * int32 and bool constants are never touched. Per-channel modes use the op's output-channel
 * axes (axis 2 for depthwise filters, axes 2-3 with a channel multiplier > 1; rows of gathered
 * tables). Each tensor's reconstruction error is bounded by `maxTensorError` as in
 * `quantizeModel` (fallbacks of float16/uint8/uint16 stay in the converter's format). The input
 * model is not modified.
 *
 * @example
 * const r = await quantizeGraphModel(graph, { mode: 'uint8', validation: test });
 * await fileHandler('out/q').save(r.tfjs!); // loads with stock tf.loadGraphModel
 */
export async function quantizeGraphModel(model: GraphModel, args: QuantizeGraphArgs): Promise<QuantizeGraphResult> {
  getQuantizer(args.mode);
  checkMaxTensorError(args.maxTensorError);
  if (args.maxAccuracyDrop !== undefined && !args.validation) throw new Error('quantize: maxAccuracyDrop needs validation data');
  const source = await graphArtifacts(model);
  const weights = splitWeights(source);
  const selected = new Map(selectWeights(model, weights, args).map((s) => [s.w.name, s]));
  const quantized: QuantizedWeights = {};
  const infos: QuantizedWeightInfo[] = [];
  const deployed: StoredWeight[] = [];
  const tfjs: StoredWeight[] = [];
  const tfjsMode = isTfjsQuantizationMode(args.mode);
  for (const w of weights) {
    const s = selected.get(w.name);
    const g = s && quantizeGuarded(w.values as Float32Array, w.shape, { mode: args.mode, bits: args.bits, channels: s.channels, maxError: args.maxTensorError });
    if (s && g) infos.push(weightInfo({ name: w.name, layer: s.consumer, shape: w.shape }, w.values as Float32Array, g));
    if (!g?.record) {
      deployed.push(storeWeight(w));
      tfjs.push(storeWeight(w));
      continue;
    }
    quantized[w.name] = g.record;
    const plain = storeWeight({ ...w, values: g.values });
    deployed.push(plain);
    if (tfjsMode) {
      const enc = toTfjsWeight(plain.spec, g.record);
      if (!enc) throw new Error(`quantize (${args.mode}): weight '${w.name}' has no tfjs manifest form`);
      tfjs.push(enc);
    }
  }
  const artifacts = withWeights(source, deployed);
  const result: QuantizeGraphResult = {
    artifacts,
    quantized,
    weights: infos.filter((i) => i.kind !== FLOAT32),
    kept: infos.filter((i) => i.kind === FLOAT32),
  };
  if (tfjsMode) result.tfjs = withWeights(source, tfjs);
  // Measure what the user will load: the converter-format file when there is one.
  if (args.probe) result.agreement = await agreementOf(model, result.tfjs ?? artifacts, args.probe);
  if (args.validation) {
    result.accuracyBefore = (await evaluate(model, args.validation)).accuracy!;
    result.accuracyAfter = await accuracyOf(result.tfjs ?? artifacts, args);
    checkAccuracyDrop(args.mode, result.accuracyBefore, result.accuracyAfter, args.maxAccuracyDrop);
  }
  return result;
}
