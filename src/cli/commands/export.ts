import type { Command } from 'commander';
import { compareTfjsExport, defaultInputs, exportGraphOnnx, exportTfjs, mnistInputsFor, saveOnnx, type TfjsQuantize } from '../../export/index.js';
import { isGraphModelFile, loadGraphModelFromFiles, resolveModel } from '../../model/io.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { parseNumber, parsePositiveInt } from '../data-arg.js';

const fmt = (n: number) => n.toLocaleString('en-US');

interface ExportOpts {
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
 * `tfjs-compress export --model <spec> --format onnx|tfjs [--opset 13] [--quantize ...] [--nchw] --out <path>`:
 * export and print bytes, gzipped bytes and the parity check (onnxruntime-node for ONNX, stock tfjs
 * reload for tfjs) on real MNIST test images when the model takes them, else seeded random inputs.
 */
export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('export a model to ONNX (verified in onnxruntime-node) or to tfjs layers-model files (optionally quantized)')
    .requiredOption('--model <spec>', 'model folder, model.json or zoo:name')
    .requiredOption('--format <format>', 'onnx or tfjs')
    .option('--opset <n>', 'ONNX opset, 13..17', parsePositiveInt('--opset'), 13)
    .option('--quantize <type>', 'weights: onnx float16|int8; tfjs float16|uint8|uint16')
    .option('--nchw', 'ONNX: channels-first inputs/outputs, no Transpose inside the graph')
    .option('--samples <n>', 'inputs used for the parity check', parsePositiveInt('--samples'), 64)
    .option('--tolerance <x>', 'ONNX: max allowed |onnxruntime - tfjs| (fail and write nothing above it)', parseNumber('--tolerance'), 1e-4)
    .requiredOption('--out <path>', 'output .onnx file (onnx) or folder (tfjs)')
    .action(async (o: ExportOpts) => {
      if (o.format !== 'onnx' && o.format !== 'tfjs') throw new Error(`unknown --format '${o.format}': expected onnx or tfjs`);
      const allowed = o.format === 'onnx' ? ['float16', 'int8'] : ['float16', 'uint8', 'uint16'];
      if (o.quantize !== undefined && !allowed.includes(o.quantize)) {
        throw new Error(`--quantize '${o.quantize}' is not available for --format ${o.format}: expected ${allowed.join(' or ')}`);
      }
      if (o.format === 'tfjs' && o.nchw) throw new Error('--nchw only applies to --format onnx');
      if (!o.model.startsWith('zoo:') && isGraphModelFile(o.model)) {
        if (o.format !== 'onnx' || o.quantize || o.nchw) throw new Error(`${o.model} is a tfjs graph model: only --format onnx without --quantize/--nchw is supported`);
        await exportGraph(o);
        return;
      }
      const model = await resolveModel(o.model);
      const mnist = mnistInputsFor(model, o.samples);
      const inputs = mnist ? [mnist] : defaultInputs(model, o.samples);
      const source = mnist ? `${o.samples} MNIST test images` : `${o.samples} seeded random inputs`;
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
          console.log(`wrote ${o.out}: model.json + ${r.files.length - 1} shard(s), ${r.quantizedWeights}/${r.weights} weights ${r.quantize === 'none' ? 'float32' : r.quantize}`);
          console.log(`bytes ${fmt(r.totalBytes)}, gzipped ${fmt(r.gzipBytes)}`);
          console.log(`parity (stock tf.loadLayersModel vs original, ${source}): max|diff| ${diff.toExponential(2)}${r.quantize === 'none' ? '' : ' (quantization error)'}`);
        }
      } finally {
        inputs.forEach((t) => t.dispose());
        model.dispose();
      }
    });
}

/** Graph models (tensorflowjs_converter output) go through the graph-op exporter. */
async function exportGraph(o: ExportOpts): Promise<void> {
  const model = await loadGraphModelFromFiles(o.model);
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
