import * as tf from '@tensorflow/tfjs';
import { isGraphArtifacts, unpackArtifacts, type UnpackArgs } from './decoder.js';

/**
 * Decode a container into a tf.LayersModel (weights bit-exact with the packed model). Kept out of
 * decoder.ts so the decoder itself needs no tfjs at run time (the browser runtime imports it).
 *
 * @example
 * const model = await unpackModel(bytes);
 */
export async function unpackModel(input: Uint8Array | ArrayBuffer, args: UnpackArgs = {}): Promise<tf.LayersModel> {
  const artifacts = unpackArtifacts(input, args);
  if (isGraphArtifacts(artifacts)) throw new Error('the container holds a graph model: load it with tf.loadGraphModel(fromContainer(bytes))');
  return tf.loadLayersModel({ load: async () => artifacts });
}
