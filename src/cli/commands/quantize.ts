import type { Command } from 'commander';
import { join } from 'node:path';
import { resolveModel, saveLayersModel } from '../../model/io.js';
import { quantizeModel, quantizerNames, quantizedWeightsToJson } from '../../quantize/index.js';
import { artifactSize, modelArtifacts, packArtifacts, containerStats } from '../../serialize/index.js';
import { writeJsonAtomic } from '../../util/atomic.js';
import { loadMnist } from '../../data/mnist.js';
import { parseNumber, parsePositiveInt } from '../data-arg.js';

/** Sidecar written next to a quantized model so `pack` can store the quantized form. */
export const QUANTIZATION_SIDECAR = 'quantization.json';

/** `12345 B (12.1 KiB)` */
export function formatBytes(n: number): string {
  return n < 1024 ? `${n} B` : `${n} B (${(n / 1024).toFixed(1)} KiB)`;
}

/**
 * `tfjs-compress quantize`: post-training weight quantization (fp16, int8, int8 per channel,
 * k-means codebook), optional accuracy guard, writes the deployment model + quantization.json.
 */
export function registerQuantizeCommand(program: Command): void {
  program
    .command('quantize')
    .description('quantize weights (fp16 | int8 | uint8 | int8-channel | uint8-channel | codebook) and save the deployment model')
    .requiredOption('--model <spec>', 'model folder, model.json or zoo:name')
    .requiredOption('--mode <mode>', `quantization mode: ${quantizerNames().join(', ')}`)
    .option('--bits <b>', 'codebook index width, 2..8', parsePositiveInt('--bits'), 5)
    .option('--skip-layers <names>', 'comma-separated layer names to keep in float32')
    .option('--all-weights', 'also quantize biases and other non-kernel weights')
    .option('--data <name>', 'dataset for accuracy checks and fine-tuning (mnist)')
    .option('--limit <n>', 'test samples used to measure accuracy', parsePositiveInt('--limit'), 2000)
    .option('--max-accuracy-drop <points>', 'fail (and write nothing) if test accuracy drops by more percentage points', parseNumber('--max-accuracy-drop'))
    .option('--fine-tune-steps <n>', 'codebook: fine-tune centroids for N mini-batches on the training split', parsePositiveInt('--fine-tune-steps'))
    .option('--train-limit <n>', 'training samples used for fine-tuning', parsePositiveInt('--train-limit'), 10000)
    .option('--lr <x>', 'centroid fine-tuning learning rate', parseNumber('--lr'), 1e-3)
    .requiredOption('--out <dir>', 'output folder (model.json + weights.bin + quantization.json)')
    .action(async (o) => {
      if (o.data !== undefined && o.data !== 'mnist') throw new Error(`unknown --data '${o.data}': expected mnist`);
      if (o.maxAccuracyDrop !== undefined && !o.data) throw new Error('--max-accuracy-drop needs --data');
      if (o.fineTuneSteps !== undefined && !o.data) throw new Error('--fine-tune-steps needs --data');
      const model = await resolveModel(o.model);
      const validation = o.data ? loadMnist({ split: 'test', limit: o.limit }) : undefined;
      const fineTune = o.fineTuneSteps
        ? { data: loadMnist({ split: 'train', limit: o.trainLimit }), steps: o.fineTuneSteps, learningRate: o.lr }
        : undefined;
      const before = artifactSize(await modelArtifacts(model));
      const r = await quantizeModel(model, {
        mode: o.mode,
        bits: o.bits,
        skipLayers: o.skipLayers ? String(o.skipLayers).split(',').map((s) => s.trim()).filter(Boolean) : undefined,
        kernelsOnly: !o.allWeights,
        validation,
        maxAccuracyDrop: o.maxAccuracyDrop,
        fineTune,
      });
      const artifacts = await modelArtifacts(r.model);
      const after = artifactSize(artifacts);
      const packed = containerStats(packArtifacts(artifacts, { quantized: r.quantized }));
      await saveLayersModel(r.model, o.out);
      writeJsonAtomic(join(o.out, QUANTIZATION_SIDECAR), quantizedWeightsToJson(r.quantized));
      for (const w of r.weights) {
        console.log(`  ${w.name} [${w.shape.join('x')}] ${w.kind}: max |error| ${w.maxAbsError.toExponential(2)}, zeros ${(w.zerosBefore * 100).toFixed(1)}% -> ${(w.zerosAfter * 100).toFixed(1)}%`);
      }
      if (r.accuracyBefore !== undefined) {
        console.log(`accuracy: ${(r.accuracyBefore * 100).toFixed(2)}% -> ${(r.accuracyAfter! * 100).toFixed(2)}% (${validation!.size} test samples)`);
      }
      if (r.fineTune) console.log(`fine-tune: ${r.fineTune.steps} steps, loss ${r.fineTune.lossStart.toFixed(4)} -> ${r.fineTune.lossEnd.toFixed(4)}`);
      console.log(`before (tfjs fp32):        raw ${formatBytes(before.totalBytes)}, gzip ${formatBytes(before.gzipBytes)}`);
      console.log(`after  (tfjs, dequantized): raw ${formatBytes(after.totalBytes)}, gzip ${formatBytes(after.gzipBytes)}`);
      console.log(`after  (packed container):  raw ${formatBytes(packed.fileBytes)}, gzip ${formatBytes(packed.gzipBytes)}  (use: tfjs-compress pack ${o.out} --out model.tfjsc)`);
      console.log(`wrote ${o.out} (${r.weights.length} weights quantized with ${o.mode})`);
      r.model.dispose();
    });
}
