import * as tf from '@tensorflow/tfjs';
import { disposeNestedWithOuter } from './dispose.js';

/**
 * Deep copy of a layers model: same topology, same layer names, copied weights. Used so that
 * a scratch twin starts from the same initial weights and so inputs are never modified.
 */
export async function cloneModel(model: tf.LayersModel): Promise<tf.LayersModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const copy = disposeNestedWithOuter(await tf.loadLayersModel(tf.io.fromMemory(saved!)));
  (copy as { name: string }).name = model.name;
  return copy;
}
