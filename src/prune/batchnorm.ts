import * as tf from '@tensorflow/tfjs';
import { leafLayers } from '../model/summary.js';

/**
 * Run every BatchNormalization layer of `model` (nested models included) in inference mode until
 * the returned function is called: they normalise with their moving statistics and no longer
 * update them, as Keras does for a BN layer with `trainable = false` (what TF-MOT users set when
 * fine-tuning a pruned pretrained model). Gamma and beta stay trainable: with frozen statistics
 * they are a plain per-channel affine map.
 *
 * Why: in training mode BN normalises with statistics of the current batch while evaluation uses
 * moving averages (momentum 0.99) that lag behind the weights pruning keeps changing; a pruned
 * BN CNN then scores well on its training batches and badly at test time.
 *
 * @example
 * const restore = freezeBatchNorm(model);
 * try { await train(model, data, { epochs: 1 }); } finally { restore(); }
 */
export function freezeBatchNorm(model: tf.LayersModel): () => void {
  const restores: (() => void)[] = [];
  for (const { layer } of leafLayers(model)) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const own = Object.prototype.hasOwnProperty.call(layer, 'call');
    const previous = layer.call;
    // An own property shadows the prototype's call for this instance only.
    layer.call = (inputs, kwargs) => previous.call(layer, inputs, { ...kwargs, training: false });
    restores.push(() => {
      if (own) layer.call = previous;
      else delete (layer as { call?: unknown }).call;
    });
  }
  return () => restores.forEach((r) => r());
}

/**
 * Whether `model` (nested models included) has a BatchNormalization layer.
 *
 * @example
 * if (hasBatchNorm(model)) console.log('BN statistics will be frozen');
 */
export function hasBatchNorm(model: tf.LayersModel): boolean {
  return leafLayers(model).some(({ layer }) => layer.getClassName() === 'BatchNormalization');
}
