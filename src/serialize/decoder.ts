// Types only: the decoder runs in browsers (src/runtime) next to whatever tfjs the page loaded.
import type * as tf from '@tensorflow/tfjs-core';
import { concatBytes } from './bytes.js';
import { getCodec, type ValueSpec } from './codecs.js';
import { crc32 } from './crc32.js';
import { inflateExact } from './deflate.js';
import { manifestDictionary } from './dictionary.js';
import { HEADER_BYTES, readHeader, type ContainerHeader, type ContainerManifest, type TensorEntry } from './format.js';
import { oneLine, parseJsonFile } from '../util/errors.js';
import { getLayout } from './layouts.js';

/** Options for reading a container. */
export interface UnpackArgs {
  /**
   * Refuse containers whose declared decoded size (all tensors, plus decompressed payloads)
   * exceeds this many bytes. Checked before anything is allocated. Default 1 GiB.
   */
  maxDecodedBytes?: number;
}

/** A container whose header and manifest were read and validated (tensors not yet decoded). */
export interface ParsedContainer {
  header: ContainerHeader;
  manifest: ContainerManifest;
  /** The payload section (a view into the input). */
  payload: Uint8Array;
}

const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_DECODED = 1024 * 1024 * 1024;

function isUint(v: unknown, max = Number.MAX_SAFE_INTEGER): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

/*
 * Every field of each value encoding, required and typed: a missing or non-boolean `shuffle` read
 * as false decoded other weights instead of failing. (Hand-written rather than zod: this module
 * also runs in browsers with nothing but tfjs and pako.)
 */
const VALUE_FIELDS: Record<string, Record<string, (v: unknown) => boolean>> = {
  f32: { shuffle: (v) => typeof v === 'boolean' },
  f16: { shuffle: (v) => typeof v === 'boolean' },
  codebook: { k: Number.isInteger, bits: Number.isInteger, packing: (v) => v === 'bits' || v === 'bytes', zeroSlot: (v) => typeof v === 'boolean' },
  affine: {
    dtype: (v) => v === 'int8' || v === 'uint8' || v === 'uint16',
    axis: (v) => v === null || Number.isInteger(v),
    channels: Number.isInteger,
    axisCount: (v) => v === undefined || Number.isInteger(v),
  },
};

/** A field's value as messages quote it: JSON, short. */
const show = (v: unknown) => oneLine(JSON.stringify(v) ?? String(v), 40);

function checkValueFields(values: ValueSpec, what: string): void {
  const fields = VALUE_FIELDS[values.kind]!;
  for (const [key, ok] of Object.entries(fields)) {
    if (!ok(values[key])) throw new Error(`${what}: value encoding '${values.kind}' field 'values.${key}' is ${values[key] === undefined ? 'missing' : `invalid (${show(values[key])})`}`);
  }
  for (const key of Object.keys(values)) {
    if (key !== 'kind' && !(key in fields)) throw new Error(`${what}: value encoding '${values.kind}' has an unknown field 'values.${key}'`);
  }
}

/** Validate one entry's fields and sizes; returns its declared decoded footprint in bytes. */
function checkEntry(e: TensorEntry, index: number, payloadLength: number, available: number): number {
  const what = `tensor '${typeof e?.name === 'string' ? e.name : `#${index}`}'`;
  if (!e || typeof e.name !== 'string') throw new Error(`container manifest: tensor #${index} has no name`);
  if (!Array.isArray(e.shape) || !e.shape.every((d) => isUint(d, 2 ** 31))) {
    throw new Error(`${what}: shape must be an array of non-negative integers, got ${JSON.stringify(e.shape)}`);
  }
  const n = e.shape.reduce((a, b) => a * b, 1);
  if (n > 2 ** 31) throw new Error(`${what}: shape [${e.shape.join(', ')}] declares ${n} elements, more than this reader accepts`);
  if (e.dtype !== 'float32' && e.dtype !== 'int32') throw new Error(`${what}: field 'dtype' must be 'float32' or 'int32', got ${show(e.dtype)}`);
  for (const key of ['offset', 'length', 'crc32', 'rawLength', 'nnz', 'posBytes'] as const) {
    if (!isUint(e[key])) throw new Error(`${what}: '${key}' must be a non-negative integer, got ${JSON.stringify(e[key])}`);
  }
  if (e.offset + e.length > payloadLength) {
    throw new Error(`${what}: payload bytes ${e.offset}..${e.offset + e.length} lie outside the ${payloadLength}-byte payload section`);
  }
  if (e.offset + e.length > available) {
    throw new Error(`container truncated: ${what} needs payload bytes ${e.offset}..${e.offset + e.length}, but the file ends at payload byte ${available}`);
  }
  if (e.compression !== 'deflate' && e.compression !== 'none') throw new Error(`${what}: field 'compression' must be 'deflate' or 'none', got ${show(e.compression)}`);
  if (typeof e.layout !== 'string') throw new Error(`${what}: field 'layout' must be a layout name, got ${show(e.layout)}`);
  const layout = getLayout(e.layout, what);
  if (typeof e.values !== 'object' || e.values === null || Array.isArray(e.values)) throw new Error(`${what}: field 'values' (the value encoding) is missing or not an object`);
  if (typeof e.values.kind !== 'string') throw new Error(`${what}: field 'values.kind' must be a value encoding name, got ${show(e.values.kind)}`);
  const codec = getCodec(e.values.kind, what);
  checkValueFields(e.values, what);
  if (e.nnz > n || (e.layout === 'dense' && e.nnz !== n)) throw new Error(`${what}: ${e.nnz} stored elements declared for ${n} elements in layout ${e.layout}`);
  const fixed = layout.fixedBytes(n, e.nnz);
  if (fixed !== null && fixed !== e.posBytes) throw new Error(`${what}: layout ${e.layout} needs ${fixed} position bytes, ${e.posBytes} declared`);
  if (fixed === null && e.posBytes > 5 * e.nnz) throw new Error(`${what}: ${e.posBytes} position bytes is too many for ${e.nnz} entries`);
  const expected = codec.sideBytes(e.values, e.shape, what) + e.posBytes + codec.valueBytes(e.values, e.nnz);
  if (expected !== e.rawLength) throw new Error(`${what}: declared decoded payload of ${e.rawLength} bytes, but its encoding implies ${expected}`);
  if (e.compression === 'none' && e.length !== e.rawLength) throw new Error(`${what}: uncompressed payload of ${e.length} bytes, ${e.rawLength} declared`);
  return 4 * n + e.rawLength;
}

/**
 * Read and validate the header and manifest: magic, version, manifest checksum, every tensor's
 * declared sizes and encodings, and the total decoded size against `maxDecodedBytes`, all before
 * any tensor memory is allocated.
 */
export function readContainer(input: Uint8Array | ArrayBuffer, args: UnpackArgs = {}): ParsedContainer {
  // A plain Uint8Array view: a Node Buffer's slice() shares memory (its .buffer is a whole pool), and
  // the codecs rely on slice() copying.
  const bytes = input instanceof Uint8Array ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
  const header = readHeader(bytes);
  const manifestEnd = HEADER_BYTES + header.manifestLength;
  if (bytes.length < manifestEnd) {
    throw new Error(`container truncated: the manifest needs bytes ${HEADER_BYTES}..${manifestEnd}, but the file has ${bytes.length}`);
  }
  if (header.manifestRawLength > MAX_MANIFEST_BYTES) {
    throw new Error(`container manifest declares ${header.manifestRawLength} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit`);
  }
  const stored = bytes.subarray(HEADER_BYTES, manifestEnd);
  const crc = crc32(stored);
  if (crc !== header.manifestCrc32) {
    throw new Error(`container manifest checksum mismatch (stored 0x${header.manifestCrc32.toString(16)}, computed 0x${crc.toString(16)}): the file is corrupted`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(inflateExact(stored, header.manifestRawLength, 'container manifest', manifestDictionary()));
  } catch (err) {
    throw new Error(`container manifest is unreadable: ${oneLine((err as Error).message, 200)}`);
  }
  const manifest = parseJsonFile(text, 'container manifest') as ContainerManifest;
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) throw new Error('container manifest: expected a JSON object');
  if (manifest.format !== 'tfjs-compress-container') throw new Error(`container manifest: field 'format' must be 'tfjs-compress-container'`);
  if (!manifest.model || typeof manifest.model.modelTopology !== 'object' || manifest.model.modelTopology === null || Array.isArray(manifest.model.modelTopology)) {
    throw new Error(`container manifest: field 'model.modelTopology' is missing or not an object`);
  }
  if (!Array.isArray(manifest.tensors)) throw new Error(`container manifest: field 'tensors' must be an array`);
  const available = bytes.length - manifestEnd;
  if (available > header.payloadLength) {
    throw new Error(`container has ${available - header.payloadLength} unexpected trailing bytes after the ${header.payloadLength}-byte payload`);
  }
  const limit = args.maxDecodedBytes ?? DEFAULT_MAX_DECODED;
  const names = new Set<string>();
  let total = 0;
  manifest.tensors.forEach((e, i) => {
    total += checkEntry(e, i, header.payloadLength, available);
    if (names.has(e.name)) throw new Error(`container manifest: tensor '${e.name}' appears twice`);
    names.add(e.name);
  });
  if (total > limit) {
    throw new Error(`container declares ${total} decoded bytes, over the limit of ${limit} (raise maxDecodedBytes if the file is trusted); nothing was allocated`);
  }
  if (available < header.payloadLength) {
    throw new Error(`container truncated: the payload section should be ${header.payloadLength} bytes, the file holds ${available}`);
  }
  return { header, manifest, payload: bytes.subarray(manifestEnd) };
}

/**
 * Decode one tensor to its little-endian element bytes (float32 or int32), verifying its CRC32
 * first and every internal size while decoding.
 */
export function decodeTensor(c: ParsedContainer, e: TensorEntry): Uint8Array {
  const what = `tensor '${e.name}'`;
  const { side, positions, values } = tensorStreams(c, e);
  const n = e.shape.reduce((a, b) => a * b, 1);
  const words = getCodec(e.values.kind, what).decode(e.values, side, values, positions, e.shape, what);
  if (words.length !== (positions ? positions.length : n)) throw new Error(`${what}: decoded ${words.length} values, expected ${positions ? positions.length : n}`);
  if (!positions) return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const out = new Uint32Array(n);
  for (let j = 0; j < positions.length; j++) out[positions[j]!] = words[j]!;
  return new Uint8Array(out.buffer);
}

/**
 * The checksum-verified streams of one entry, inflated: its side data (scales, centroids...), the
 * positions of its stored values (null when dense) and the value bytes, each an own copy.
 */
export function tensorStreams(c: ParsedContainer, e: TensorEntry): { side: Uint8Array; positions: Int32Array | null; values: Uint8Array } {
  const what = `tensor '${e.name}'`;
  const stored = c.payload.subarray(e.offset, e.offset + e.length);
  const crc = crc32(stored);
  if (crc !== e.crc32) {
    throw new Error(`checksum mismatch in ${what} (stored CRC32 0x${e.crc32.toString(16)}, computed 0x${crc.toString(16)}): the file is corrupted`);
  }
  const raw = e.compression === 'deflate' ? inflateExact(stored, e.rawLength, what) : stored;
  const sideLen = getCodec(e.values.kind, what).sideBytes(e.values, e.shape, what);
  const n = e.shape.reduce((a, b) => a * b, 1);
  const positions = getLayout(e.layout, what).decode(raw.subarray(sideLen, sideLen + e.posBytes), n, e.nnz, what);
  return { side: raw.slice(0, sideLen), positions, values: raw.slice(sideLen + e.posBytes) };
}

/**
 * Decode a container into tfjs model artifacts (what a model.json + weights.bin would give).
 *
 * @example
 * const artifacts = unpackArtifacts(bytes);
 */
export function unpackArtifacts(input: Uint8Array | ArrayBuffer, args: UnpackArgs = {}): tf.io.ModelArtifacts {
  const c = readContainer(input, args);
  const parts = c.manifest.tensors.map((e) => decodeTensor(c, e));
  const weightData = concatBytes(parts).buffer as ArrayBuffer;
  const m = c.manifest.model;
  return {
    modelTopology: m.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: c.manifest.tensors.map((e) => ({ name: e.name, shape: [...e.shape], dtype: e.dtype })),
    weightData,
    ...(m.format !== undefined ? { format: m.format } : {}),
    ...(m.generatedBy !== undefined ? { generatedBy: m.generatedBy } : {}),
    ...(m.convertedBy !== undefined ? { convertedBy: m.convertedBy } : {}),
    ...(m.trainingConfig !== undefined ? { trainingConfig: m.trainingConfig as tf.io.TrainingConfig } : {}),
    ...(m.userDefinedMetadata !== undefined ? { userDefinedMetadata: m.userDefinedMetadata as tf.io.ModelArtifacts['userDefinedMetadata'] } : {}),
    ...(m.signature !== undefined ? { signature: m.signature as object } : {}),
    ...(m.modelInitializer !== undefined ? { modelInitializer: m.modelInitializer as object } : {}),
    ...(m.initializerSignature !== undefined ? { initializerSignature: m.initializerSignature as object } : {}),
  };
}

/**
 * An IOHandler that loads a container from bytes: `tf.loadLayersModel` for a layers container,
 * `tf.loadGraphModel` for a graph container ({@link isGraphArtifacts} tells which). Pure TS +
 * pako: works in Node and in browsers (fetch the file as an ArrayBuffer first).
 *
 * @example
 * const bytes = new Uint8Array(await (await fetch('model.tfjsc')).arrayBuffer());
 * const model = await tf.loadLayersModel(fromContainer(bytes)); // or tf.loadGraphModel(...)
 */
export function fromContainer(input: Uint8Array | ArrayBuffer, args: UnpackArgs = {}): tf.io.IOHandler {
  return { load: async () => unpackArtifacts(input, args) };
}

/** True when artifacts (e.g. from {@link unpackArtifacts}) hold a graph model rather than a layers model. */
export function isGraphArtifacts(artifacts: tf.io.ModelArtifacts): boolean {
  const topo = artifacts.modelTopology as { node?: unknown } | undefined;
  return artifacts.format === 'graph-model' || Array.isArray(topo?.node);
}
