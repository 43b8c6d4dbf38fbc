import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { QUANTIZATION_SIDECAR } from './quantize.js';
import * as tf from '@tensorflow/tfjs';
import { CALIBRATION_METHODS, compareTfjsExport, defaultInputs, exportGraphOnnx, exportTfjs, mnistInputsFor, saveOnnx, saveOnnxStaticInt8, type CalibrationMethod, type LabelledSamples, type TfjsQuantize } from '../../export/index.js';
import { recordsFromContainer } from '../../export/onnx/records.js';
import { quantizedWeightsFromJson, type QuantizedWeights } from '../../quantize/index.js';
import type { TensorDataset } from '../../data/dataset.js';
import { modelInputShape } from '../../model/input-shape.js';
import { GraphConversionRefused } from '../../model/graph-to-layers/index.js';
import { loadLayersModel, loadModel, locateModel } from '../../model/load.js';
import { convertGraphFile, convertedMetadata, formatConversion } from './convert.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { refuseOverwrite } from '../output-guards.js';
import { chooseInputScaling, inputScalingFromMetadata, setModelInputScaling } from '../../data/scaling-metadata.js';
import { addInputScalingOptions, DATA_FORMS, inputScalingFlags, loadDataForModel, parseNumber, parsePositiveInt, type InputScalingFlags } from '../data-arg.js';

const fmt = (n: number) => n.toLocaleString('en-US');

interface ExportOpts extends InputScalingFlags {
  model: string;
  format: string;
  opset: number;
  quantize?: string;
  nchw?: boolean;
  samples: number;
  tolerance: number;
  out: string;
  calibration?: string;
  calibrationSamples: number;
  calibrator: string;
  perChannel?: boolean;
  maxAccuracyDrop: number;
  testSamples: number;
  keepFloat?: string[];
}

/** Held-out training samples the int8-static sensitivity pass scores candidates on (after the calibration samples). */
const SENSITIVITY_SAMPLES = 1000;

/**
 * `tfjs-compress export --model <spec> --format onnx|tfjs [--opset 13] [--quantize ...] [--nchw] [--input-*] --out <path>`:
 * load any model the SDK reads as a layers model (layers folders, containers, Keras .h5/.keras,
 * graph models rebuilt from layers), export it and print bytes, gzipped bytes and the parity check
 * (onnxruntime-node for ONNX, stock tfjs reload for tfjs) on real MNIST test images in the model's
 * input scaling when it takes them, else seeded random inputs.
 */
export function registerExportCommand(program: Command): void {
  addInputScalingOptions(
    program
      .command('export')
      .description('export a model to ONNX (verified in onnxruntime-node) or to tfjs layers-model files (optionally quantized); graph models are rebuilt as layers models first')
      .requiredOption('--model <spec>', 'model folder, model.json, .tfjsc, Keras .h5/.keras file or zoo:name')
      .requiredOption('--format <format>', 'onnx or tfjs')
      .option('--opset <n>', 'ONNX opset, 13..17', parsePositiveInt('--opset'), 13)
      .option('--quantize <type>', 'onnx: float16|int8 (weight-only) or int8-static (QDQ, integer kernels; needs --calibration); tfjs: float16|uint8|uint16')
      .option('--calibration <data>', `int8-static: calibration data, from its TRAIN split (${DATA_FORMS.join(', ')})`)
      .option('--calibration-samples <n>', 'int8-static: training samples the activation ranges are calibrated on', parsePositiveInt('--calibration-samples'), 512)
      .option('--calibrator <method>', `int8-static: ${CALIBRATION_METHODS.join(' | ')}`, 'minmax')
      .option('--per-channel', 'int8-static: one weight scale per output channel (default: per tensor, as onnxruntime)')
      .option('--max-accuracy-drop <pp>', `int8-static: layers are kept float while accuracy on ${SENSITIVITY_SAMPLES} held-out training samples drops more than this`, parseNumber('--max-accuracy-drop'), 0.5)
      .option('--test-samples <n>', 'int8-static: test images the float and int8 accuracy is reported on', parsePositiveInt('--test-samples'), 2000)
      .option('--keep-float <layers>', 'int8-static: comma-separated layers to keep float (besides those the sensitivity pass keeps)', (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean))
      .option('--nchw', 'ONNX: channels-first inputs/outputs, no Transpose inside the graph')
      .option('--samples <n>', 'inputs used for the parity check', parsePositiveInt('--samples'), 64)
      .option('--tolerance <x>', 'ONNX: max allowed |onnxruntime - tfjs| (fail and write nothing above it)', parseNumber('--tolerance'), 1e-4)
      .requiredOption('--out <path>', 'output .onnx file (onnx) or folder (tfjs)'),
  )
    .action(async (o: ExportOpts) => {
      if (o.format !== 'onnx' && o.format !== 'tfjs') throw new Error(`unknown --format '${o.format}': expected onnx or tfjs`);
      const allowed = o.format === 'onnx' ? ['float16', 'int8', 'int8-static'] : ['float16', 'uint8', 'uint16'];
      if (o.quantize !== undefined && !allowed.includes(o.quantize)) {
        throw new Error(`--quantize '${o.quantize}' is not available for --format ${o.format}: expected ${allowed.join(' or ')}`);
      }
      if (o.format === 'tfjs' && o.nchw) throw new Error('--nchw only applies to --format onnx');
      checkStaticFlags(o);
      // Inputs are never modified: not the model file, nor a folder holding it (a tfjs export replaces its folder).
      if (existsSync(o.model)) refuseOverwrite(o.model, o.out, `; choose another ${o.format === 'tfjs' ? 'folder' : 'file'}`);
      let model: tf.LayersModel;
      if (isGraphModelSpec(o.model)) {
        const converted = await convertGraph(o);
        if (!converted) return;
        model = converted;
      } else {
        // Layers models, containers and Keras .h5/.keras files alike; anything else is refused in one line.
        const loaded = await loadLayersModel(o.model, { command: 'export' });
        if (loaded.converted) console.log(formatConversion(loaded.converted, `${loaded.converted.parity.samples} samples`));
        model = loaded.model;
      }
      // A scaling given here is stored in the export (tfjs model.json, ONNX metadata_props) for later users.
      const scaling = chooseInputScaling({ given: inputScalingFlags(o), model: inputScalingFromMetadata(model, o.model) });
      if (scaling.source === 'flag') setModelInputScaling(model, scaling.scaling);
      const mnist = mnistInputsFor(model, o.samples, scaling.scaling);
      const inputs = mnist ? [mnist] : defaultInputs(model, o.samples);
      const source = mnist ? `${o.samples} MNIST test images${scaling.source === 'default' ? '' : `, ${scaling.text}`}` : `${o.samples} seeded random inputs`;
      try {
        if (o.quantize === 'int8-static') {
          await exportStatic(model, o);
        } else if (o.format === 'onnx') {
          // Weights that `quantize` stored (container or quantization.json sidecar) are written exactly as stored.
          const records = readRecords(o.model);
          const r = await saveOnnx(model, o.out, {
            opset: o.opset,
            nchw: !!o.nchw,
            weights: (o.quantize as 'float16' | 'int8' | undefined) ?? 'float32',
            records,
            verify: { inputs, tolerance: o.tolerance },
          });
          const v = r.verify!;
          const stored = r.recordsWritten.length;
          if (stored) console.log(`${stored} quantized weight record(s) from ${o.model} written exactly as stored (int8/uint8 codes + scales, float16 bits, codebook indices + centroids)`);
          console.log(`wrote ${o.out}: ONNX opset ${r.opset} (IR ${r.irVersion}), ${r.nodes} nodes, weights ${r.weights}${r.nchw ? ', NCHW' : ''}`);
          console.log(`bytes ${fmt(r.bytes)}, gzipped ${fmt(r.gzipBytes)}`);
          console.log(
            `parity (onnxruntime-node vs tfjs, ${source}): max|diff| ${v.maxAbsDiff.toExponential(2)} <= ${v.tolerance} ok` +
              (v.maxAbsDiffVsFloat !== undefined ? `; vs float32 model ${v.maxAbsDiffVsFloat.toExponential(2)} (weight rounding)` : ''),
          );
        } else {
          const r = await exportTfjs(model, o.out, { quantize: o.quantize as TfjsQuantize | undefined });
          const diff = await compareTfjsExport(model, o.out, inputs);
          console.log(`wrote ${o.out}: model.json + ${r.files.length - 1} shard(s), ${r.quantize === 'none' ? `${r.weights} weights float32` : `${r.quantizedWeights}/${r.weights} weights ${r.quantize}`}`);
          console.log(`bytes ${fmt(r.totalBytes)}, gzipped ${fmt(r.gzipBytes)}`);
          console.log(`parity (stock tf.loadLayersModel vs original, ${source}): max|diff| ${diff.toExponential(2)}${r.quantize === 'none' ? '' : ' (quantization error)'}`);
        }
      } finally {
        inputs.forEach((t) => t.dispose());
        model.dispose();
      }
    });
}

/**
 * The quantized records stored with a model `quantize` wrote: inside a `.tfjsc` container, or in the
 * quantization.json sidecar of a model folder. Undefined for anything else (nothing was quantized).
 */
function readRecords(spec: string): QuantizedWeights | undefined {
  if (spec.startsWith('zoo:') || !existsSync(spec)) return undefined;
  const loc = locateModel(spec);
  if (loc.format === 'container') return recordsFromContainer(readFileSync(loc.path!));
  if (loc.format !== 'layers-model' || !loc.path) return undefined;
  const sidecar = join(dirname(loc.path), QUANTIZATION_SIDECAR);
  return existsSync(sidecar) ? quantizedWeightsFromJson(JSON.parse(readFileSync(sidecar, 'utf8'))) : undefined;
}

/** Flags that only make sense with --quantize int8-static (and the one it needs). */
function checkStaticFlags(o: ExportOpts): void {
  if (o.quantize !== 'int8-static') {
    if (o.calibration !== undefined) throw new Error('--calibration only applies to --format onnx --quantize int8-static');
    if (o.keepFloat !== undefined) throw new Error('--keep-float only applies to --format onnx --quantize int8-static');
    return;
  }
  if (!o.calibration) throw new Error('--quantize int8-static needs --calibration <data>: representative inputs from the training split (e.g. --calibration mnist)');
  if (!(CALIBRATION_METHODS as readonly string[]).includes(o.calibrator)) throw new Error(`unknown --calibrator '${o.calibrator}': expected one of ${CALIBRATION_METHODS.join(', ')}`);
  if (!(o.maxAccuracyDrop >= 0)) throw new Error(`--max-accuracy-drop must be >= 0 percentage points, got ${o.maxAccuracyDrop}`);
}

/** A dataset's inputs reshaped for the model's single input, with its labels. */
function samplesFor(model: tf.LayersModel, ds: TensorDataset, what: string, o: ExportOpts): LabelledSamples {
  const want = model.inputs[0]!.shape.slice(1);
  const per = ds.xShape.reduce((a, b) => a * b, 1);
  if (model.inputs.length !== 1 || want.some((d) => d == null) || want.reduce((a, b) => a! * b!, 1) !== per) {
    throw new Error(`--calibration ${o.calibration}: ${what} samples have shape [${ds.xShape.join(', ')}] but model '${o.model}' takes [${want.join(', ')}]${model.inputs.length > 1 ? ` (${model.inputs.length} inputs)` : ''}`);
  }
  const xs = tf.tensor(ds.x, [ds.size, ...(want as number[])]);
  const labels = ds.labels ?? tf.tidy(() => tf.tensor(ds.y, [ds.size, ...ds.yShape]).argMax(-1).dataSync() as Int32Array);
  return { xs: [xs], labels };
}

/** `--quantize int8-static`: calibrate on the training split, sensitivity pass on held-out training samples, accuracy on the test split. */
async function exportStatic(model: tf.LayersModel, o: ExportOpts): Promise<void> {
  // Scaling by flag > the model's metadata > default, as every data-taking command.
  const facts = { inputShape: modelInputShape(model), inputScaling: inputScalingFromMetadata(model, o.model) };
  const { train, test } = await loadDataForModel(o.calibration!, o, facts, { limit: o.calibrationSamples + SENSITIVITY_SAMPLES, testLimit: o.testSamples });
  const n = Math.min(o.calibrationSamples, train.size);
  const calibration = samplesFor(model, train.take(n), 'training', o);
  const held = train.size > n ? samplesFor(model, train.select(Array.from({ length: train.size - n }, (_, i) => n + i)), 'training', o) : undefined;
  const testSet = samplesFor(model, test, 'test', o);
  try {
    const r = await saveOnnxStaticInt8(model, o.out, {
      calibration: calibration.xs,
      calibrator: o.calibrator as CalibrationMethod,
      perChannel: !!o.perChannel,
      opset: o.opset,
      nchw: !!o.nchw,
      validation: held,
      maxAccuracyDrop: o.maxAccuracyDrop,
      keepFloat: o.keepFloat,
      test: testSet,
    });
    const kernels = Object.entries(r.runtimeOpCounts).filter(([k]) => /^Q|Integer|Nhwc/.test(k) && k !== 'QuantizeLinear').map(([k, v]) => `${k} x${v}`);
    console.log(
      `wrote ${o.out}: ONNX opset ${r.opset} static int8 (QDQ: ${r.activations} activations per tensor, int8 weights per ${r.perChannel ? 'channel' : 'tensor'}), ` +
        `${r.calibrator} calibration on ${r.calibrationSamples} training samples of ${o.calibration}`,
    );
    console.log(`onnxruntime integer kernels (ORT_ENABLE_ALL): ${kernels.join(', ') || 'none'}; folded: ${r.foldedBatchNorms.length} batch norm(s)${r.movedBatchNorms.length ? ` (${r.movedBatchNorms.length} moved after their pools)` : ''}, ${r.foldedActivations.length} activation(s)`);
    console.log(`bytes ${fmt(r.bytes)}, gzipped ${fmt(r.gzipBytes)} (float32 ONNX ${fmt(r.floatBytes)})`);
    const s = r.sensitivity;
    if (s) {
      const kept = r.floatNodes.map((f) => f.name);
      console.log(
        `sensitivity (${s.samples} held-out training samples): float ${(s.floatAccuracy * 100).toFixed(2)}%, int8 ${(s.quantizedAccuracy * 100).toFixed(2)}%; ` +
          `kept float: ${kept.length ? kept.join(', ') : 'none'} (bound ${s.maxAccuracyDrop} pp, ${s.steps.length} candidate(s) scored)`,
      );
    }
    const t = r.test!;
    console.log(
      `accuracy (onnxruntime-node, ${t.samples} test images of ${o.calibration}): float32 ${(t.floatAccuracy * 100).toFixed(2)}% -> static int8 ${(t.int8Accuracy * 100).toFixed(2)}% ` +
        `(drop ${((t.floatAccuracy - t.int8Accuracy) * 100).toFixed(2)} pp); integer kernels vs QDQ reference: top-1 agreement ${(r.kernelCheck.agreement * 100).toFixed(1)}% on ${r.kernelCheck.samples} samples`,
    );
  } finally {
    [...calibration.xs, ...(held?.xs ?? []), ...testSet.xs].forEach((x) => x.dispose());
  }
}

/** True for a tfjs graph model folder/model.json (these keep the direct-exporter fallback below). */
function isGraphModelSpec(spec: string): boolean {
  try {
    return locateModel(spec).format === 'graph-model';
  } catch {
    // Not locatable (missing file, `<topology.json>:<weights.h5>` pair): the loader says why in one line.
    return false;
  }
}

/**
 * Graph models (tensorflowjs_converter output) are rebuilt as layers models and exported by the
 * layers path. Only graphs the conversion refuses (ops with no layers form) fall back to the direct
 * graph-op ONNX exporter, which has no --quantize/--nchw/tfjs. Returns undefined when the fallback ran.
 */
async function convertGraph(o: ExportOpts): Promise<tf.LayersModel | undefined> {
  try {
    // The conversion check runs both models per sample; a few samples are enough to catch a wrong layer.
    const { graph, model, report, source } = await convertGraphFile(o.model, { samples: Math.min(o.samples, 8) });
    model.setUserDefinedMetadata(convertedMetadata(graph, report));
    graph.dispose();
    console.log(formatConversion(report, source));
    return model;
  } catch (err) {
    if (!(err instanceof GraphConversionRefused)) throw err;
    if (o.format !== 'onnx' || o.quantize || o.nchw) {
      throw new Error(`${err.message}; the direct graph exporter only writes --format onnx without --quantize/--nchw`);
    }
    console.log(`${err.message}: using the direct graph-op ONNX exporter`);
    await exportGraph(o);
    return undefined;
  }
}

/** The fallback: the graph-op exporter, checked against GraphModel.execute. */
async function exportGraph(o: ExportOpts): Promise<void> {
  const loaded = await loadModel(o.model, { command: 'export', accept: ['graph'] });
  if (loaded.kind !== 'graph') throw new Error(`export: '${o.model}' is not a tfjs graph model`);
  const model = loaded.model;
  try {
    const { bytes, report: r } = await exportGraphOnnx(model, { opset: o.opset, verify: { samples: o.samples, tolerance: o.tolerance } });
    writeFileAtomic(o.out, bytes);
    console.log(`wrote ${o.out}: ONNX opset ${r.opset} from a tfjs graph model, ${r.nodes} nodes`);
    console.log(`bytes ${fmt(r.bytes)}, gzipped ${fmt(r.gzipBytes)}`);
    console.log(`parity (onnxruntime-node vs GraphModel.execute, ${o.samples} seeded random inputs): max|diff| ${r.verify!.maxAbsDiff.toExponential(2)} <= ${o.tolerance} ok`);
  } finally {
    model.dispose();
  }
}
