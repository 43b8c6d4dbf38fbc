import * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { createHash } from 'node:crypto';
import { graphNodes, graphOutputsProbabilities } from '../model/graph-info.js';
import { adaptBatch, modelInputShape } from '../model/input-shape.js';
import { outputsProbabilities } from '../train/metrics.js';
import { oneLine } from '../util/errors.js';

/** A teacher: a tfjs layers model or a converted graph model (tensorflowjs_converter output). */
export type TeacherModel = tf.LayersModel | GraphModel;

/**
 * What the teacher's output is: `logits`, `probabilities` (softmax output; its log is used as
 * logits), or `auto` (default): detected from the last layer's activation, or for a graph from
 * the op behind its output (looking through Identity/IdentityN).
 */
export type TeacherOutputs = 'logits' | 'probabilities' | 'auto';

/** Every {@link TeacherOutputs} value, for CLI and recipe validation. */
export const TEACHER_OUTPUTS: readonly TeacherOutputs[] = ['logits', 'probabilities', 'auto'];

/** Options of {@link freezeTeacher}. */
export interface FreezeTeacherArgs {
  /** Override the detection of probability outputs (default `auto`). */
  outputs?: TeacherOutputs;
}

/** The frozen view of a teacher the distiller uses: inference-only forward passes. */
export interface FrozenTeacher {
  /** Display name. */
  readonly name: string;
  /** True when the teacher emits probabilities; {@link FrozenTeacher.run} then returns their log. */
  readonly outputsProbabilities: boolean;
  /** Names that can be used as feature layers (layer names, or graph node names). */
  featureNames(): string[];
  /**
   * Inference-mode forward pass: logits (log-probabilities for a softmax teacher) plus the
   * requested intermediate outputs. Caller disposes the tensors.
   */
  run(xs: tf.Tensor, features: readonly string[]): { logits: tf.Tensor; features: tf.Tensor[] };
  /** sha256 of the teacher's architecture and weight bytes (cache key; proves weights unchanged). */
  hash(): string;
  /** Every weight tensor of the teacher (to check none is trained). */
  weightTensors(): tf.Tensor[];
}

function isGraphModel(m: TeacherModel): m is GraphModel {
  return !(m instanceof tf.LayersModel) && typeof (m as GraphModel).execute === 'function';
}

/** Probabilities to logits-equivalent: log p (softmax(log p) = p, so KL and CE are unchanged). */
function logOf(p: tf.Tensor): tf.Tensor {
  return tf.log(tf.clipByValue(p, 1e-7, 1));
}

function hashTensors(h: ReturnType<typeof createHash>, tensors: Array<[string, tf.Tensor]>): void {
  for (const [name, t] of tensors) {
    h.update(`${name}:${t.dtype}:[${t.shape}]`);
    const data = t.dataSync();
    h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
}

/** Sub-model of a layers model emitting the named layers' outputs and then the final output. */
export function featureModel(model: tf.LayersModel, names: readonly string[], role: string): tf.LayersModel {
  const valid = model.layers.map((l) => l.name);
  const outputs = names.map((n) => {
    if (!valid.includes(n)) {
      throw new Error(`${role} model '${model.name}' has no layer '${n}': valid layer names are ${valid.join(', ')}`);
    }
    const out = model.getLayer(n).output;
    if (Array.isArray(out)) throw new Error(`${role} layer '${n}' has several outputs; pick a single-output layer`);
    return out;
  });
  return tf.model({ inputs: model.inputs, outputs: [...outputs, model.outputs[0]!] });
}

function resolveProbs(outputs: TeacherOutputs | undefined, detected: () => boolean): boolean {
  if (outputs === undefined || outputs === 'auto') return detected();
  if (outputs !== 'logits' && outputs !== 'probabilities') {
    throw new Error(`teacher outputs must be one of ${TEACHER_OUTPUTS.join(', ')}, got '${String(outputs)}'`);
  }
  return outputs === 'probabilities';
}

function layersTeacher(model: tf.LayersModel, outputs?: TeacherOutputs): FrozenTeacher {
  const probs = resolveProbs(outputs, () => outputsProbabilities(model));
  const inShape = modelInputShape(model);
  const subModels = new Map<string, tf.LayersModel>();
  return {
    name: model.name,
    outputsProbabilities: probs,
    featureNames: () => model.layers.map((l) => l.name),
    run(xs, features) {
      return tf.tidy(() => {
        const x = adaptBatch(xs, inShape, `teacher '${model.name}'`);
        let outs: tf.Tensor[];
        if (features.length === 0) {
          outs = [model.apply(x, { training: false }) as tf.Tensor];
        } else {
          const key = features.join('\u0000');
          let sub = subModels.get(key);
          if (!sub) subModels.set(key, (sub = featureModel(model, features, 'teacher')));
          outs = sub.apply(x, { training: false }) as tf.Tensor[];
        }
        const last = outs[outs.length - 1]!;
        return { logits: probs ? logOf(last) : last, features: outs.slice(0, -1) };
      });
    },
    hash() {
      const h = createHash('sha256');
      // The output reading is part of the key: cached logits differ with it.
      h.update(probs ? 'probabilities:' : 'logits:');
      h.update(JSON.stringify(model.toJSON(null, false)));
      hashTensors(h, model.weights.map((w) => [w.originalName, w.read()]));
      return h.digest('hex');
    },
    weightTensors: () => model.weights.map((w) => w.read()),
  };
}

function graphTeacher(model: GraphModel, outputs?: TeacherOutputs): FrozenTeacher {
  const nodes = graphNodes(model);
  const outputName = model.outputNodes[0]!;
  const probs = resolveProbs(outputs, () => graphOutputsProbabilities(model, outputName));
  const inShape = modelInputShape(model);
  return {
    name: 'graph-model',
    outputsProbabilities: probs,
    featureNames: () => nodes.map((n) => n.name),
    run(xs, features) {
      const names = nodes.map((n) => n.name);
      for (const f of features) {
        if (!names.includes(f)) throw new Error(oneLine(`teacher graph model has no node '${f}': valid node names are ${names.join(', ')}`, 600));
      }
      return tf.tidy(() => {
        const outs = model.execute(adaptBatch(xs, inShape, 'teacher graph model'), [...features, outputName]);
        const list = Array.isArray(outs) ? outs : [outs];
        const last = list[list.length - 1]!;
        return { logits: probs ? logOf(last) : last, features: list.slice(0, -1) };
      });
    },
    hash() {
      const h = createHash('sha256');
      h.update(probs ? 'probabilities:' : 'logits:');
      h.update(JSON.stringify(nodes.map((n) => [n.name, n.op])));
      const w = model.weights;
      hashTensors(h, Object.keys(w).sort().flatMap((k) => w[k]!.map((t, i): [string, tf.Tensor] => [`${k}/${i}`, t])));
      return h.digest('hex');
    },
    weightTensors: () => Object.values(model.weights).flat(),
  };
}

/**
 * Wrap a teacher for distillation. The teacher is never trained: its weights are not handed to
 * the optimizer, it always runs with `training: false` (dropout off, batch-norm moving stats),
 * and {@link FrozenTeacher.hash} lets callers prove the weights did not change.
 */
export function freezeTeacher(teacher: TeacherModel, args: FreezeTeacherArgs = {}): FrozenTeacher {
  return isGraphModel(teacher) ? graphTeacher(teacher, args.outputs) : layersTeacher(teacher, args.outputs);
}

/** Top-1 accuracy of a (frozen) teacher on a dataset, in inference mode (per pixel for dense outputs). */
export function teacherAccuracy(teacher: FrozenTeacher, data: import('../data/dataset.js').TensorDataset, batchSize = 256): number {
  let correct = 0;
  for (const batch of data.batches({ batchSize })) {
    const out = teacher.run(batch.xs, []);
    correct += tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(out.logits, -1), tf.argMax(batch.ys, -1)), 'float32')).dataSync()[0]!);
    tf.dispose([out.logits, batch.xs, batch.ys]);
  }
  const perSample = data.yShape.slice(0, -1).reduce((a, b) => a * b, 1);
  return correct / (data.size * perSample);
}
