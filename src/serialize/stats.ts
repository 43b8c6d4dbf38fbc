import { gzipSize } from '../util/gzip.js';
import * as tf from '@tensorflow/tfjs';
import { readContainer, type UnpackArgs } from './decoder.js';
import { modelArtifacts, packArtifacts, type PackArgs } from './encoder.js';
import { HEADER_BYTES, type TensorEntry } from './format.js';

/** Size summary of one stored tensor. */
export interface TensorStats {
  name: string;
  shape: number[];
  /** Human-readable encoding, e.g. `codebook(k=32,5b,bytes) + bitmask + deflate`. */
  encoding: string;
  elements: number;
  /** Stored (non-zero) elements. */
  nnz: number;
  /** float32 dense size: 4 bytes per element. */
  denseBytes: number;
  /** Bytes the tensor takes in the container. */
  storedBytes: number;
}

/** Size summary of a container. */
export interface ContainerStats {
  fileBytes: number;
  /** Size after gzip -9 of the whole file (what a web server would send). */
  gzipBytes: number;
  /** Header + manifest bytes. */
  overheadBytes: number;
  /** Sum of the tensors' float32 dense sizes. */
  denseWeightBytes: number;
  /** denseWeightBytes / fileBytes: the compression factor of the weights. */
  ratio: number;
  tensors: TensorStats[];
}

/** Sizes of a model saved in the standard tfjs format (model.json + one weights.bin). */
export interface ArtifactSize {
  modelJsonBytes: number;
  weightBytes: number;
  totalBytes: number;
  /** gzip -9 of model.json plus gzip -9 of weights.bin. */
  gzipBytes: number;
}

/** One-line description of a tensor entry's encoding. */
export function describeEncoding(e: TensorEntry): string {
  const v = e.values;
  let values: string = v.kind;
  if (v.kind === 'f32' || v.kind === 'f16') values += v.shuffle ? '(shuffled)' : '';
  else if (v.kind === 'codebook') values += `(k=${v.k},${v.bits}b,${v.packing}${v.zeroSlot ? ',zero-slot' : ''})`;
  else if (v.kind === 'affine') values += `(${v.dtype},${v.axis === null ? 'per-tensor' : v.axisCount ? `axes ${v.axis}..${v.axis as number + (v.axisCount as number) - 1}` : `axis ${v.axis}`})`;
  return `${values} + ${e.layout}${e.compression === 'deflate' ? ' + deflate' : ''}`;
}

/**
 * Per-tensor and total sizes of a container (validates header and manifest; decodes nothing).
 *
 * @example
 * const s = containerStats(bytes);
 * console.log(`${s.fileBytes} bytes, ${s.ratio.toFixed(1)}x smaller than fp32 weights`);
 */
export function containerStats(bytes: Uint8Array, args: UnpackArgs = {}): ContainerStats {
  const c = readContainer(bytes, args);
  const tensors = c.manifest.tensors.map((e): TensorStats => {
    const elements = e.shape.reduce((a, b) => a * b, 1);
    return { name: e.name, shape: [...e.shape], encoding: describeEncoding(e), elements, nnz: e.nnz, denseBytes: 4 * elements, storedBytes: e.length };
  });
  const denseWeightBytes = tensors.reduce((a, t) => a + t.denseBytes, 0);
  return {
    fileBytes: bytes.length,
    gzipBytes: gzipSize(bytes),
    overheadBytes: HEADER_BYTES + c.header.manifestLength,
    denseWeightBytes,
    ratio: denseWeightBytes / bytes.length,
    tensors,
  };
}

/** Size of a model in the standard tfjs layout (the fp32 baseline the container is compared with). */
export function artifactSize(artifacts: tf.io.ModelArtifacts): ArtifactSize {
  const weights = artifacts.weightData === undefined ? new Uint8Array(0) : new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
  const modelJson = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    signature: artifacts.signature,
    userDefinedMetadata: artifacts.userDefinedMetadata,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
  };
  const json = new TextEncoder().encode(JSON.stringify(modelJson));
  return {
    modelJsonBytes: json.length,
    weightBytes: weights.length,
    totalBytes: json.length + weights.length,
    gzipBytes: gzipSize(json) + gzipSize(weights),
  };
}

/** Sizes of a model before (tfjs fp32 artifact) and after packing. */
export interface CompressionReport {
  /** The container bytes. */
  bytes: Uint8Array;
  /** The model saved as standard tfjs (model.json + weights.bin). */
  baseline: ArtifactSize;
  container: ContainerStats;
  /** fp32 dense weight bytes / container bytes (the Deep Compression style ratio). */
  fp32Ratio: number;
  /** gzip(tfjs artifact) / gzip(container): what a web server would send, before vs after. */
  gzipRatio: number;
}

/**
 * Pack a model and report its size against the fp32 tfjs baseline, for benchmarks.
 * Pass the baseline model separately when `model` is already a quantized deployment model
 * (its tfjs artifact is fp32 too, but gzip compresses shared weights better than the original).
 *
 * @example
 * const r = await measureCompression(q.model, { quantized: q.quantized }, original);
 * console.log(`${r.fp32Ratio.toFixed(1)}x vs fp32, ${r.gzipRatio.toFixed(1)}x vs gzipped tfjs`);
 */
export async function measureCompression(model: tf.LayersModel, args: PackArgs = {}, baselineModel: tf.LayersModel = model): Promise<CompressionReport> {
  const bytes = packArtifacts(await modelArtifacts(model), args);
  const baseline = artifactSize(await modelArtifacts(baselineModel));
  const container = containerStats(bytes);
  return { bytes, baseline, container, fp32Ratio: container.ratio, gzipRatio: baseline.gzipBytes / container.gzipBytes };
}
