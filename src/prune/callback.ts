import * as tf from '@tensorflow/tfjs';
import type { CallbackState, Logs, TrainCallback, TrainContext } from '../train/types.js';
import { resolveTargets } from './config.js';
import type { ConfigEntryInput, PruneTarget } from './config.js';
import { applyMasks, computeMasks, disposeMasks } from './masks.js';
import type { Masks, Ranking } from './masks.js';
import { scheduleFromConfig } from './schedules.js';
import type { PruningSchedule } from './schedules.js';

/** A schedule, or a function building one from an entry's target `sparsity`. */
export type ScheduleSpec = PruningSchedule | ((targetSparsity: number) => PruningSchedule);

/** Options of {@link PruningCallback}. */
export interface PruningCallbackArgs {
  /** NNI-style config list resolved against the model being trained. */
  configList: ConfigEntryInput[];
  /**
   * Schedule of entries that have no `schedule` of their own: one schedule for all, or a
   * factory given each entry's `sparsity` (e.g. `(s) => new PolynomialDecay({..., finalSparsity: s})`).
   */
  schedule?: ScheduleSpec;
  /** Layer-wise (default) or global ranking among targets updated at the same step. */
  ranking?: Ranking;
}

/**
 * Magnitude pruning as a training callback (TF-MOT `prune_low_magnitude` + `UpdatePruningStep`):
 * before a batch at a pruning step of its schedule, a target's mask is recomputed from its
 * current weights; after every optimizer step the masks are re-applied, so pruned weights stay
 * exactly zero and every forward pass sees masked weights. Pass it in `train(..., {callbacks})`
 * or `distill(..., {callbacks})`.
 *
 * @example
 * const cb = new PruningCallback(model, {
 *   configList: [{ opTypes: ['Conv2D', 'Dense'], sparsity: 0.8 }],
 *   schedule: (s) => new PolynomialDecay({ initialSparsity: 0.5, finalSparsity: s, beginStep: 0, endStep: 844 }),
 * });
 * await train(model, data, { epochs: 2, callbacks: [cb] });
 * const masks = cb.masks;
 */
export class PruningCallback implements TrainCallback {
  readonly targets: PruneTarget[];
  private readonly schedules: PruningSchedule[];
  private readonly ranking: Ranking;
  private current: Masks = {};
  /** Sparsity each target was last pruned to (`layer/weight` -> sparsity). */
  readonly lastSparsity: Record<string, number> = {};

  constructor(readonly model: tf.LayersModel, args: PruningCallbackArgs) {
    this.targets = resolveTargets(model, args.configList);
    this.ranking = args.ranking ?? 'layer';
    this.schedules = this.targets.map((t) => {
      if (t.schedule) return scheduleFromConfig(t.schedule);
      if (!args.schedule) throw new Error(`layer '${t.path}': no schedule (give 'schedule' in the config entry or in the callback args)`);
      if (typeof args.schedule !== 'function') return args.schedule;
      if (t.sparsity === undefined && t.granularity.type !== 'nm') throw new Error(`layer '${t.path}': the schedule factory needs the entry's 'sparsity'`);
      return args.schedule(t.sparsity ?? 0);
    });
  }

  /** Current masks (owned by the callback until {@link PruningCallback.takeMasks}). */
  get masks(): Masks {
    return this.current;
  }

  /** Hand the masks to the caller (who disposes them) and forget them. */
  takeMasks(): Masks {
    const m = this.current;
    this.current = {};
    return m;
  }

  /** Update the masks due at `step` and apply all masks; public so a custom loop can call it. */
  updateMasks(step: number): void {
    const due: PruneTarget[] = [];
    const sparsity = new Map<PruneTarget, number>();
    this.targets.forEach((t, i) => {
      const d = this.schedules[i]!.at(step);
      if (d.shouldPrune) {
        due.push(t);
        sparsity.set(t, d.sparsity);
      }
    });
    if (due.length === 0) return;
    const fresh = computeMasks(due, (t) => sparsity.get(t)!, this.ranking);
    for (const [layer, ws] of Object.entries(fresh)) {
      for (const [w, m] of Object.entries(ws)) {
        this.current[layer]?.[w]?.dispose();
        (this.current[layer] ??= {})[w] = m;
      }
    }
    for (const t of due) {
      this.lastSparsity[`${t.path}/${t.weight}`] = t.granularity.type === 'nm' ? 1 - t.granularity.n / t.granularity.m : sparsity.get(t)!;
    }
    applyMasks(this.model, this.current);
  }

  /**
   * Masks and last sparsities, for checkpoints: a resumed run continues with exactly these masks
   * (not masks guessed from which weights happen to be zero). Schedules are pure functions of the
   * step, which the checkpoint restores.
   */
  getState(): CallbackState {
    const keys: Array<[string, string]> = [];
    const tensors: Record<string, tf.Tensor> = {};
    for (const [layer, ws] of Object.entries(this.current)) {
      for (const [w, m] of Object.entries(ws)) {
        tensors[`mask${keys.length}`] = m;
        keys.push([layer, w]);
      }
    }
    return { json: { masks: keys, lastSparsity: this.lastSparsity }, tensors };
  }

  setState(state: CallbackState): void {
    const j = state.json as { masks: Array<[string, string]>; lastSparsity: Record<string, number> };
    disposeMasks(this.current);
    this.current = {};
    j.masks.forEach(([layer, w], i) => {
      const m = state.tensors?.[`mask${i}`];
      if (!m) throw new Error(`pruning checkpoint: mask of '${layer}/${w}' is missing`);
      (this.current[layer] ??= {})[w] = m;
    });
    for (const k of Object.keys(this.lastSparsity)) delete this.lastSparsity[k];
    Object.assign(this.lastSparsity, j.lastSparsity);
    applyMasks(this.model, this.current);
  }

  onBatchBegin(step: number, ctx: TrainContext): void {
    if (ctx.model !== this.model) throw new Error(`PruningCallback was built for model '${this.model.name}' but is training '${ctx.model.name}'`);
    this.updateMasks(step);
  }

  onBatchEnd(_step: number, _logs: Logs, _ctx: TrainContext): void {
    // The optimizer (and Adam's momentum) may have moved pruned weights: zero them again.
    applyMasks(this.model, this.current);
  }

  /** Dispose the masks still held. */
  dispose(): void {
    disposeMasks(this.current);
    this.current = {};
  }
}

