import type { SharedBuffers } from './shared.js';

/** A model as it travels to a worker: Keras-style topology JSON plus weights in `model.weights` order. */
export interface ModelTransfer {
  topology: string;
  weights: Float32Array[];
}

/** The first message a worker gets: everything that stays fixed for the run. */
export interface InitMessage {
  rank: number;
  shared: SharedBuffers;
  student: ModelTransfer;
  teacher?: ModelTransfer;
  /** Inputs and targets, shared (not copied) between workers. */
  x: SharedArrayBuffer;
  y: SharedArrayBuffer;
  xShape: number[];
  yShape: number[];
  size: number;
  batchSize: number;
  shuffle: boolean;
  seed: number;
  optimizer: string;
  learningRate: number;
  temperature: number;
  alpha: number;
  distillLoss: string;
}

/** Main -> worker commands after the init message. */
export type Command =
  | { cmd: 'epoch'; epoch: number; learningRate: number }
  | { cmd: 'getWeights' }
  | { cmd: 'setWeights'; weights: Float32Array[] }
  | { cmd: 'stop' };

/** Statistics of one epoch (global: reduced over workers), plus this worker's timing. */
export interface EpochStats {
  epoch: number;
  /** Sum over batches of batch-mean loss x batch size. */
  loss: number;
  correct: number;
  seen: number;
  steps: number;
  seconds: number;
  stopReason?: string;
  /** Milliseconds per phase (gradients, copy, all-reduce, optimizer) and this thread's on-CPU ms. */
  phases: Record<string, number>;
}

/** Worker -> main messages. */
export type WorkerMessage =
  | { type: 'ready'; rank: number }
  | ({ type: 'epoch'; rank: number } & EpochStats)
  | { type: 'weights'; rank: number; weights: Float32Array[] }
  | { type: 'ok'; rank: number }
  | { type: 'error'; rank: number; message: string };

/** Statistics appended to each worker's gradient row: loss share, correct count. */
export const STATS = 2;
