import type * as tf from '@tensorflow/tfjs';
import type { Augment } from '../data/augment.js';
import type { Batch, TensorDataset } from '../data/dataset.js';

/** Numbers logged after a batch or an epoch, e.g. `{loss, accuracy, val_loss, val_accuracy}`. */
export type Logs = Record<string, number>;

/**
 * Loss of one training batch. Called inside the gradient tape: build the returned scalar from
 * `model.apply(batch.xs, {training: true})` (and anything else, e.g. a frozen teacher).
 * Return extra named scalars in `parts` to log them (they are not differentiated).
 */
export type LossFn = (model: tf.LayersModel, batch: Batch) => tf.Scalar | { loss: tf.Scalar; parts?: Record<string, tf.Scalar> };

/** Extra validation figures computed per batch and averaged over the validation set. */
export type ValidationFn = (model: tf.LayersModel, batch: Batch, outputs: tf.Tensor) => Record<string, tf.Scalar>;

/** State shared with callbacks while training. */
export interface TrainContext {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  /** Global step count (optimizer steps done so far, across epochs and resumes). */
  step: number;
  /** Epoch being run (0-based). */
  epoch: number;
  /** Steps per epoch at the current batch size. */
  stepsPerEpoch: number;
  /** Total epochs requested. */
  epochs: number;
  /** Set to true to stop after the current batch. */
  stopTraining: boolean;
  /** Why training stopped early, when it did. */
  stopReason?: string;
  /** Per-epoch logs so far. */
  history: Logs[];
}

/**
 * What a callback carries across a checkpoint: plain JSON and named tensors. `getState` lends
 * its tensors (they are only read); `setState` receives tensors it then owns.
 */
export interface CallbackState {
  json?: unknown;
  tensors?: Record<string, tf.Tensor>;
}

/**
 * Hooks into the training loop, in Keras style. All are optional and may be async.
 * `onBatchEnd` runs right after the optimizer step (pruning re-applies masks there).
 * A callback whose state matters after a resume (pruning masks, early-stopping counters)
 * implements `getState`/`setState`; the checkpoint stores it and restores it before `onTrainBegin`.
 */
export interface TrainCallback {
  getState?(ctx: TrainContext): CallbackState | Promise<CallbackState>;
  setState?(state: CallbackState, ctx: TrainContext): void | Promise<void>;
  onTrainBegin?(ctx: TrainContext): void | Promise<void>;
  onEpochBegin?(epoch: number, ctx: TrainContext): void | Promise<void>;
  onBatchBegin?(step: number, ctx: TrainContext): void | Promise<void>;
  onBatchEnd?(step: number, logs: Logs, ctx: TrainContext): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: Logs, ctx: TrainContext): void | Promise<void>;
  onTrainEnd?(ctx: TrainContext): void | Promise<void>;
}

/** Options of {@link train}. */
export interface TrainArgs {
  /** Number of epochs to run (in total, including epochs restored from a checkpoint). */
  epochs: number;
  /** Samples per batch (default 128). */
  batchSize?: number;
  /** Optimizer name (default 'adam') or instance. */
  optimizer?: string | tf.Optimizer;
  /** Learning rate when the optimizer is given by name (default 1e-3). */
  learningRate?: number;
  /** Seed of the per-epoch shuffle (default 0). Same seed, same data order. */
  seed?: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Loss of one batch; default: cross-entropy of the model's output against `batch.ys`. */
  loss?: LossFn;
  /** Extra trainable variables (e.g. projection layers of feature distillation). */
  extraVariables?: tf.Variable[];
  /** Held-out data evaluated after each epoch (`val_loss`, `val_accuracy`, ...). */
  validation?: TensorDataset;
  /** Extra per-batch validation figures, averaged and logged as `val_<name>`. */
  validationFn?: ValidationFn;
  /** Keras-style callbacks, run in order. */
  callbacks?: TrainCallback[];
  /** Show a progress bar (default false; the CLI turns it on). */
  progress?: boolean;
  /** Label printed in front of the progress bar. */
  label?: string;
  /** Folder for per-epoch checkpoints; when it holds a matching checkpoint, training resumes from it. */
  checkpointDir?: string;
  /** Track the top-k accuracy too (e.g. 5 logs `top5`). */
  topK?: number;
  /** Training-time input augmentation (e.g. {@link randomShift}); validation data is not augmented. */
  augment?: Augment;
}

/** What {@link train} returns. */
export interface TrainResult {
  /** One entry per epoch run (restored epochs included). */
  history: Logs[];
  /** Optimizer steps in total. */
  steps: number;
  /** Why training ended early, if it did (early stopping, NaN loss...). */
  stopReason?: string;
  /** Training samples per second over the epochs run in this call. */
  samplesPerSecond: number;
  /** Epoch training restarted from when a checkpoint was found (0 otherwise). */
  resumedFromEpoch: number;
}
