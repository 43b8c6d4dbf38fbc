import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { compareTfjsExport, defaultInputs, exportGraphOnnx, exportTfjs, mnistInputsFor, saveOnnx, type TfjsQuantize } from '../../export/index.js';
import { GraphConversionRefused } from '../../model/graph-to-layers/index.js';
import { loadLayersModel, loadModel, locateModel } from '../../model/load.js';
import { convertGraphFile, convertedMetadata, formatConversion } from './convert.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { chooseInputScaling, inputScalingFromMetadata, setModelInputScaling } from '../../data/scaling-metadata.js';
import { addInputScalingOptions, inputScalingFlags, parseNumber, parsePositiveInt, type InputScalingFlags } from '../data-arg.js';

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
}

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
      .option('--quantize <type>', 'weights: onnx float16|int8; tfjs float16|uint8|uint16')
      .option('--nchw', 'ONNX: channels-first inputs/outputs, no Transpose inside the graph')
      .option('--samples <n>', 'inputs used for the parity check', parsePositiveInt('--samples'), 64)
      .option('--tolerance <x>', 'ONNX: max allowed |onnxruntime - tfjs| (fail and write nothing above it)', parseNumber('--tolerance'), 1e-4)
      .requiredOption('--out <path>', 'output .onnx file (onnx) or folder (tfjs)'),
  )
    .action(async (o: ExportOpts) => {
      if (o.format !== 'onnx' && o.format !== 'tfjs') throw new Error(`unknown --format '${o.format}': expected onnx or tfjs`);
      const allowed = o.format === 'onnx' ? ['float16', 'int8'] : ['float16', 'uint8', 'uint16'];
      if (o.quantize !== undefined && !allowed.includes(o.quantize)) {
        throw new Error(`--quantize '${o.quantize}' is not available for --format ${o.format}: expected ${allowed.join(' or ')}`);
      }
      if (o.format === 'tfjs' && o.nchw) throw new Error('--nchw only applies to --format onnx');
      refuseOverwritingInput(o);
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
        if (o.format === 'onnx') {
          const r = await saveOnnx(model, o.out, {
            opset: o.opset,
            nchw: !!o.nchw,
            weights: (o.quantize as 'float16' | 'int8' | undefined) ?? 'float32',
            verify: { inputs, tolerance: o.tolerance },
          });
          const v = r.verify!;
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

/** Inputs are never modified: refuse an --out that would replace the model file (or its model.json). */
function refuseOverwritingInput(o: ExportOpts): void {
  if (o.model.startsWith('zoo:') || !existsSync(o.model)) return;
  const input = resolve(o.model);
  const inputFile = statSync(input).isDirectory() ? join(input, 'model.json') : input;
  const target = o.format === 'tfjs' ? join(resolve(o.out), 'model.json') : resolve(o.out);
  if (target === inputFile) throw new Error(`--out ${o.out} would overwrite the input model ${o.model}; choose another ${o.format === 'tfjs' ? 'folder' : 'file'}`);
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
