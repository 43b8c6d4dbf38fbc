import * as tf from '@tensorflow/tfjs';
import { getLearningRate, setLearningRate } from './optimizers.js';

/**
 * Where each built-in tfjs optimizer keeps its state. tfjs' own getWeights/setWeights do not
 * round-trip it exactly: Adam's setWeights recomputes beta1^t as `pow(beta1, t + 1)`, which differs
 * in the last bits from the running product the optimizer keeps (that alone made resumed runs
 * drift by ~1e-7 from uninterrupted ones), and Adamax has no getWeights at all. So the slot
 * variables and the internal scalars are saved and restored field by field.
 */
const LAYOUT: Record<string, { slots: string[]; scalars: string[] }> = {
  Adam: { slots: ['accumulatedFirstMoment', 'accumulatedSecondMoment'], scalars: ['accBeta1', 'accBeta2'] },
  Adamax: { slots: ['accumulatedFirstMoment', 'accumulatedWeightedInfNorm'], scalars: ['accBeta1', 'iteration'] },
  RMSProp: { slots: ['accumulatedMeanSquares', 'accumulatedMoments', 'accumulatedMeanGrads'], scalars: [] },
  Momentum: { slots: ['accumulations'], scalars: [] },
  Adagrad: { slots: ['accumulatedGrads'], scalars: [] },
  Adadelta: { slots: ['accumulatedGrads', 'accumulatedUpdates'], scalars: [] },
  SGD: { slots: [], scalars: [] },
};

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

/** The JSON half of an optimizer's saved state (tensors go to the checkpoint's binary file). */
export interface OptimizerState {
  className: string;
  /** Steps applied (tfjs' `iterations`). */
  iterations: number;
  learningRate: number;
  /** Per slot field, the original name of each entry (null where tfjs left a hole). */
  slots: Record<string, Array<string | null>>;
  /** Scalar fields saved as tensors. */
  scalars: string[];
  /** True for an optimizer of unknown layout, saved through tfjs' getWeights (not bit-exact for Adam-like ones). */
  viaGetWeights?: boolean;
}

type Internals = Record<string, unknown> & { iterations_?: number };

/**
 * Capture an optimizer's state: JSON plus the tensors to store (live variables; read them before
 * training continues). `dispose` frees the temporaries made for the capture.
 */
export async function captureOptimizer(opt: tf.Optimizer): Promise<{ state: OptimizerState; tensors: Array<{ name: string; tensor: tf.Tensor }>; dispose: () => void }> {
  const className = opt.getClassName();
  const o = opt as unknown as Internals;
  const layout = LAYOUT[className];
  const base = { className, iterations: o.iterations_ ?? 0, learningRate: getLearningRate(opt) };
  if (!layout) {
    const w = await opt.getWeights();
    const made = w.filter((x) => x.name === 'iter').map((x) => x.tensor);
    return { state: { ...base, slots: {}, scalars: [], viaGetWeights: true }, tensors: w, dispose: () => tf.dispose(made) };
  }
  const tensors: Array<{ name: string; tensor: tf.Tensor }> = [];
  const slots: Record<string, Array<string | null>> = {};
  for (const field of layout.slots) {
    const arr = (o[field] as Array<Slot | undefined> | undefined) ?? [];
    slots[field] = Array.from({ length: arr.length }, (_, i) => arr[i]?.originalName ?? null);
    arr.forEach((s, i) => s && tensors.push({ name: `${field}/${i}`, tensor: s.variable }));
  }
  for (const field of layout.scalars) tensors.push({ name: field, tensor: o[field] as tf.Variable });
  return { state: { ...base, slots, scalars: layout.scalars }, tensors, dispose: () => {} };
}

/**
 * Put a captured state back into a fresh optimizer of the same class. Takes ownership of
 * `tensors` (they become the optimizer's variables or are freed).
 */
export async function restoreOptimizer(opt: tf.Optimizer, state: OptimizerState, tensors: tf.NamedTensorMap, where: string): Promise<void> {
  try {
    const className = opt.getClassName();
    if (className !== state.className) throw new Error(`${where}: checkpoint was made with optimizer ${state.className}, this run uses ${className}`);
    await restoreInto(opt as unknown as Internals, opt, state, tensors, where);
  } finally {
    // Whatever was not taken over (e.g. after an error) is freed.
    tf.dispose(Object.values(tensors).filter((t) => !t.isDisposed));
  }
}

async function restoreInto(o: Internals, opt: tf.Optimizer, state: OptimizerState, tensors: tf.NamedTensorMap, where: string): Promise<void> {
  if (state.viaGetWeights) {
    await opt.setWeights(Object.entries(tensors).map(([name, tensor]) => ({ name, tensor })));
  } else {
    const take = (name: string) => {
      const t = tensors[name];
      if (!t) throw new Error(`${where}: optimizer state '${name}' is missing`);
      return t;
    };
    for (const [field, names] of Object.entries(state.slots)) {
      tf.dispose(((o[field] as Array<Slot | undefined> | undefined) ?? []).flatMap((s) => (s ? [s.variable] : [])));
      const arr: Array<Slot | undefined> = [];
      names.forEach((originalName, i) => {
        if (originalName === null) return;
        const t = take(`${field}/${i}`);
        // variable() shares the decoded data; the decoded handle can then go.
        arr[i] = { originalName, variable: t.variable(false) };
        t.dispose();
      });
      o[field] = arr;
    }
    for (const field of state.scalars) {
      const t = take(field);
      (o[field] as tf.Variable).assign(t);
      t.dispose();
    }
  }
  o.iterations_ = state.iterations;
  setLearningRate(opt, state.learningRate);
}
