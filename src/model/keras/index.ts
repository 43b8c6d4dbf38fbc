/*
 * Keras import without Python: Keras 2/3 `.h5`, Keras 3 `.keras`, weights-only `.h5` with a
 * topology, and the Keras 3 config forms tfjs-layers 4.22 refuses. The HDF5 (jsfive) and zip
 * (fflate) readers load on first use only.
 */
import type * as tf from '@tensorflow/tfjs';
import { translateTopology } from './config.js';

export { loadKerasModel } from './model.js';
export { readKerasFile, readTopologyFile, splitWeightsSpec, type KerasFile } from './read.js';
export { translateKerasConfig, translateTopology, isKeras3Topology, unsupportedMessage, type TranslatedConfig } from './config.js';
export type { KerasWeight } from './hdf5.js';
export type { LayerWeights, WeightSource } from './weights.js';

/**
 * Wrap an IOHandler so a layers-model topology written from Keras 3 (converter 4.22: `batch_shape`,
 * dtype policies, `__keras_tensor__` nodes) is translated before tfjs reads it; others pass as is.
 *
 * @example
 * const model = await tf.loadLayersModel(kerasCompatHandler(fileHandler('web_model')));
 */
export function kerasCompatHandler(inner: tf.io.IOHandler, where = 'model.json'): tf.io.IOHandler {
  return {
    ...inner,
    load: async () => {
      const artifacts = await inner.load!();
      return { ...artifacts, modelTopology: translateTopology(artifacts.modelTopology, where) as tf.io.ModelArtifacts['modelTopology'] };
    },
  };
}
