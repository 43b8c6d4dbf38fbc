import type { Augment } from '../data/augment.js';
import type * as tf from '@tensorflow/tfjs';
import type { TensorDataset } from '../data/dataset.js';
import type { Logs, TrainCallback, TrainResult } from '../train/types.js';
import type { FeaturePair } from './features.js';
import type { TeacherModel, TeacherOutputs } from './teacher.js';

/** A soft loss by name (see `distillLossNames()`), optionally weighted (default weight 1). */
export type LossSpec = string | { name: string; weight?: number };

/** Options of {@link distill}. */
export interface DistillArgs {
  /** Frozen teacher: layers model or graph model; only its output shape must match the student's. */
  teacher: TeacherModel;
  /**
   * Whether the teacher emits logits or probabilities (default `auto`: detected from its last
   * layer, or the op behind a graph's Identity output). Probabilities are turned into log-probs.
   */
  teacherOutputs?: TeacherOutputs;
  /** Student layers model; trained in place. */
  student: tf.LayersModel;
  /** Training data (one-hot targets). */
  data: TensorDataset;
  /** Softening temperature T > 0 (default 4). */
  temperature?: number;
  /**
   * Weight of the HARD (ground-truth label) loss, keras.io convention:
   * `loss = alpha * CE(labels, student) + (1 - alpha) * soft`. alpha = 1 is plain training,
   * alpha = 0 pure distillation. Default 0.1.
   */
  alpha?: number;
  /** Soft loss terms, summed with their weights (default `['logits']`). */
  losses?: LossSpec[];
  /** Layer pairs for the `feature` loss (added with weight 1 when not listed in `losses`). */
  features?: FeaturePair[];
  /** Epochs to train. */
  epochs: number;
  /** Samples per batch (default 128). */
  batchSize?: number;
  /** Optimizer name or instance (default 'adam'). */
  optimizer?: string | tf.Optimizer;
  /** Learning rate for a named optimizer (default 1e-3). */
  learningRate?: number;
  /** Seed of data order and projection init (default 0). */
  seed?: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Held-out data: logs `val_accuracy`, `val_hard_loss`, `val_distill_loss`, `val_total_loss`. */
  validation?: TensorDataset;
  /** Training-loop callbacks, passed through (e.g. a pruning callback re-applying masks). */
  callbacks?: TrainCallback[];
  /**
   * Compute teacher outputs once and reuse them every epoch (valid because the training data is
   * not augmented); validation outputs are cached too. `true` stores them under `.cache/`; a
   * string names the folder.
   */
  cacheTeacher?: boolean | string;
  /**
   * Training-time input augmentation (see `train`); student and teacher both see the augmented
   * batch. Not combinable with `cacheTeacher`.
   */
  augment?: Augment;
  /** Show a progress bar per epoch. */
  progress?: boolean;
  /** Label in front of the progress bar (default `distill`). */
  label?: string;
  /** Per-epoch checkpoints / resume folder (see `train`). */
  checkpointDir?: string;
}

/** What {@link distill} returns. */
export interface DistillResult extends TrainResult {
  /** sha256 of teacher architecture + weights, before and (verified equal) after training. */
  teacherHash: string;
  /** Always true on return: distill throws if the teacher's weights changed. */
  teacherUnchanged: boolean;
  /** Teacher output cache of the training data, if used. */
  cache?: { path: string; hit: boolean; seconds: number };
  /** Teacher output cache of the validation data, if used. */
  validationCache?: { path: string; hit: boolean; seconds: number };
  /** Training seconds of each epoch run (validation excluded). */
  epochSeconds: number[];
  /** Last epoch's validation figures, when validation data was given. */
  final?: { accuracy: number; hardLoss: number; distillLoss?: number };
  /** Effective settings. */
  settings: {
    temperature: number;
    alpha: number;
    losses: Array<{ name: string; weight: number }>;
    features: FeaturePair[];
    /** How the teacher's output was read (after `auto` detection). */
    teacherOutputs: 'logits' | 'probabilities';
  };
}

/** Options of {@link compareScratch}: distill args, plus callbacks for the scratch twin. */
export interface CompareScratchArgs extends DistillArgs {
  /** Callbacks of the scratch run (default: the same `callbacks`; give fresh ones if they hold state). */
  scratchCallbacks?: TrainCallback[];
}

/** Distilled student next to its scratch twin (same init, data order, epochs). */
export interface CompareScratchResult {
  distilled: DistillResult;
  scratch: DistillResult;
  /** The scratch-trained twin (the distilled student is `args.student`, trained in place). */
  scratchModel: tf.LayersModel;
  /** Per-epoch logs side by side. */
  curves: Array<{ epoch: number; distilled: Logs; scratch: Logs }>;
}
