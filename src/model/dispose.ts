import * as tf from '@tensorflow/tfjs';

/** The nested models inside `model`, depth first (a Teachable Machine export holds two levels). */
function nestedModels(model: tf.LayersModel): tf.LayersModel[] {
  const found: tf.LayersModel[] = [];
  const walk = (m: tf.LayersModel) => m.layers.forEach((l) => l instanceof tf.LayersModel && (found.push(l), walk(l)));
  walk(model);
  return found;
}

const refCount = (m: tf.LayersModel) => (m as unknown as { _refCount: number })._refCount;

/**
 * Make `model.dispose()` free the weights of its nested models too. Stock tfjs 4.22 deserialises a
 * nested Sequential whose first layer has a `batch_input_shape` with refCount 2, so disposing the
 * outer model alone leaves the inner weights alive (tm-nail-biting-mobilenet keeps 3 tensors).
 * Applied by the loader to every layers model it returns; a no-op for flat models.
 *
 * @example
 * const model = disposeNestedWithOuter(await tf.loadLayersModel(handler));
 */
export function disposeNestedWithOuter<T extends tf.LayersModel>(model: T): T {
  const nested = nestedModels(model);
  if (nested.length === 0) return model;
  const outerDispose = model.dispose.bind(model);
  model.dispose = () => {
    const result = outerDispose();
    for (const m of nested) while (refCount(m) > 0) result.numDisposedVariables += m.dispose().numDisposedVariables;
    return result;
  };
  return model;
}
