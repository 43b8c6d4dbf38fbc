import * as tf from '@tensorflow/tfjs';
import { adaptBatch, modelInputShape, type InputShape } from '../model/input-shape.js';
import { outputsProbabilities } from '../train/metrics.js';
import { featureModel, type FrozenTeacher } from './teacher.js';

/** A teacher layer matched to a student layer by the `feature` loss. */
export interface FeaturePair {
  /** Teacher layer name (graph node name for a graph-model teacher). */
  teacher: string;
  /** Student layer name. */
  student: string;
  /** Weight of this pair inside the `feature` loss (default 1). */
  weight?: number;
}

/**
 * Parse a CLI feature spec `teacher_layer:student_layer[:weight]`.
 * @example parseFeaturePair('dense_1:dense_1') // { teacher: 'dense_1', student: 'dense_1' }
 */
export function parseFeaturePair(spec: string): FeaturePair {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) {
    throw new Error(`--feature '${spec}': expected teacher_layer:student_layer[:weight]`);
  }
  const pair: FeaturePair = { teacher: parts[0], student: parts[1] };
  if (parts[2] !== undefined) {
    const w = Number(parts[2]);
    if (!(w > 0)) throw new Error(`--feature '${spec}': weight must be a number > 0, got '${parts[2]}'`);
    pair.weight = w;
  }
  return pair;
}

/** Learned map from a student feature width to the teacher's (identity when widths match). */
export interface Projection {
  readonly variables: tf.Variable[];
  apply(x: tf.Tensor): tf.Tensor;
}

function shapeText(s: readonly number[]): string {
  return `[${s.map((d) => (d < 0 ? '?' : d)).join(', ')}]`;
}

/**
 * Build the projection for one pair from example feature shapes (batch dim included):
 * a 1x1 convolution for 4-D maps, a dense layer for 2-D features, nothing when widths match.
 */
export function makeProjection(pair: FeaturePair, studentShape: number[], teacherShape: number[], seed: number): Projection {
  const s = studentShape.slice(1);
  const t = teacherShape.slice(1);
  const what = `feature pair ${pair.teacher}:${pair.student}: student layer '${pair.student}' outputs ${shapeText(s)} per sample, teacher layer '${pair.teacher}' ${shapeText(t)}`;
  if (s.length !== t.length) throw new Error(`${what}; ranks must match`);
  if (s.slice(0, -1).join() !== t.slice(0, -1).join()) throw new Error(`${what}; all dims but the last (channels) must match`);
  const cs = s[s.length - 1]!;
  const ct = t[t.length - 1]!;
  if (cs === ct) return { variables: [], apply: (x) => x };
  if (s.length !== 1 && s.length !== 3) throw new Error(`${what}; widths differ and only 2-D or 4-D features can be projected`);
  const kernelShape = s.length === 3 ? [1, 1, cs, ct] : [cs, ct];
  // Unnamed: tfjs variable names are global and a run may be repeated (e.g. compareScratch).
  const init = tf.initializers.glorotUniform({ seed }).apply(kernelShape);
  const zeros = tf.zeros([ct]);
  const kernel = tf.variable(init, true);
  const bias = tf.variable(zeros, true);
  tf.dispose([init, zeros]);
  return {
    variables: [kernel, bias],
    apply: (x) =>
      s.length === 3
        ? tf.add(tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, 1, 'valid'), bias)
        : tf.add(tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D), bias),
  };
}

/** Student forward pass that also returns the requested intermediate layers. */
export class StudentRunner {
  private readonly sub?: tf.LayersModel;
  private readonly probs: boolean;
  private readonly inShape?: InputShape;

  constructor(readonly model: tf.LayersModel, readonly featureNames: readonly string[]) {
    this.sub = featureNames.length ? featureModel(model, featureNames, 'student') : undefined;
    this.probs = outputsProbabilities(model);
    this.inShape = modelInputShape(model);
  }

  /** Logits (log of the output for a softmax student) and features; not wrapped in tidy (runs in the tape). */
  run(xs: tf.Tensor, training: boolean): { logits: tf.Tensor; features: tf.Tensor[] } {
    const x = adaptBatch(xs, this.inShape, `student '${this.model.name}'`);
    const outs = this.sub ? (this.sub.apply(x, { training }) as tf.Tensor[]) : [this.model.apply(x, { training }) as tf.Tensor];
    const last = outs[outs.length - 1]!;
    return { logits: this.probs ? tf.log(tf.clipByValue(last, 1e-7, 1)) : last, features: outs.slice(0, -1) };
  }
}

/**
 * Create projections for all pairs by running teacher and student once on `sample` (one input,
 * inference mode) to learn the feature shapes.
 */
export function buildProjections(
  pairs: readonly FeaturePair[],
  teacher: FrozenTeacher,
  student: StudentRunner,
  sample: tf.Tensor,
  seed: number,
): Projection[] {
  if (!pairs.length) return [];
  const t = teacher.run(sample, pairs.map((p) => p.teacher));
  const s = tf.tidy(() => student.run(sample, false));
  try {
    return pairs.map((p, i) => makeProjection(p, s.features[i]!.shape, t.features[i]!.shape, seed * 7919 + i));
  } finally {
    tf.dispose([t.logits, ...t.features, s.logits, ...s.features]);
  }
}
