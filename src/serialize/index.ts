/**
 * Compact single-file model container (`.tfjsc`): per-tensor automatic choice of the smallest exact
 * encoding (fp32/fp16, byte-shuffled, int8 affine, bit-packed codebook, dense/bitmask/delta
 * sparsity, deflate), CRC32 per tensor, a size-checked reader and a tfjs IOHandler.
 * Byte layout: docs/container-format.md.
 */
export { packModel, packArtifacts, assembleContainer, encodeTensor, tensorCandidates, modelArtifacts, type PackArgs, type EncodedTensor } from './encoder.js';
export { unpackArtifacts, isGraphArtifacts, fromContainer, readContainer, decodeTensor, type UnpackArgs, type ParsedContainer } from './decoder.js';
export { unpackModel } from './unpack-model.js';
export { containerStats, artifactSize, describeEncoding, measureCompression, type ContainerStats, type TensorStats, type ArtifactSize, type CompressionReport } from './stats.js';
export { CONTAINER_EXTENSION, CONTAINER_VERSION, MAGIC, HEADER_BYTES, type ContainerManifest, type ContainerModel, type TensorEntry, type ContainerHeader } from './format.js';
export { getCodec, allCodecs, type ValueCodec, type ValueSpec, type ValueCandidate, type TensorSource } from './codecs.js';
export { getLayout, allLayouts, type PositionLayout } from './layouts.js';
export { crc32 } from './crc32.js';
export { packBits, unpackBits, shuffleBytes, unshuffleBytes } from './bitpack.js';
export { readContainerFile, saveContainer, loadContainer } from './node.js';
