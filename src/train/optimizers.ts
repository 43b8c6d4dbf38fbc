import * as tf from '@tensorflow/tfjs';

/** Optimizer names accepted by the training loop and the CLI. */
export const OPTIMIZER_NAMES = ['adam', 'sgd', 'momentum', 'rmsprop', 'adagrad', 'adamax'] as const;
/** One of {@link OPTIMIZER_NAMES}. */
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/**
 * Create an optimizer by name.
 * @example makeOptimizer('adam', 1e-3)
 */
export function makeOptimizer(name: OptimizerName | string, learningRate: number): tf.Optimizer {
  if (!(learningRate > 0)) throw new Error(`learningRate must be > 0, got ${learningRate}`);
  switch (name) {
    case 'adam':
      return tf.train.adam(learningRate);
    case 'sgd':
      return tf.train.sgd(learningRate);
    case 'momentum':
      return tf.train.momentum(learningRate, 0.9);
    case 'rmsprop':
      return tf.train.rmsprop(learningRate);
    case 'adagrad':
      return tf.train.adagrad(learningRate);
    case 'adamax':
      return tf.train.adamax(learningRate);
    default:
      throw new Error(`unknown optimizer '${name}': expected one of ${OPTIMIZER_NAMES.join(', ')}`);
  }
}

/** Current learning rate of a tfjs optimizer (all built-ins keep it in `learningRate`). */
export function getLearningRate(opt: tf.Optimizer): number {
  return (opt as unknown as { learningRate: number }).learningRate;
}

/**
 * Change an optimizer's learning rate in place. Adam and friends read `learningRate` on every
 * step; SGD and momentum cache `-lr` in a scalar and expose `setLearningRate` to refresh it.
 */
export function setLearningRate(opt: tf.Optimizer, lr: number): void {
  const o = opt as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}
