import * as tf from '@tensorflow/tfjs';
import { oneLine } from '../../util/errors.js';
import { assertSupported, translateKerasConfig } from './config.js';
import { readKerasFile, splitWeightsSpec } from './read.js';
import { assignWeights } from './weights.js';

/**
 * Load a Keras file as a tfjs layers model, in TypeScript (no Python, no converter): `.h5` /
 * `.hdf5` whole-model files of Keras 2 or 3, Keras 3 `.keras` zips, and
 * `<topology.json>:<weights.h5>` for weights-only files. Training and optimizer state are ignored.
 * The caller disposes the model.
 *
 * @example
 * const model = await loadKerasModel('tiny_mnist.h5');
 * model.predict(tf.zeros([1, 28, 28, 1]));
 */
export async function loadKerasModel(spec: string): Promise<tf.LayersModel> {
  const file = splitWeightsSpec(spec)?.weights ?? spec;
  const keras = await readKerasFile(spec);
  const translated = translateKerasConfig(keras.modelConfig);
  assertSupported(translated, file);
  const weights = keras.readWeights();
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel({ load: async () => ({ modelTopology: translated.modelConfig as tf.io.ModelArtifacts['modelTopology'] }) });
  } catch (err) {
    throw new Error(`${file}: tfjs-layers cannot build the model from its Keras config (${oneLine((err as Error).message, 200)})`);
  }
  try {
    assignWeights(model, weights, file);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}
