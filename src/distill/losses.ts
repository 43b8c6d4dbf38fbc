import * as tf from '@tensorflow/tfjs';

/** What a distillation loss sees for one batch. All tensors are owned by the caller. */
export interface LossInputs {
  /** Student logits, e.g. [B, C] (or [B, H, W, C] for dense outputs). */
  student: tf.Tensor;
  /** Teacher logits of the same shape (log-probabilities when the teacher outputs probabilities). */
  teacher: tf.Tensor;
  /** Softening temperature T (> 0). */
  temperature: number;
  /** One-hot targets (not used by the soft losses; there for custom losses). */
  targets: tf.Tensor;
  /** Matched feature pairs (student already projected to the teacher's width). */
  features: Array<{ student: tf.Tensor; teacher: tf.Tensor; weight: number }>;
}

/**
 * A soft (teacher-driven) loss term. Implementations are pure tensor maths; the distiller
 * combines them as `alpha * hard + (1 - alpha) * sum(weight_i * loss_i)`.
 */
export interface DistillLoss {
  /** Registry key, e.g. `logits`. */
  readonly name: string;
  /** One line for help texts and docs. */
  readonly describe: string;
  /** True when the loss needs feature pairs (`features` in the distill args). */
  readonly usesFeatures?: boolean;
  /** Mean loss over the batch. */
  compute(inputs: LossInputs): tf.Scalar;
}

/**
 * KL(p_T || q_T) x T^2 averaged over samples, where p_T = softmax(teacher / T) and
 * q_T = softmax(student / T). The T^2 factor keeps gradient size independent of T (Hinton 2015).
 */
export function klDivergenceLoss(student: tf.Tensor, teacher: tf.Tensor, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const logP = tf.logSoftmax(tf.div(teacher, temperature));
    const logQ = tf.logSoftmax(tf.div(student, temperature));
    const kl = tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1);
    return tf.mul(tf.mean(kl), temperature * temperature) as tf.Scalar;
  });
}

/**
 * Soft-target cross-entropy -sum p_T log q_T x T^2 (the form written in Hinton's paper). It
 * differs from KL only by the teacher's entropy, a constant, so gradients are identical.
 */
export function softCrossEntropyLoss(student: tf.Tensor, teacher: tf.Tensor, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const p = tf.softmax(tf.div(teacher, temperature));
    const logQ = tf.logSoftmax(tf.div(student, temperature));
    const ce = tf.neg(tf.sum(tf.mul(p, logQ), -1));
    return tf.mul(tf.mean(ce), temperature * temperature) as tf.Scalar;
  });
}

/** Mean squared difference of raw logits (the high-temperature limit of the soft loss; T unused). */
export function logitMseLoss(student: tf.Tensor, teacher: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(student, teacher)) as tf.Scalar);
}

/** Weighted sum of per-pair feature MSEs (each pair: mean over all its elements). */
export function featureMseLoss(features: LossInputs['features']): tf.Scalar {
  return tf.tidy(() => {
    let total: tf.Tensor = tf.scalar(0);
    for (const f of features) total = tf.add(total, tf.mul(tf.mean(tf.squaredDifference(f.student, f.teacher)), f.weight));
    return total as tf.Scalar;
  });
}

const registry = new Map<string, DistillLoss>();

/**
 * Add (or replace) a loss in the registry, so `losses: ['my-loss']` can name it.
 *
 * @example
 * registerDistillLoss({ name: 'l1', describe: 'L1 on logits',
 *   compute: ({ student, teacher }) => tf.mean(tf.abs(tf.sub(student, teacher))) as tf.Scalar });
 */
export function registerDistillLoss(loss: DistillLoss): void {
  if (!loss.name || /\s|:/.test(loss.name)) throw new Error(`distill loss name '${loss.name}' must be non-empty, without spaces or ':'`);
  registry.set(loss.name, loss);
}

/** Look a loss up by name; the error lists the registered names. */
export function getDistillLoss(name: string): DistillLoss {
  const loss = registry.get(name);
  if (!loss) throw new Error(`unknown distillation loss '${name}': expected one of ${distillLossNames().join(', ')}`);
  return loss;
}

/** Names of the registered distillation losses. */
export function distillLossNames(): string[] {
  return [...registry.keys()];
}

registerDistillLoss({
  name: 'logits',
  describe: 'KL(teacher_T || student_T) x T^2 on temperature-softened outputs (Hinton 2015; keras.io)',
  compute: ({ student, teacher, temperature }) => klDivergenceLoss(student, teacher, temperature),
});
registerDistillLoss({
  name: 'soft-ce',
  describe: 'soft-target cross-entropy -sum p_T log q_T x T^2 (the form in Hinton 2015)',
  compute: ({ student, teacher, temperature }) => softCrossEntropyLoss(student, teacher, temperature),
});
registerDistillLoss({
  name: 'mse',
  describe: 'mean squared error between student and teacher logits (temperature unused)',
  compute: ({ student, teacher }) => logitMseLoss(student, teacher),
});
registerDistillLoss({
  name: 'feature',
  describe: 'MSE between named teacher and student layers (learned 1x1 conv / dense projection when widths differ)',
  usesFeatures: true,
  compute: ({ features }) => featureMseLoss(features),
});
