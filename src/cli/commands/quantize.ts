import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { randomFeeds } from '../../bench/latency.js';
import { TensorDataset } from '../../data/dataset.js';
import { scaleInputs, type InputScaling } from '../../data/transform.js';
import { modelDataFacts } from '../../model/describe.js';
import { adaptSampleShape, modelInputShape, modelInputSpecs, shapeText } from '../../model/input-shape.js';
import { fileHandler } from '../../model/io.js';
import { loadLayersModel, loadModel, type LoadedModel } from '../../model/load.js';
import {
  DEFAULT_MAX_TENSOR_ERROR,
  graphArtifacts,
  quantizeGraphModel,
  quantizeModel,
  quantizerNames,
  quantizedWeightsToJson,
  type OutputAgreement,
  type QuantizedWeightInfo,
  type QuantizedWeights,
} from '../../quantize/index.js';
import { artifactSize, modelArtifacts, packArtifacts, containerStats } from '../../serialize/index.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { isContainerPath, refuseOverwrite } from '../output-guards.js';
import { chooseInputScaling } from '../../data/scaling-metadata.js';
import { addInputScalingOptions, DATA_FORMS, inputScalingFlags, loadDataForModel, parseNumber, parsePositiveInt, type InputScalingFlags } from '../data-arg.js';
import type { GraphToLayersReport } from '../../model/graph-to-layers/index.js';

/** Sidecar written next to a quantized model so `pack` can store the quantized form. */
export const QUANTIZATION_SIDECAR = 'quantization.json';

/** `12345 B (12.1 KiB)` */
export function formatBytes(n: number): string {
  return n < 1024 ? `${n} B` : `${n} B (${(n / 1024).toFixed(1)} KiB)`;
}

/** The line a command prints when it rebuilt a graph model as a layers model to train it. */
export function describeConversion(spec: string, r: GraphToLayersReport): string {
  return `${spec}: graph model converted to a trainable layers model (${r.layers} layers, ${r.params} params; parity max |diff| ${r.parity.maxAbsDiff.toExponential(2)} on ${r.parity.samples} samples)`;
}

interface QuantizeOptions extends InputScalingFlags {
  model: string;
  mode: string;
  bits: number;
  skipLayers?: string;
  allWeights?: boolean;
  data?: string;
  limit: number;
  maxAccuracyDrop?: number;
  maxTensorError: number;
  probe: number;
  fineTuneSteps?: number;
  trainLimit: number;
  lr: number;
  out: string;
}

/** `--max-tensor-error`: a number > 0, or `off` for no bound. */
function parseMaxTensorError(value: string): number {
  if (['off', 'none', 'inf', 'infinity'].includes(value.toLowerCase())) return Infinity;
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new Error(`--max-tensor-error expects a number > 0 or 'off', got '${value}'`);
  return n;
}

/** One line per weight, then one naming every tensor the reconstruction guard moved to higher precision. */
function printWeights(weights: QuantizedWeightInfo[], kept: QuantizedWeightInfo[], mode: string, bound: number): void {
  for (const w of [...weights, ...kept]) {
    const refused = w.rejected.length ? ` (kept at higher precision: ${w.rejected.map((r) => `${r.mode} error ${r.error.toPrecision(3)}`).join(', ')} > ${+w.bound.toPrecision(3)})` : '';
    console.log(
      `  ${w.layer === w.name ? w.name : `${w.layer}: ${w.name}`} [${w.shape.join('x')}] ${w.mode}${refused}: error ${w.channelError.toExponential(2)} (worst channel), max |error| ${w.maxAbsError.toExponential(2)}, zeros ${(w.zerosBefore * 100).toFixed(1)}% -> ${(w.zerosAfter * 100).toFixed(1)}%`,
    );
  }
  const moved = [...weights, ...kept].filter((w) => w.rejected.length);
  const bounded = `relative error per channel <= ${bound}`;
  if (!Number.isFinite(bound)) console.log(`reconstruction check off (--max-tensor-error off): ${weights.length} tensors as ${mode}, unchecked`);
  else if (moved.length) {
    console.log(`reconstruction check (${bounded}): ${moved.length} of ${weights.length + kept.length} tensors kept at higher precision than ${mode}: ${moved.map((w) => `${w.name} -> ${w.mode}`).join(', ')}`);
  } else console.log(`reconstruction check (${bounded}): all ${weights.length} tensors within the bound as ${mode}`);
}

function printAccuracy(before: number | undefined, after: number | undefined, validation?: TensorDataset): void {
  if (before === undefined) return;
  console.log(`accuracy: ${(before * 100).toFixed(2)}% -> ${(after! * 100).toFixed(2)}% (${validation!.size} test samples)`);
}

function printAgreement(a: OutputAgreement | undefined, withData: boolean): void {
  if (!a) return;
  const outs = a.outputs > 1 ? ` (worst of ${a.outputs} outputs)` : '';
  console.log(`output agreement on ${a.samples} seeded inputs: argmax ${a.agree}/${a.samples}, relative output error ${a.relativeError.toExponential(2)}${outs}`);
  // Per-tensor bounds cannot see how a model amplifies its tensors' errors (near-tied logits): say so.
  // Seeded noise sits near decision boundaries, so only a gross departure warns; --data measures accuracy instead.
  if (!withData && (a.agree < AGREEMENT_WARNING * a.samples || a.relativeError > 0.5)) {
    console.log(`warning: the quantized model departs from the original (argmax ${a.agree}/${a.samples}); try a finer --mode, more --bits or a lower --max-tensor-error`);
  }
}

/** Below this fraction of seeded inputs with the same argmax (and no --data), the command warns. */
const AGREEMENT_WARNING = 0.75;

/**
 * Seeded inputs for every model input, as the bench feeds them (token ids inside the Embedding's
 * range, floats uniform in 0..1 as raw/255), with the chosen input scaling applied to float inputs.
 * The caller disposes them.
 */
function probeInputs(model: tf.LayersModel | GraphModel, samples: number, scaling: InputScaling): tf.Tensor[] {
  const specs = modelInputSpecs(model);
  return randomFeeds(specs, samples, 1).map((f, k) => {
    let data = f.data;
    if (f.dtype === 'float32' && specs[k]!.indexRange === undefined) {
      data = scaleInputs(new TensorDataset(f.data as Float32Array, f.shape.slice(1), new Float32Array(samples), [1]), scaling).x;
    }
    return tf.tensor(data, f.shape, f.dtype);
  });
}


/**
 * Refuse, in one line, `--data` a model cannot be scored on: several inputs or outputs, samples
 * that do not fit its input (beyond unit dims), or targets that do not match its output.
 */
function checkDataFits(model: tf.LayersModel | GraphModel, spec: string, data: string, test: TensorDataset): void {
  const specs = modelInputSpecs(model);
  const outputs = model.outputs as unknown as Array<{ name: string; shape?: Array<number | null> }>;
  const fix = 'drop --data: the per-tensor reconstruction check and the seeded-input agreement need no data';
  if (specs.length !== 1 || outputs.length !== 1) {
    const ins = specs.map((i) => `${i.name} ${shapeText(i.shape)}`).join(', ');
    throw new Error(`quantize: --data ${data} does not fit '${spec}': it has ${specs.length} input(s) (${ins}) and ${outputs.length} output(s), --data scores one input against one output; ${fix}`);
  }
  const want = modelInputShape(model);
  if (specs[0]!.indexRange !== undefined || (want && want.every((d) => d !== null && d >= 0) && !adaptSampleShape(test.xShape, want))) {
    const what = specs[0]!.indexRange !== undefined ? `token ids in 0..${specs[0]!.indexRange! - 1}` : shapeText(want!);
    throw new Error(`quantize: --data ${data} does not fit '${spec}': samples have shape ${shapeText(test.xShape)} but the model takes ${what}; ${fix}`);
  }
  const out = outputs[0]!.shape?.slice(1);
  const target = test.yShape;
  if (out && out.length === target.length && out.some((d, i) => d !== null && d >= 0 && d !== target[i])) {
    throw new Error(`quantize: --data ${data} does not fit '${spec}': its targets have shape ${shapeText(target)} but the model outputs ${shapeText(out)}; ${fix}`);
  }
}

/**
 * Write the quantized model: the packed container for `--out x.tfjsc`, else a model folder (plus
 * the quantization sidecar when the folder's own format cannot hold the quantized form).
 */
async function writeOutput(out: string, written: tf.io.ModelArtifacts, packed: Uint8Array, quantized: QuantizedWeights, sidecar: boolean): Promise<void> {
  if (isContainerPath(out)) {
    writeFileAtomic(out, packed);
    return;
  }
  // Model and sidecar in one unit: the sidecar always describes the weights beside it.
  await fileHandler(out, { files: sidecar ? { [QUANTIZATION_SIDECAR]: quantizedWeightsToJson(quantized) } : {} }).save!(written);
}

/** Print the three sizes: input, what was written (tfjs form), the packed container. */
function printSizes(source: tf.io.ModelArtifacts, written: tf.io.ModelArtifacts, packedBytes: Uint8Array, label: string, out: string): void {
  const before = artifactSize(source);
  const after = artifactSize(written);
  const packed = containerStats(packedBytes);
  const fp32 = (source.weightSpecs ?? []).every((w) => !w.quantization);
  console.log(`before (tfjs${fp32 ? ' fp32' : ''}):        raw ${formatBytes(before.totalBytes)}, gzip ${formatBytes(before.gzipBytes)}`);
  console.log(`after  (tfjs, ${label}): raw ${formatBytes(after.totalBytes)}, gzip ${formatBytes(after.gzipBytes)}`);
  console.log(`after  (packed container):  raw ${formatBytes(packed.fileBytes)}, gzip ${formatBytes(packed.gzipBytes)}${isContainerPath(out) ? '' : `  (use: tfjs-compress pack ${out} --out model.tfjsc)`}`);
}

/** What the command hands both model paths: data, probe, flags. */
interface Inputs {
  o: QuantizeOptions;
  validation?: TensorDataset;
  train?: TensorDataset;
  probe: tf.Tensor[];
}

const skipList = (o: QuantizeOptions) => (o.skipLayers ? String(o.skipLayers).split(',').map((s) => s.trim()).filter(Boolean) : undefined);

/** Graph model, no training: quantize the Consts, write a converter-format graph folder or a container. */
async function quantizeGraph(graph: GraphModel, { o, validation, probe }: Inputs): Promise<void> {
  const r = await quantizeGraphModel(graph, {
    mode: o.mode,
    bits: o.bits,
    skipNodes: skipList(o),
    kernelsOnly: !o.allWeights,
    validation,
    maxAccuracyDrop: o.maxAccuracyDrop,
    maxTensorError: o.maxTensorError,
    probe: probe.length ? probe : undefined,
  });
  const source = await graphArtifacts(graph);
  const written = r.tfjs ?? r.artifacts;
  // Packed once: written for `--out x.tfjsc`, measured either way.
  const packed = packArtifacts(r.artifacts, { quantized: r.quantized });
  await writeOutput(o.out, written, packed, r.quantized, !r.tfjs);
  printWeights(r.weights, r.kept, o.mode, o.maxTensorError);
  printAgreement(r.agreement, validation !== undefined);
  printAccuracy(r.accuracyBefore, r.accuracyAfter, validation);
  printSizes(source, written, packed, r.tfjs ? `${o.mode} manifest` : 'dequantized', o.out);
  const form = isContainerPath(o.out) ? 'container' : r.tfjs ? `graph model (tfjs ${o.mode} weights, loads with stock tf.loadGraphModel)` : `graph model (float32, dequantized) + ${QUANTIZATION_SIDECAR}`;
  console.log(`wrote ${o.out}: ${form}, ${r.weights.length} weights quantized with ${o.mode}`);
}

/** Layers model: quantize (and optionally fine-tune) a clone, write a folder + sidecar or a container. */
async function quantizeLayers(model: tf.LayersModel, { o, validation, train, probe }: Inputs): Promise<void> {
  const fineTune = o.fineTuneSteps ? { data: train!, steps: o.fineTuneSteps, learningRate: o.lr } : undefined;
  const source = await modelArtifacts(model);
  const r = await quantizeModel(model, {
    mode: o.mode,
    bits: o.bits,
    skipLayers: skipList(o),
    kernelsOnly: !o.allWeights,
    validation,
    maxAccuracyDrop: o.maxAccuracyDrop,
    maxTensorError: o.maxTensorError,
    probe: probe.length ? probe : undefined,
    fineTune,
  });
  try {
    const artifacts = await modelArtifacts(r.model);
    const packed = packArtifacts(artifacts, { quantized: r.quantized });
    await writeOutput(o.out, artifacts, packed, r.quantized, true);
    printWeights(r.weights, r.kept, o.mode, o.maxTensorError);
    printAgreement(r.agreement, validation !== undefined);
    printAccuracy(r.accuracyBefore, r.accuracyAfter, validation);
    if (r.fineTune) console.log(`fine-tune: ${r.fineTune.steps} steps, loss ${r.fineTune.lossStart.toFixed(4)} -> ${r.fineTune.lossEnd.toFixed(4)}`);
    printSizes(source, artifacts, packed, 'dequantized', o.out);
    console.log(`wrote ${o.out} (${r.weights.length} weights quantized with ${o.mode})`);
  } finally {
    r.model.dispose();
  }
}

/** The model as the command needs it: as loaded, or (fine-tuning) as a trainable layers model. */
async function loadForQuantize(o: QuantizeOptions): Promise<Exclude<LoadedModel, { kind: 'onnx' }>> {
  if (o.fineTuneSteps === undefined) {
    const m = await loadModel(o.model, { command: 'quantize', accept: ['layers', 'graph'] });
    if (m.kind === 'onnx') throw new Error(`quantize: '${o.model}' is not a tfjs model`);
    return m;
  }
  // Fine-tuning needs trainable weights: a graph model is rebuilt as a layers model.
  const loaded = await loadLayersModel(o.model, { command: 'quantize --fine-tune-steps' });
  if (loaded.converted) console.log(describeConversion(o.model, loaded.converted));
  return { kind: 'layers', format: loaded.location.format, location: loaded.location, model: loaded.model };
}

/**
 * `tfjs-compress quantize`: post-training weight quantization (fp16, int8, uint8, uint16, per
 * channel, k-means codebook) of layers and graph models. Every tensor's reconstruction error is
 * checked (no data needed) and a tensor above `--max-tensor-error` is kept at higher precision,
 * by name; the output's agreement with the input model is measured on seeded inputs; `--data`
 * (any kind) adds an accuracy check. Graph models are quantized without training (a tfjs graph
 * folder for float16/uint8/uint16); centroid fine-tuning converts a graph to a layers model first.
 */
export function registerQuantizeCommand(program: Command): void {
  const cmd = program
    .command('quantize')
    .description('quantize weights (float16 | int8 | uint8 | uint16 | int8-channel | uint8-channel | codebook) of a layers or graph model')
    .requiredOption('--model <spec>', 'model folder, model.json, .tfjsc container, Keras .h5/.keras or zoo:name (layers or graph model)')
    .requiredOption('--mode <mode>', `quantization mode: ${quantizerNames().join(', ')}`)
    .option('--bits <b>', 'codebook index width, 2..8', parsePositiveInt('--bits'), 5)
    .option('--skip-layers <names>', 'comma-separated layer names or paths (graph: op or Const node names) to keep in float32')
    .option('--all-weights', 'also quantize biases and other non-kernel weights')
    .option(
      '--max-tensor-error <x>',
      "bound on each tensor's reconstruction error (worst output channel's ||w - q(w)|| / ||w||); a tensor above it falls back to a finer mode " +
        "(codebook/int8 -> int8-channel -> float16, uint8 -> uint16 -> float16) or stays float32; 'off' disables",
      parseMaxTensorError,
      DEFAULT_MAX_TENSOR_ERROR,
    )
    .option('--probe <n>', 'seeded inputs on which the quantized outputs are compared with the original (argmax agreement); 0 skips', (v: string) => {
      const n = Number(v);
      if (!(Number.isInteger(n) && n >= 0)) throw new Error(`--probe expects a non-negative integer, got '${v}'`);
      return n;
    }, 64)
    .option('--data <spec>', `dataset for accuracy checks and fine-tuning: ${DATA_FORMS.join(' | ')}`)
    .option('--limit <n>', 'test samples used to measure accuracy', parsePositiveInt('--limit'), 2000)
    .option('--max-accuracy-drop <points>', 'fail (and write nothing) if test accuracy drops by more percentage points', parseNumber('--max-accuracy-drop'))
    .option('--fine-tune-steps <n>', 'codebook: fine-tune centroids for N mini-batches on the training split (graph models are converted to layers first)', parsePositiveInt('--fine-tune-steps'))
    .option('--train-limit <n>', 'training samples used for fine-tuning', parsePositiveInt('--train-limit'), 10000)
    .option('--lr <x>', 'centroid fine-tuning learning rate', parseNumber('--lr'), 1e-3)
    .requiredOption('--out <path>', 'output: a folder (model.json + weights.bin [+ quantization.json]) or a .tfjsc container file');
  addInputScalingOptions(cmd).action(async (o: QuantizeOptions) => {
    if (o.maxAccuracyDrop !== undefined && !o.data) throw new Error('--max-accuracy-drop needs --data');
    if (o.fineTuneSteps !== undefined && !o.data) throw new Error('--fine-tune-steps needs --data');
    refuseOverwrite(o.model, o.out);
    const m = await loadForQuantize(o);
    const probe: tf.Tensor[] = [];
    try {
      const facts = modelDataFacts(m);
      let validation: TensorDataset | undefined;
      let train: TensorDataset | undefined;
      let scaling = chooseInputScaling({ given: inputScalingFlags(o), model: facts.inputScaling }).scaling;
      if (o.data) {
        // Folder images at the model's input size; scaling by flag > model metadata > default.
        const d = await loadDataForModel(o.data, o, facts, { limit: o.fineTuneSteps ? o.trainLimit : 1, testLimit: o.limit });
        checkDataFits(m.model, o.model, o.data, d.test);
        [validation, train, scaling] = [d.test, d.train, d.scaling.scaling];
      }
      probe.push(...(o.probe ? probeInputs(m.model, o.probe, scaling) : []));
      const inputs = { o, validation, train, probe };
      if (m.kind === 'graph') await quantizeGraph(m.model, inputs);
      else await quantizeLayers(m.model, inputs);
    } finally {
      tf.dispose(probe);
      m.model.dispose();
    }
  });
}
