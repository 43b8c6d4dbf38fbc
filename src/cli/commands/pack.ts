import type { Command } from 'commander';
import type * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileHandler } from '../../model/io.js';
import { loadModel } from '../../model/load.js';
import { graphArtifacts, quantizedWeightsFromJson, type QuantizedWeights } from '../../quantize/index.js';
import { artifactSize, containerStats, isGraphArtifacts, modelArtifacts, packArtifacts, readContainerFile, unpackArtifacts } from '../../serialize/index.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { QUANTIZATION_SIDECAR, formatBytes } from './quantize.js';
import { refuseOverwrite } from '../output-guards.js';

/** The quantization sidecar to use: explicit path, or quantization.json beside the model's JSON file. */
function findSidecar(modelJson: string | undefined, explicit?: string): QuantizedWeights | undefined {
  let path = explicit;
  if (!path && modelJson) {
    const candidate = join(dirname(modelJson), QUANTIZATION_SIDECAR);
    if (existsSync(candidate)) path = candidate;
  }
  if (!path) return undefined;
  try {
    return quantizedWeightsFromJson(JSON.parse(readFileSync(path, 'utf8')));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

/** The artifacts of any tfjs model argument (layers, graph or container), as stock tfjs would save them. */
async function artifactsOf(spec: string): Promise<{ artifacts: tf.io.ModelArtifacts; kind: string; modelJson?: string }> {
  const m = await loadModel(spec, { command: 'pack', accept: ['layers', 'graph'] });
  if (m.kind === 'onnx') throw new Error(`pack: '${spec}' is not a tfjs model`);
  try {
    const artifacts = m.kind === 'graph' ? await graphArtifacts(m.model) : await modelArtifacts(m.model);
    // A container's JSON path is the container itself: no sidecar beside it.
    const modelJson = m.format === 'layers-model' || m.format === 'graph-model' ? m.location.path : undefined;
    return { artifacts, kind: m.kind, modelJson };
  } finally {
    m.model.dispose();
  }
}

/**
 * `tfjs-compress pack` and `tfjs-compress unpack`: convert between tfjs model folders (layers or
 * graph) and `.tfjsc` containers, losslessly.
 */
export function registerPackCommand(program: Command): void {
  program
    .command('pack <model>')
    .description('pack a layers or graph model (folder, model.json or zoo:name) into one compact .tfjsc container, losslessly')
    .option('--quantized <file>', `quantization record (default: ${QUANTIZATION_SIDECAR} beside model.json, if present)`)
    .option('--level <n>', 'deflate level 0..9', (v: string) => {
      const n = Number(v);
      if (!(Number.isInteger(n) && n >= 0 && n <= 9)) throw new Error(`--level expects an integer 0..9, got '${v}'`);
      return n;
    }, 9)
    .requiredOption('--out <file>', 'container file to write, e.g. model.tfjsc')
    .action(async (spec: string, o) => {
      refuseOverwrite(spec, o.out);
      const { artifacts, kind, modelJson } = await artifactsOf(spec);
      const quantized = findSidecar(modelJson, o.quantized);
      const before = artifactSize(artifacts);
      const bytes = packArtifacts(artifacts, { quantized, level: o.level });
      writeFileAtomic(o.out, bytes);
      const s = containerStats(bytes);
      for (const t of s.tensors) {
        console.log(`  ${t.name} [${t.shape.join('x')}] ${t.encoding}: ${t.denseBytes} -> ${t.storedBytes} B (nnz ${t.nnz}/${t.elements})`);
      }
      console.log(`before (tfjs ${kind} model): raw ${formatBytes(before.totalBytes)}, gzip ${formatBytes(before.gzipBytes)}`);
      console.log(`after  (container): raw ${formatBytes(s.fileBytes)}, gzip ${formatBytes(s.gzipBytes)}`);
      console.log(`fp32 weights / file: ${s.ratio.toFixed(1)}x; tfjs gzip / container: ${(before.gzipBytes / s.fileBytes).toFixed(1)}x${quantized ? ' (with quantization record)' : ''}`);
      console.log(`wrote ${o.out} (${kind} model)`);
    });

  program
    .command('unpack <file>')
    .description('decode a .tfjsc container back to a tfjs model folder (model.json + weights.bin; layers or graph model, as packed)')
    .requiredOption('--out <dir>', 'output folder')
    .action(async (file: string, o) => {
      const bytes = readContainerFile(file);
      refuseOverwrite(file, o.out);
      let s, artifacts;
      try {
        s = containerStats(bytes);
        artifacts = unpackArtifacts(bytes);
      } catch (err) {
        throw new Error(`${file}: ${(err as Error).message}`);
      }
      const kind = isGraphArtifacts(artifacts) ? 'graph' : 'layers';
      // Load it once so a container stock tfjs cannot read is refused before anything is written.
      const m = await loadModel(file, { command: 'unpack', accept: ['layers', 'graph'] });
      if (m.kind !== 'onnx') m.model.dispose();
      // One unit: replaces the whole folder, so no stale sidecar or shard survives beside the new model.
      await fileHandler(o.out).save!(artifacts);
      const after = artifactSize(artifacts);
      console.log(`before (container): raw ${formatBytes(s.fileBytes)}, gzip ${formatBytes(s.gzipBytes)}`);
      console.log(`after  (tfjs ${kind} model, fp32): raw ${formatBytes(after.totalBytes)}, gzip ${formatBytes(after.gzipBytes)}`);
      console.log(`wrote ${o.out} (${kind} model)`);
    });
}
