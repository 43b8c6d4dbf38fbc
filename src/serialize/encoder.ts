import * as tf from '@tensorflow/tfjs';
import type { QuantizedWeights } from '../quantize/types.js';
import { concatBytes } from './bytes.js';
import { allCodecs, type TensorSource } from './codecs.js';
import { crc32 } from './crc32.js';
import { deflateBytes } from './deflate.js';
import { manifestDictionary } from './dictionary.js';
import { CONTAINER_VERSION, writeHeader, type ContainerManifest, type ContainerModel, type TensorEntry } from './format.js';
import { allLayouts, getLayout } from './layouts.js';
import { splitWeights } from '../quantize/graph-weights.js';
import { oneLine } from '../util/errors.js';

/** Options for {@link packModel} / {@link packArtifacts}. */
export interface PackArgs {
  /**
   * Quantized records from `quantizeModel` for the model being packed; those weights may be
   * stored in their quantized form. Each record must reproduce the model's weight bit for bit.
   */
  quantized?: QuantizedWeights;
  /** Deflate level 0..9 (default 9). */
  level?: number;
}

/** One complete way to store a tensor: its manifest entry (minus offset) and stored payload. */
export interface EncodedTensor {
  entry: Omit<TensorEntry, 'offset'>;
  payload: Uint8Array;
}

/** A candidate before compression. */
interface RawCandidate {
  raw: Uint8Array;
  entry: Omit<TensorEntry, 'offset' | 'length' | 'crc32' | 'compression'>;
}

/** Compact representations first and sparse layouts before dense, so good sizes are found early. */
const CODEC_ORDER = ['codebook', 'affine', 'f16', 'f32'];

function* rawCandidates(src: TensorSource): Generator<RawCandidate> {
  const n = src.words.length;
  const codecs = allCodecs().sort((a, b) => (CODEC_ORDER.indexOf(a.kind) + 1 || 99) - (CODEC_ORDER.indexOf(b.kind) + 1 || 99));
  for (const codec of codecs) {
    for (const cand of codec.candidates(src)) {
      let positions: Int32Array | null = null;
      if (cand.zero) {
        let nnz = 0;
        for (let i = 0; i < n; i++) if (!cand.zero[i]) nnz++;
        positions = new Int32Array(nnz);
        for (let i = 0, k = 0; i < n; i++) if (!cand.zero[i]) positions[k++] = i;
      }
      const layouts = positions ? [...allLayouts().filter((l) => l.name !== 'dense'), getLayout('dense', src.name)] : [getLayout('dense', src.name)];
      for (const layout of layouts) {
        const select = layout.name === 'dense' ? null : positions!;
        const pos = layout.encode(select ?? new Int32Array(0), n);
        for (const stream of cand.streams(select)) {
          yield {
            raw: concatBytes([cand.side, pos, stream.bytes]),
            entry: {
              name: src.name,
              shape: [...src.shape],
              dtype: src.dtype,
              rawLength: cand.side.length + pos.length + stream.bytes.length,
              layout: layout.name,
              nnz: select ? select.length : n,
              posBytes: pos.length,
              values: stream.spec,
            },
          };
        }
      }
    }
  }
}

/** Deflate a candidate, or store it raw when deflate does not help. */
function finish(c: RawCandidate, level: number, deflated = deflateBytes(c.raw, level)): EncodedTensor {
  const useDeflate = deflated.length < c.raw.length;
  const payload = useDeflate ? deflated : c.raw;
  return { payload, entry: { ...c.entry, length: payload.length, crc32: crc32(payload), compression: useDeflate ? 'deflate' : 'none' } };
}

/**
 * Every (value encoding x layout x stream variant) candidate for one tensor, each compressed at
 * `level` (deflate, or stored when deflate does not help). All reproduce `src.words` exactly.
 */
export function* tensorCandidates(src: TensorSource, level = 9): Generator<EncodedTensor> {
  for (const c of rawCandidates(src)) yield finish(c, level);
}

/** Raw candidates at least this large are pre-screened with a fast deflate. */
const PRESCREEN_BYTES = 64 * 1024;

/**
 * The smallest stored form of a tensor among {@link tensorCandidates}. To keep large tensors fast,
 * a big candidate whose level-1 deflate is over 1.5x the best size so far is not tried at level 9
 * (level 9 is never that much smaller than level 1 on weight data).
 */
export function encodeTensor(src: TensorSource, level = 9): EncodedTensor {
  let best: EncodedTensor | undefined;
  for (const c of rawCandidates(src)) {
    if (best && c.raw.length >= PRESCREEN_BYTES && level > 1) {
      const quick = deflateBytes(c.raw, 1);
      if (Math.min(quick.length, c.raw.length) > 1.5 * best.payload.length) continue;
    }
    const e = finish(c, level);
    if (!best || e.payload.length < best.payload.length) best = e;
  }
  if (!best) throw new Error(`tensor '${src.name}': no encoding applies`);
  return best;
}

/**
 * Split tfjs model artifacts into per-weight word arrays. Weights stored in tensorflowjs_converter's
 * quantized format are stored as the float32 values tfjs decodes them to (so packing stays lossless).
 */
function weightSources(artifacts: tf.io.ModelArtifacts, quantized: QuantizedWeights): TensorSource[] {
  const weights = splitWeights(artifacts);
  const known = new Set(weights.map((w) => w.name));
  for (const name of Object.keys(quantized)) {
    if (!known.has(name)) throw new Error(`quantized record names weight '${name}', which the model does not have (weights: ${oneLine([...known].join(', '), 200)})`);
  }
  return weights.map((w) => {
    if (w.dtype !== 'float32' && w.dtype !== 'int32') {
      throw new Error(`weight '${w.name}': dtype ${w.dtype} is not supported by the container (float32 and int32 are)`);
    }
    const words = new Uint32Array(w.values.buffer, w.values.byteOffset, w.values.length);
    return { name: w.name, shape: [...w.shape], dtype: w.dtype, words, quant: quantized[w.name] };
  });
}

/**
 * Encode tfjs model artifacts (model.json content + weight data) as a container.
 *
 * @example
 * const bytes = packArtifacts(artifacts, { quantized });
 */
export function packArtifacts(artifacts: tf.io.ModelArtifacts, args: PackArgs = {}): Uint8Array {
  if (!artifacts.modelTopology) throw new Error('packArtifacts: artifacts have no modelTopology');
  if (artifacts.modelTopology instanceof ArrayBuffer) throw new Error('packArtifacts: binary (GraphDef protobuf) topologies are not supported; pass a JSON topology (tfjs layers or graph model)');
  const level = args.level ?? 9;
  const tensors: TensorEntry[] = [];
  const payloads: Uint8Array[] = [];
  let offset = 0;
  for (const src of weightSources(artifacts, args.quantized ?? {})) {
    const { entry, payload } = encodeTensor(src, level);
    tensors.push({ ...entry, offset });
    payloads.push(payload);
    offset += payload.length;
  }
  const model: ContainerModel = { modelTopology: artifacts.modelTopology };
  if (artifacts.format !== undefined) model.format = artifacts.format;
  if (artifacts.generatedBy !== undefined) model.generatedBy = artifacts.generatedBy;
  if (artifacts.convertedBy !== undefined) model.convertedBy = artifacts.convertedBy;
  if (artifacts.trainingConfig !== undefined) model.trainingConfig = artifacts.trainingConfig;
  if (artifacts.userDefinedMetadata !== undefined) model.userDefinedMetadata = artifacts.userDefinedMetadata;
  // Graph models: input/output names (GraphModel.execute resolves signature keys) and an initializer graph.
  if (artifacts.signature !== undefined) model.signature = artifacts.signature;
  if (artifacts.modelInitializer !== undefined) model.modelInitializer = artifacts.modelInitializer;
  if (artifacts.initializerSignature !== undefined) model.initializerSignature = artifacts.initializerSignature;
  return assembleContainer({ format: 'tfjs-compress-container', model, tensors }, concatBytes(payloads), level);
}

/**
 * Low-level: write header + deflated manifest + payload section. Offsets and checksums in the
 * manifest must already describe `payload` (used by the encoder and by tests that craft files).
 */
export function assembleContainer(manifest: ContainerManifest, payload: Uint8Array, level = 9): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(manifest));
  const stored = deflateBytes(json, level, manifestDictionary());
  const header = writeHeader({
    version: CONTAINER_VERSION,
    flags: 0,
    manifestLength: stored.length,
    manifestRawLength: json.length,
    manifestCrc32: crc32(stored),
    payloadLength: payload.length,
  });
  return concatBytes([header, stored, payload]);
}

/** Save a LayersModel's topology and weights through an in-memory handler. */
export async function modelArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return artifacts!;
}

/**
 * Pack a tf.LayersModel into a single container file (bytes). Every weight gets the smallest
 * exact encoding; pass the `quantized` records from `quantizeModel` to store int8/codebook forms.
 *
 * @example
 * const { model: q, quantized } = await quantizeModel(model, { mode: 'codebook', bits: 5 });
 * const bytes = await packModel(q, { quantized });
 * const back = await unpackModel(bytes); // same weights as q, bit for bit
 */
export async function packModel(model: tf.LayersModel, args: PackArgs = {}): Promise<Uint8Array> {
  return packArtifacts(await modelArtifacts(model), args);
}
