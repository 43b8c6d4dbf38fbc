import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/dataset.js';
import { train } from '../train/loop.js';
import { countCorrect, softmaxCrossEntropy } from '../train/metrics.js';
import type { LossFn, ValidationFn } from '../train/types.js';
import { gatherRows, loadOrBuildTeacherCache, type TeacherCache } from './cache.js';
import { buildProjections, StudentRunner, type FeaturePair, type Projection } from './features.js';
import { getDistillLoss, type DistillLoss, type LossInputs } from './losses.js';
import { freezeTeacher, type FrozenTeacher } from './teacher.js';
import type { DistillArgs, DistillResult, LossSpec } from './types.js';

function shapeText(s: ReadonlyArray<number | null>): string {
  return `[${s.map((d) => d ?? '?').join(', ')}]`;
}

/** Checked, defaulted settings of a run. */
interface Plan {
  temperature: number;
  alpha: number;
  losses: Array<{ loss: DistillLoss; weight: number }>;
  pairs: FeaturePair[];
}

function plan(args: DistillArgs): Plan {
  const temperature = args.temperature ?? 4;
  const alpha = args.alpha ?? 0.1;
  if (!(Number.isFinite(temperature) && temperature > 0)) throw new Error(`temperature must be a number > 0, got ${temperature}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`alpha must be in [0, 1] (weight of the hard-label loss), got ${alpha}`);
  const pairs = (args.features ?? []).map((p) => ({ ...p, weight: p.weight ?? 1 }));
  const specs: LossSpec[] = args.losses ?? ['logits'];
  const losses = specs.map((s) => {
    const { name, weight = 1 } = typeof s === 'string' ? { name: s } : s;
    if (!(Number.isFinite(weight) && weight >= 0)) throw new Error(`weight of loss '${name}' must be a number >= 0, got ${weight}`);
    return { loss: getDistillLoss(name), weight };
  });
  const usesFeatures = losses.some((l) => l.loss.usesFeatures);
  if (usesFeatures && !pairs.length) throw new Error(`loss 'feature' needs at least one feature pair (features: [{teacher, student}])`);
  if (pairs.length && !usesFeatures) losses.push({ loss: getDistillLoss('feature'), weight: 1 });
  return { temperature, alpha, losses, pairs };
}

function checkModels(teacher: FrozenTeacher, args: DistillArgs): void {
  const { student } = args;
  if ((args.teacher as unknown) === student) throw new Error('teacher and student are the same model object; pass a separate student');
  if (args.data.size === 0) throw new Error('distill: the training dataset is empty');
  // Run the teacher on one sample: graph models often do not declare their output shape.
  const sample = args.data.xsOf([0]);
  let t: number[];
  try {
    const out = teacher.run(sample, []);
    t = out.logits.shape.slice(1);
    out.logits.dispose();
  } catch (err) {
    throw new Error(`teacher '${teacher.name}' cannot run on samples of shape [${args.data.xShape}]: ${(err as Error).message}`);
  } finally {
    sample.dispose();
  }
  const s = student.outputs[0]!.shape.slice(1);
  const same = t.length === s.length && t.every((d, i) => d === null || s[i] === null || d === s[i]);
  if (!same) {
    throw new Error(`teacher '${teacher.name}' outputs shape ${shapeText(t)} but student '${student.name}' outputs ${shapeText(s)}; they must match`);
  }
  // A student built from the teacher's layers would train the teacher: refuse shared variables.
  const teacherIds = new Set(teacher.weightTensors().map((w) => w.id));
  const shared = student.trainableWeights.filter((w) => teacherIds.has(w.read().id));
  if (shared.length) {
    throw new Error(`student '${student.name}' shares trainable weights with the teacher (${shared.map((w) => w.name).join(', ')}); clone the layers first`);
  }
}

/** Everything the loss needs per batch, built once per run. */
interface Engine {
  teacher: FrozenTeacher;
  runner: StudentRunner;
  projections: Projection[];
  cache?: TeacherCache;
  /** Teacher outputs for the validation set (evaluate batches carry indices too). */
  valCache?: TeacherCache;
  plan: Plan;
}

/** Hard, soft and total loss of one batch (no tidy: it runs inside the gradient tape or evaluate's tidy). */
function batchLosses(e: Engine, xs: tf.Tensor, ys: tf.Tensor, indices: Int32Array | undefined, training: boolean) {
  const { plan: p } = e;
  const student = e.runner.run(xs, training);
  const hard = softmaxCrossEntropy(ys, student.logits);
  // A clone, not `hard` itself: the loop disposes the loss and the logged parts separately.
  if (p.alpha === 1 && training) return { hard, soft: undefined, total: tf.clone(hard) as tf.Scalar, logits: student.logits };
  let teacherLogits: tf.Tensor;
  let teacherFeatures: tf.Tensor[];
  const cache = training ? e.cache : e.valCache;
  if (cache && indices) {
    teacherLogits = gatherRows(cache.logits, cache.logitShape, indices);
    teacherFeatures = cache.features.map((f, i) => gatherRows(f, cache.featureShapes[i]!, indices));
  } else {
    const t = e.teacher.run(xs, p.pairs.map((q) => q.teacher));
    teacherLogits = t.logits;
    teacherFeatures = t.features;
  }
  const inputs: LossInputs = {
    student: student.logits,
    teacher: teacherLogits,
    temperature: p.temperature,
    targets: ys,
    features: p.pairs.map((q, i) => ({
      student: e.projections[i]!.apply(student.features[i]!),
      teacher: teacherFeatures[i]!,
      weight: q.weight ?? 1,
    })),
  };
  let soft: tf.Tensor = tf.scalar(0);
  for (const { loss, weight } of p.losses) if (weight > 0) soft = tf.add(soft, tf.mul(loss.compute(inputs), weight));
  const total = tf.add(tf.mul(hard, p.alpha), tf.mul(soft, 1 - p.alpha)) as tf.Scalar;
  return { hard, soft: soft as tf.Scalar, total, logits: student.logits };
}

/**
 * Knowledge distillation (Hinton et al. 2015) on the shared training loop: the student learns
 * from ground-truth labels and from the frozen teacher's softened outputs (and optionally its
 * intermediate features):
 *
 *   loss = alpha * CE(labels, student) + (1 - alpha) * sum_i weight_i * soft_i
 *
 * (alpha weights the hard/student loss, keras.io convention). The teacher never trains: it
 * runs in inference mode, its variables are never handed to the optimizer, and its weight hash
 * is checked after training.
 *
 * @example
 * const teacher = await loadLayersModelFromFiles('out/teacher');
 * const student = buildZooModel('lenet300', { seed: 1 });
 * const r = await distill({ teacher, student, data: loadMnist({ limit: 10000 }), temperature: 4,
 *   alpha: 0.1, epochs: 3, validation: loadMnist({ split: 'test' }), cacheTeacher: true });
 * console.log(r.final?.accuracy);
 */
export async function distill(args: DistillArgs): Promise<DistillResult> {
  const p = plan(args);
  const teacher = freezeTeacher(args.teacher, { outputs: args.teacherOutputs });
  checkModels(teacher, args);
  const teacherHash = teacher.hash();
  const runner = new StudentRunner(args.student, p.pairs.map((q) => q.student));
  const batchSize = args.batchSize ?? 128;
  const needsTeacher = p.alpha < 1;

  let projections: Projection[] = [];
  let cache: TeacherCache | undefined;
  let valCache: TeacherCache | undefined;
  if (p.pairs.length) {
    const sample = args.data.xsOf([0]);
    try {
      projections = buildProjections(p.pairs, teacher, runner, sample, args.seed ?? 0);
    } finally {
      sample.dispose();
    }
  }
  const extraVariables = projections.flatMap((q) => q.variables);
  try {
    if (args.cacheTeacher && args.augment && needsTeacher) {
      throw new Error('distill: cacheTeacher cannot be used with augment: cached teacher outputs are for the un-augmented inputs; drop one of them');
    }
    if (args.cacheTeacher) {
      const dir = typeof args.cacheTeacher === 'string' ? args.cacheTeacher : '.cache';
      const opts = { dir, features: p.pairs.map((q) => q.teacher), batchSize, teacherHash };
      if (needsTeacher) cache = loadOrBuildTeacherCache(teacher, args.data, opts);
      // Validation always compares with the teacher, so its outputs are worth caching too.
      if (args.validation) valCache = loadOrBuildTeacherCache(teacher, args.validation, opts);
    }
    const engine: Engine = { teacher, runner, projections, cache, valCache, plan: p };

    const loss: LossFn = (_model, batch: Batch) => {
      const r = batchLosses(engine, batch.xs, batch.ys, batch.indices, true);
      const parts: Record<string, tf.Scalar> = { correct: countCorrect(batch.ys, r.logits), hard_loss: r.hard };
      if (r.soft) parts.distill_loss = r.soft;
      return { loss: r.total, parts };
    };
    const validationFn: ValidationFn = (_model, batch) => {
      const r = batchLosses(engine, batch.xs, batch.ys, batch.indices, false);
      return { hard_loss: r.hard, distill_loss: r.soft!, total_loss: r.total };
    };

    const result = await train(args.student, args.data, {
      epochs: args.epochs,
      batchSize,
      optimizer: args.optimizer,
      learningRate: args.learningRate,
      seed: args.seed,
      shuffle: args.shuffle,
      loss,
      extraVariables,
      validation: args.validation,
      validationFn: args.validation ? validationFn : undefined,
      callbacks: args.callbacks,
      progress: args.progress,
      label: args.label ?? 'distill',
      checkpointDir: args.checkpointDir,
      augment: args.augment,
    });

    const after = teacher.hash();
    if (after !== teacherHash) throw new Error(`teacher '${teacher.name}' weights changed during distillation (hash ${teacherHash.slice(0, 12)} -> ${after.slice(0, 12)})`);
    const last = result.history[result.history.length - 1];
    return {
      ...result,
      teacherHash,
      teacherUnchanged: true,
      cache: cache && { path: cache.path, hit: cache.hit, seconds: cache.seconds },
      validationCache: valCache && { path: valCache.path, hit: valCache.hit, seconds: valCache.seconds },
      epochSeconds: result.history.slice(result.resumedFromEpoch).map((h) => args.data.size / (h.samples_per_s ?? NaN)),
      final:
        last && last.val_accuracy !== undefined
          ? { accuracy: last.val_accuracy, hardLoss: last.val_hard_loss!, distillLoss: last.val_distill_loss }
          : undefined,
      settings: {
        temperature: p.temperature,
        alpha: p.alpha,
        losses: p.losses.map((l) => ({ name: l.loss.name, weight: l.weight })),
        features: p.pairs,
        teacherOutputs: teacher.outputsProbabilities ? 'probabilities' : 'logits',
      },
    };
  } finally {
    tf.dispose(extraVariables);
  }
}
