import * as tf from '@tensorflow/tfjs';

/**
 * True when the model's final layer already applies softmax, so its outputs are
 * probabilities rather than logits (losses must then not apply softmax again).
 */
export function outputsProbabilities(model: tf.LayersModel): boolean {
  const last = model.layers[model.layers.length - 1];
  const cfg = last?.getConfig() as { activation?: string } | undefined;
  return last?.getClassName() === 'Softmax' || cfg?.activation === 'softmax';
}

/** Mean softmax cross-entropy between one-hot (or soft) targets and logits, over the last axis. */
export function softmaxCrossEntropy(targets: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), -1))) as tf.Scalar);
}

/** Mean cross-entropy when the outputs are already probabilities (clipped for stability). */
export function probabilityCrossEntropy(targets: tf.Tensor, probs: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.log(tf.clipByValue(probs, 1e-7, 1))), -1))) as tf.Scalar);
}

/** Cross-entropy that picks the right form for the model's output (logits or probabilities). */
export function crossEntropyFor(model: tf.LayersModel): (targets: tf.Tensor, outputs: tf.Tensor) => tf.Scalar {
  return outputsProbabilities(model) ? probabilityCrossEntropy : softmaxCrossEntropy;
}

/** Number of samples (or pixels, for dense outputs) whose arg-max matches the target's. */
export function countCorrect(targets: tf.Tensor, outputs: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(outputs, -1), tf.argMax(targets, -1)), 'float32')) as tf.Scalar);
}

/** Number of samples whose target class is among the top `k` outputs. */
export function countTopK(targets: tf.Tensor, outputs: tf.Tensor, k: number): tf.Scalar {
  return tf.tidy(() => {
    const classes = outputs.shape[outputs.shape.length - 1]!;
    const flatOut = tf.reshape(outputs, [-1, classes]) as tf.Tensor2D;
    const flatTarget = tf.reshape(tf.argMax(targets, -1), [-1]) as tf.Tensor1D;
    const top = tf.topk(flatOut, Math.min(k, classes)).indices;
    const hit = tf.any(tf.equal(top, tf.expandDims(tf.cast(flatTarget, 'int32'), 1)), 1);
    return tf.sum(tf.cast(hit, 'float32')) as tf.Scalar;
  });
}
