import * as tf from '@tensorflow/tfjs';
import { gzipSize } from '../../util/gzip.js';
import { join } from 'node:path';
import { writeDirAtomic, writeFileAtomic } from '../../util/atomic.js';
import { encodeWeight, type TfjsQuantize } from './quantize.js';

/** Options of {@link exportTfjs}. */
export interface ExportTfjsArgs {
  /** Store float32 weights as float16, uint8 or uint16 (affine), dequantized by stock tfjs at load time. */
  quantize?: TfjsQuantize;
  /** Largest weight shard in bytes (default 4 MiB, as tensorflowjs_converter). */
  shardBytes?: number;
}

/** What {@link exportTfjs} wrote. */
export interface TfjsExportReport {
  dir: string;
  quantize: TfjsQuantize | 'none';
  files: { name: string; bytes: number }[];
  modelJsonBytes: number;
  weightBytes: number;
  totalBytes: number;
  /** Sum of each file gzipped (pako level 9). */
  gzipBytes: number;
  /** Number of weight tensors, and how many were quantized. */
  weights: number;
  quantizedWeights: number;
}

/** Capture what `model.save` would write, without writing anything. */
export async function captureArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let got: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      got = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!got?.weightSpecs || !got.modelTopology) throw new Error(`model '${model.name}': save produced no topology/weights`);
  return got;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** Build the files of a tfjs layers-model export in memory: `model.json` text and shard buffers. */
export async function buildTfjsFiles(
  model: tf.LayersModel,
  args: ExportTfjsArgs = {},
): Promise<{ modelJson: string; shards: { name: string; bytes: Uint8Array }[]; weights: number; quantizedWeights: number }> {
  const shardBytes = args.shardBytes ?? 4 * 1024 * 1024;
  if (!(shardBytes >= 1)) throw new Error(`shardBytes must be >= 1, got ${shardBytes}`);
  if (args.quantize && !['float16', 'uint8', 'uint16'].includes(args.quantize)) {
    throw new Error(`quantize must be float16, uint8 or uint16, got '${args.quantize}'`);
  }
  const art = await captureArtifacts(model);
  const data = new Uint8Array(tf.io.CompositeArrayBuffer.join(art.weightData!));
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  let quantized = 0;
  for (const spec of art.weightSpecs!) {
    const per = BYTES[spec.dtype];
    if (!per || spec.quantization) throw new Error(`weight '${spec.name}': cannot re-encode dtype ${spec.dtype}`);
    const n = spec.shape.reduce((a, b) => a * b, 1) * per;
    const raw = data.slice(offset, offset + n);
    offset += n;
    if (args.quantize && spec.dtype === 'float32') {
      const enc = encodeWeight(spec, new Float32Array(raw.buffer), args.quantize);
      specs.push(enc.spec);
      parts.push(enc.bytes);
      quantized++;
    } else {
      specs.push(spec);
      parts.push(raw);
    }
  }
  if (offset !== data.length) throw new Error(`model '${model.name}': weight specs cover ${offset} of ${data.length} bytes`);
  const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const count = Math.max(1, Math.ceil(all.length / shardBytes));
  const shards = Array.from({ length: count }, (_, i) => ({
    name: `group1-shard${i + 1}of${count}.bin`,
    bytes: all.slice(i * shardBytes, Math.min(all.length, (i + 1) * shardBytes)),
  }));
  const modelJson = JSON.stringify({
    format: 'layers-model',
    generatedBy: art.generatedBy,
    convertedBy: 'tfjs-compress 0.1.0',
    modelTopology: art.modelTopology,
    ...(art.trainingConfig ? { trainingConfig: art.trainingConfig } : {}),
    // Carried settings (input scaling, graph-conversion provenance) travel with the exported model.
    ...(art.userDefinedMetadata ? { userDefinedMetadata: art.userDefinedMetadata } : {}),
    weightsManifest: [{ paths: shards.map((s) => s.name), weights: specs }],
  });
  return { modelJson, shards, weights: specs.length, quantizedWeights: quantized };
}

/**
 * Write a tfjs layers-model (`model.json` + `group1-shardNofM.bin`) that stock `tf.loadLayersModel`
 * loads, optionally with quantized weights. The folder is written as one unit (temp folder, then
 * renames): it holds the previous export or the new one, never a mix.
 *
 * @example
 * const report = await exportTfjs(model, 'out/web', { quantize: 'uint8' });
 * console.log(report.totalBytes, report.gzipBytes);
 */
export async function exportTfjs(model: tf.LayersModel, dir: string, args: ExportTfjsArgs = {}): Promise<TfjsExportReport> {
  const { modelJson, shards, weights, quantizedWeights } = await buildTfjsFiles(model, args);
  // One unit: a reader (stock tfjs happily loads a shard of the wrong size) never sees new shards beside an old model.json.
  await writeDirAtomic(dir, (tmp) => {
    for (const s of shards) writeFileAtomic(join(tmp, s.name), s.bytes);
    writeFileAtomic(join(tmp, 'model.json'), modelJson);
  });
  const jsonBytes = new TextEncoder().encode(modelJson);
  const files = [{ name: 'model.json', bytes: jsonBytes.length }, ...shards.map((s) => ({ name: s.name, bytes: s.bytes.length }))];
  const weightBytes = shards.reduce((s, x) => s + x.bytes.length, 0);
  return {
    dir,
    quantize: args.quantize ?? 'none',
    files,
    modelJsonBytes: jsonBytes.length,
    weightBytes,
    totalBytes: weightBytes + jsonBytes.length,
    gzipBytes: [jsonBytes, ...shards.map((s) => s.bytes)].reduce((s, b) => s + gzipSize(b), 0),
    weights,
    quantizedWeights,
  };
}
