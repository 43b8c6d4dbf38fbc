import * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';

/** How closely a quantized model follows the original on the same inputs (no labels needed). */
export interface OutputAgreement {
  /** Samples compared. */
  samples: number;
  /** Samples whose per-sample argmax is the same in both models (worst output of a multi-output model). */
  agree: number;
  /** Outputs compared. */
  outputs: number;
  /** ||y - y_q|| / ||y|| over the samples (worst output). */
  relativeError: number;
}

function run(model: tf.LayersModel | GraphModel, inputs: tf.Tensor[]): tf.Tensor[] {
  const feed = inputs.length === 1 ? inputs[0]! : inputs;
  const out = model instanceof tf.LayersModel ? model.predict(feed) : model.execute(feed);
  return Array.isArray(out) ? out : [out as tf.Tensor];
}

/** The batch size a model's first input fixes (graphs converted with batch 1), else undefined. */
function fixedBatch(model: tf.LayersModel | GraphModel): number | undefined {
  const b = (model.inputs[0] as { shape?: Array<number | null> } | undefined)?.shape?.[0];
  return typeof b === 'number' && b > 0 ? b : undefined;
}

/** Outputs over all samples, fed in slices of the model's fixed batch size when it has one. */
function outputsOf(model: tf.LayersModel | GraphModel, inputs: tf.Tensor[], samples: number): tf.Tensor[] {
  const batch = fixedBatch(model);
  if (!batch || batch >= samples) return run(model, inputs);
  const parts: tf.Tensor[][] = [];
  for (let at = 0; at + batch <= samples; at += batch) parts.push(run(model, inputs.map((t) => tf.slice(t, at, batch))));
  return parts[0]!.map((_, k) => tf.concat(parts.map((p) => p[k]!)));
}

/**
 * Run both models on the same inputs (one tensor per model input, batch first; not disposed;
 * fed in slices to a model whose input fixes the batch size) and compare every output: per-sample argmax agreement over the flattened sample, and the
 * relative RMS difference. Holds no tensors afterwards.
 *
 * @example
 * const probe = [tf.randomUniform([64, 224, 224, 3], 0, 1, 'float32', 1)];
 * outputAgreement(fp32, quantized, probe); // { samples: 64, agree: 63, outputs: 1, relativeError: 0.012 }
 */
export function outputAgreement(reference: tf.LayersModel | GraphModel, candidate: tf.LayersModel | GraphModel, inputs: tf.Tensor[]): OutputAgreement {
  const given = inputs[0]?.shape[0] ?? 0;
  // A fixed batch size that does not divide the probe drops the remainder.
  const batch = fixedBatch(reference);
  const samples = batch && batch < given ? given - (given % batch) : given;
  return tf.tidy(() => {
    const a = outputsOf(reference, inputs, samples);
    const b = outputsOf(candidate, inputs, samples);
    if (a.length !== b.length) throw new Error(`output agreement: the models have ${a.length} and ${b.length} outputs`);
    let agree = samples;
    let relativeError = 0;
    a.forEach((ya, k) => {
      const yb = b[k]!;
      const fa = tf.reshape(ya.toFloat(), [samples, -1]);
      const fb = tf.reshape(yb.toFloat(), [samples, -1]);
      const same = tf.sum(tf.cast(tf.equal(tf.argMax(fa, 1), tf.argMax(fb, 1)), 'int32')).dataSync()[0]!;
      const diff = tf.norm(tf.sub(fa, fb)).dataSync()[0]!;
      const norm = tf.norm(fa).dataSync()[0]!;
      agree = Math.min(agree, same);
      relativeError = Math.max(relativeError, norm > 0 ? diff / norm : diff > 0 ? Infinity : 0);
    });
    return { samples, agree, outputs: a.length, relativeError };
  });
}
