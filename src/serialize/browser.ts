/**
 * Browser-safe entry point: decoding and IOHandler only (pure TS + pako + tfjs, no Node APIs).
 *
 * @example
 * const model = await tf.loadLayersModel(fromContainer(new Uint8Array(await res.arrayBuffer())));
 */
export { fromContainer, unpackModel, unpackArtifacts, isGraphArtifacts, readContainer, decodeTensor, type UnpackArgs, type ParsedContainer } from './decoder.js';
export { CONTAINER_EXTENSION, CONTAINER_VERSION, type ContainerManifest, type TensorEntry } from './format.js';
