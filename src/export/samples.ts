import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../data/mnist.js';
import { scaleInputs, type InputScaling } from '../data/transform.js';

/**
 * The first `n` real MNIST test images shaped for the model's single input ([28,28,1], [28,28] or
 * [784]) in the model's input scaling (default 0..1), or undefined when the model does not take
 * MNIST-sized inputs. Caller disposes.
 *
 * @example const xs = mnistInputsFor(model, 256, inputScaling({ range: '-1..1' })) ?? defaultInputs(model, 8)[0];
 */
export function mnistInputsFor(model: tf.LayersModel, n: number, scaling?: InputScaling): tf.Tensor | undefined {
  if (model.inputs.length !== 1) return undefined;
  const shape = model.inputs[0]!.shape.slice(1);
  if (shape.some((d) => d == null) || shape.reduce((a, b) => a! * b!, 1) !== 784) return undefined;
  const raw = loadMnist({ split: 'test', limit: n });
  const ds = scaling ? scaleInputs(raw, scaling) : raw;
  return tf.tidy(() => ds.toTensors().xs.reshape([ds.size, ...(shape as number[])]));
}
