import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { modelJsonPath, resolveModel, saveLayersModel } from '../../model/io.js';
import { quantizedWeightsFromJson, type QuantizedWeights } from '../../quantize/index.js';
import { artifactSize, containerStats, modelArtifacts, packArtifacts, readContainerFile, unpackModel } from '../../serialize/index.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { QUANTIZATION_SIDECAR, formatBytes } from './quantize.js';

/** The quantization sidecar to use for a model spec: explicit path, or quantization.json beside model.json. */
function findSidecar(spec: string, explicit?: string): QuantizedWeights | undefined {
  let path = explicit;
  if (!path && !spec.startsWith('zoo:')) {
    const candidate = join(dirname(modelJsonPath(spec)), QUANTIZATION_SIDECAR);
    if (existsSync(candidate)) path = candidate;
  }
  if (!path) return undefined;
  try {
    return quantizedWeightsFromJson(JSON.parse(readFileSync(path, 'utf8')));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

/** `tfjs-compress pack` and `tfjs-compress unpack`: convert between tfjs folders and `.tfjsc` containers. */
export function registerPackCommand(program: Command): void {
  program
    .command('pack <model>')
    .description('pack a layers model (folder, model.json or zoo:name) into one compact .tfjsc container')
    .option('--quantized <file>', `quantization record (default: ${QUANTIZATION_SIDECAR} beside model.json, if present)`)
    .option('--level <n>', 'deflate level 0..9', (v: string) => {
      const n = Number(v);
      if (!(Number.isInteger(n) && n >= 0 && n <= 9)) throw new Error(`--level expects an integer 0..9, got '${v}'`);
      return n;
    }, 9)
    .requiredOption('--out <file>', 'container file to write, e.g. model.tfjsc')
    .action(async (spec: string, o) => {
      const model = await resolveModel(spec);
      const quantized = findSidecar(spec, o.quantized);
      const artifacts = await modelArtifacts(model);
      const before = artifactSize(artifacts);
      const bytes = packArtifacts(artifacts, { quantized, level: o.level });
      writeFileAtomic(o.out, bytes);
      const s = containerStats(bytes);
      for (const t of s.tensors) {
        console.log(`  ${t.name} [${t.shape.join('x')}] ${t.encoding}: ${t.denseBytes} -> ${t.storedBytes} B (nnz ${t.nnz}/${t.elements})`);
      }
      console.log(`before (tfjs fp32): raw ${formatBytes(before.totalBytes)}, gzip ${formatBytes(before.gzipBytes)}`);
      console.log(`after  (container): raw ${formatBytes(s.fileBytes)}, gzip ${formatBytes(s.gzipBytes)}`);
      console.log(`fp32 weights / file: ${s.ratio.toFixed(1)}x; tfjs gzip / container: ${(before.gzipBytes / s.fileBytes).toFixed(1)}x${quantized ? ' (with quantization record)' : ''}`);
      console.log(`wrote ${o.out}`);
      model.dispose();
    });

  program
    .command('unpack <file>')
    .description('decode a .tfjsc container back to a tfjs layers model folder (model.json + weights.bin)')
    .requiredOption('--out <dir>', 'output folder')
    .action(async (file: string, o) => {
      const bytes = readContainerFile(file);
      let s, model;
      try {
        s = containerStats(bytes);
        model = await unpackModel(bytes);
      } catch (err) {
        throw new Error(`${file}: ${(err as Error).message}`);
      }
      const after = artifactSize(await modelArtifacts(model));
      await saveLayersModel(model, o.out);
      console.log(`before (container): raw ${formatBytes(s.fileBytes)}, gzip ${formatBytes(s.gzipBytes)}`);
      console.log(`after  (tfjs fp32): raw ${formatBytes(after.totalBytes)}, gzip ${formatBytes(after.gzipBytes)}`);
      console.log(`wrote ${o.out}`);
      model.dispose();
    });
}
