import type { ValueSpec } from './codecs.js';

/** File name extension used by the CLI and docs. */
export const CONTAINER_EXTENSION = '.tfjsc';

/** First 8 bytes of every container: `\x89TFJSC\r\n` (non-ASCII first byte, CRLF to catch text-mode damage). */
export const MAGIC = Uint8Array.of(0x89, 0x54, 0x46, 0x4a, 0x53, 0x43, 0x0d, 0x0a);

/** Container format version written by this library (and the only one it reads). */
export const CONTAINER_VERSION = 1;

/** Fixed header size in bytes. */
export const HEADER_BYTES = 28;

/** Per-tensor manifest entry; see docs/container-format.md. */
export interface TensorEntry {
  /** Weight name as in model.json's weightsManifest, e.g. `dense_1/kernel`. */
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  /** Byte offset of the stored payload, relative to the start of the payload section. */
  offset: number;
  /** Stored (possibly compressed) payload size in bytes. */
  length: number;
  /** CRC-32 of the stored payload bytes. */
  crc32: number;
  /** `deflate` (raw RFC 1951 stream) or `none`. */
  compression: 'deflate' | 'none';
  /** Payload size after decompression: side data + positions + values. */
  rawLength: number;
  /** `dense`, `bitmask` or `delta`. */
  layout: string;
  /** Number of stored elements (all of them for dense). */
  nnz: number;
  /** Size of the position stream (needed for `delta`, implied for the others). */
  posBytes: number;
  /** Value encoding and its parameters. */
  values: ValueSpec;
}

/**
 * The model part of a tfjs model.json, minus the weights manifest: a layers model (`format`
 * absent or `layers-model`, Keras JSON topology) or a graph model (`format: 'graph-model'`,
 * GraphDef JSON with a `node` array, plus its `signature`).
 */
export interface ContainerModel {
  modelTopology: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  trainingConfig?: unknown;
  userDefinedMetadata?: unknown;
  /** Graph models: the inputs/outputs signature. */
  signature?: unknown;
  /** Graph models: the initializer graph and its signature (hash tables). */
  modelInitializer?: unknown;
  initializerSignature?: unknown;
}

/** The JSON manifest (stored deflated after the header). */
export interface ContainerManifest {
  format: 'tfjs-compress-container';
  model: ContainerModel;
  tensors: TensorEntry[];
}

/** Parsed fixed header. */
export interface ContainerHeader {
  version: number;
  flags: number;
  manifestLength: number;
  manifestRawLength: number;
  manifestCrc32: number;
  payloadLength: number;
}

/** Serialise the fixed header. */
export function writeHeader(h: ContainerHeader): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  out.set(MAGIC);
  const v = new DataView(out.buffer);
  v.setUint16(8, h.version, true);
  v.setUint16(10, h.flags, true);
  v.setUint32(12, h.manifestLength, true);
  v.setUint32(16, h.manifestRawLength, true);
  v.setUint32(20, h.manifestCrc32, true);
  v.setUint32(24, h.payloadLength, true);
  return out;
}

/** Parse and check the fixed header (magic, version, flags). */
export function readHeader(bytes: Uint8Array): ContainerHeader {
  if (bytes.length < HEADER_BYTES) {
    throw new Error(`not a tfjs-compress container: ${bytes.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new Error('not a tfjs-compress container: bad magic bytes (expected \\x89TFJSC\\r\\n)');
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const h: ContainerHeader = {
    version: v.getUint16(8, true),
    flags: v.getUint16(10, true),
    manifestLength: v.getUint32(12, true),
    manifestRawLength: v.getUint32(16, true),
    manifestCrc32: v.getUint32(20, true),
    payloadLength: v.getUint32(24, true),
  };
  if (h.version !== CONTAINER_VERSION) {
    throw new Error(`unsupported container version ${h.version} (this reader supports version ${CONTAINER_VERSION})`);
  }
  if (h.flags !== 0) throw new Error(`unsupported container flags 0x${h.flags.toString(16)} (version ${CONTAINER_VERSION} defines none)`);
  return h;
}
