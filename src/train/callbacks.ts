import * as tf from '@tensorflow/tfjs';
import { getLearningRate, setLearningRate } from './optimizers.js';
import type { CallbackState, Logs, TrainCallback, TrainContext } from './types.js';

/** Options shared by monitor-based callbacks. */
export interface MonitorArgs {
  /** Log to watch (default `val_loss`; falls back to `loss` when there is no validation). */
  monitor?: string;
  /** `min` for losses, `max` for accuracies (default: `max` when the name contains 'acc'). */
  mode?: 'min' | 'max';
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Epochs without improvement to wait (default 2). */
  patience?: number;
}

class Monitor {
  readonly monitor: string;
  readonly mode: 'min' | 'max';
  readonly minDelta: number;
  readonly patience: number;
  best = NaN;
  wait = 0;

  constructor(args: MonitorArgs) {
    this.monitor = args.monitor ?? 'val_loss';
    this.mode = args.mode ?? (this.monitor.includes('acc') ? 'max' : 'min');
    this.minDelta = args.minDelta ?? 0;
    this.patience = args.patience ?? 2;
  }

  value(logs: Logs): number | undefined {
    return logs[this.monitor] ?? (this.monitor.startsWith('val_') ? logs[this.monitor.slice(4)] : undefined);
  }

  /** True when `logs` improve on the best seen so far (and records it). */
  improved(logs: Logs): boolean {
    const v = this.value(logs);
    if (v === undefined) throw new Error(`callback monitors '${this.monitor}' but the logs only have: ${Object.keys(logs).join(', ')}`);
    const better = Number.isNaN(this.best) || (this.mode === 'min' ? v < this.best - this.minDelta : v > this.best + this.minDelta);
    if (better) {
      this.best = v;
      this.wait = 0;
    } else {
      this.wait++;
    }
    return better;
  }

  /** Counters as JSON (NaN, "nothing seen yet", as null). */
  save(): { best: number | null; wait: number } {
    return { best: Number.isNaN(this.best) ? null : this.best, wait: this.wait };
  }

  load(s: { best: number | null; wait: number }): void {
    this.best = s.best ?? NaN;
    this.wait = s.wait;
  }
}

/**
 * Stop when the monitored figure stops improving; optionally restore the best epoch's weights.
 * @example new EarlyStopping({ monitor: 'val_accuracy', patience: 3, restoreBestWeights: true })
 */
export class EarlyStopping implements TrainCallback {
  private readonly m: Monitor;
  private best?: tf.Tensor[];
  /** Epoch (0-based) whose weights were best. */
  bestEpoch = -1;

  constructor(private readonly args: MonitorArgs & { restoreBestWeights?: boolean } = {}) {
    this.m = new Monitor(args);
  }

  onEpochEnd(epoch: number, logs: Logs, ctx: TrainContext): void {
    if (this.m.improved(logs)) {
      this.bestEpoch = epoch;
      if (this.args.restoreBestWeights) {
        tf.dispose(this.best ?? []);
        this.best = ctx.model.weights.map((w) => tf.keep(w.read().clone()));
      }
    } else if (this.m.wait >= this.m.patience) {
      ctx.stopTraining = true;
      ctx.stopReason = `early stopping: ${this.m.monitor} did not improve for ${this.m.wait} epochs (best ${this.m.best.toFixed(4)} at epoch ${this.bestEpoch + 1})`;
    }
  }

  /** Counters, best epoch and (with restoreBestWeights) the best weights, for checkpoints. */
  getState(): CallbackState {
    const tensors: Record<string, tf.Tensor> = {};
    (this.best ?? []).forEach((t, i) => (tensors[`best/${i}`] = t));
    return { json: { ...this.m.save(), bestEpoch: this.bestEpoch }, tensors };
  }

  setState(state: CallbackState): void {
    const j = state.json as { best: number | null; wait: number; bestEpoch: number };
    this.m.load(j);
    this.bestEpoch = j.bestEpoch;
    tf.dispose(this.best ?? []);
    const saved = Object.entries(state.tensors ?? {}).sort(([a], [b]) => Number(a.slice(5)) - Number(b.slice(5)));
    this.best = saved.length ? saved.map(([, t]) => tf.keep(t)) : undefined;
  }

  onTrainEnd(ctx: TrainContext): void {
    if (this.best) {
      if (this.args.restoreBestWeights && this.bestEpoch >= 0) ctx.model.weights.forEach((w, i) => w.write(this.best![i]!));
      tf.dispose(this.best);
      this.best = undefined;
    }
  }
}

/**
 * Multiply the learning rate by `factor` when the monitored figure plateaus.
 * @example new ReduceLROnPlateau({ factor: 0.5, patience: 1, minLr: 1e-5 })
 */
export class ReduceLROnPlateau implements TrainCallback {
  private readonly m: Monitor;
  private readonly factor: number;
  private readonly minLr: number;

  constructor(args: MonitorArgs & { factor?: number; minLr?: number } = {}) {
    this.m = new Monitor({ patience: 1, ...args });
    this.factor = args.factor ?? 0.5;
    this.minLr = args.minLr ?? 0;
    if (!(this.factor > 0 && this.factor < 1)) throw new Error(`ReduceLROnPlateau: factor must be in (0, 1), got ${this.factor}`);
  }

  /** Plateau counters, for checkpoints (the learning rate itself is saved with the optimizer). */
  getState(): CallbackState {
    return { json: this.m.save() };
  }

  setState(state: CallbackState): void {
    this.m.load(state.json as { best: number | null; wait: number });
  }

  onEpochEnd(_epoch: number, logs: Logs, ctx: TrainContext): void {
    if (!this.m.improved(logs) && this.m.wait >= this.m.patience) {
      const lr = getLearningRate(ctx.optimizer);
      setLearningRate(ctx.optimizer, Math.max(lr * this.factor, this.minLr));
      this.m.wait = 0;
    }
  }
}

/**
 * Keras' LearningRateScheduler: before each epoch sets the learning rate to
 * `schedule(epoch, currentLr)` (epoch 0-based, so a resumed run gets the same rate it would
 * have had). Use {@link exponentialDecay} for the common case.
 * @example new LearningRateScheduler((epoch) => 1e-3 * 0.7 ** epoch)
 */
export class LearningRateScheduler implements TrainCallback {
  constructor(private readonly schedule: (epoch: number, lr: number) => number) {}
  onEpochBegin(epoch: number, ctx: TrainContext): void {
    const lr = this.schedule(epoch, getLearningRate(ctx.optimizer));
    if (!(Number.isFinite(lr) && lr > 0)) throw new Error(`LearningRateScheduler: schedule(${epoch}) returned ${lr}, expected a positive number`);
    setLearningRate(ctx.optimizer, lr);
  }
}

/** Per-epoch exponential decay `initial * rate^epoch`, for {@link LearningRateScheduler}. */
export function exponentialDecay(initial: number, rate: number): (epoch: number) => number {
  return (epoch) => initial * rate ** epoch;
}

/** Calls `fn` after every epoch: the simplest way to observe training from the API. */
export class LambdaCallback implements TrainCallback {
  constructor(private readonly fn: (epoch: number, logs: Logs) => void) {}
  onEpochEnd(epoch: number, logs: Logs): void {
    this.fn(epoch, logs);
  }
}
