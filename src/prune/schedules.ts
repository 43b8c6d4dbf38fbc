/**
 * Pruning schedules with TF-MOT semantics (`tfmot.sparsity.keras.ConstantSparsity` and
 * `PolynomialDecay`): at a global optimizer step a schedule says whether masks are updated and
 * to which sparsity.
 */

/** What a schedule answers at one step. */
export interface ScheduleDecision {
  /** Update the masks at this step. */
  shouldPrune: boolean;
  /** Target sparsity (fraction of zeros) at this step. */
  sparsity: number;
}

/** A pruning schedule: a strategy object, serialisable through {@link scheduleFromConfig}. */
export interface PruningSchedule {
  /** Registry name, e.g. `PolynomialDecay`. */
  readonly name: string;
  /** Decision at global step `step` (optimizer steps done before this batch). */
  at(step: number): ScheduleDecision;
  /** The sparsity reached once the schedule is over. */
  readonly finalSparsity: number;
  /** Plain JSON config, `{name, ...params}`; `scheduleFromConfig(s.getConfig())` rebuilds it. */
  getConfig(): ScheduleConfig;
}

/** Serialised form of a schedule. */
export type ScheduleConfig = { name: string } & Record<string, unknown>;

function checkSparsity(value: number, field: string, schedule: string): void {
  // TF-MOT's _validate_sparsity: 0 <= s < 1 (a fully pruned weight is never useful).
  if (!(typeof value === 'number' && value >= 0 && value < 1)) {
    throw new Error(`${schedule}: ${field} must be in [0, 1), got ${value}`);
  }
}

function checkSteps(schedule: string, begin: number, end: number, frequency: number, allowMinusOne: boolean): void {
  if (!(Number.isInteger(begin) && begin >= 0)) throw new Error(`${schedule}: beginStep must be an integer >= 0, got ${begin}`);
  if (!(Number.isInteger(frequency) && frequency > 0)) throw new Error(`${schedule}: frequency must be an integer > 0, got ${frequency}`);
  if (allowMinusOne && end === -1) return;
  if (!Number.isInteger(end)) throw new Error(`${schedule}: endStep must be an integer, got ${end}`);
  if (end < begin) throw new Error(`${schedule}: endStep (${end}) must be >= beginStep (${begin})${allowMinusOne ? ' or -1 (never stop)' : ''}`);
}

/**
 * TF-MOT's `_should_prune_in_step`: prune when `step >= begin` and (`step <= end` or `end == -1`)
 * and `(step - begin) % frequency == 0`.
 */
export function shouldPruneInStep(step: number, beginStep: number, endStep: number, frequency: number): boolean {
  const inRange = step >= beginStep && (step <= endStep || endStep < 0);
  return inRange && (step - beginStep) % frequency === 0;
}

/** Options of {@link ConstantSparsity}. */
export interface ConstantSparsityArgs {
  targetSparsity: number;
  /** Default 0. */
  beginStep?: number;
  /** Default -1: keep pruning until training stops. */
  endStep?: number;
  /** Steps between mask updates (default 100, as TF-MOT). */
  frequency?: number;
}

/**
 * Constant target sparsity from `beginStep` on (TF-MOT `ConstantSparsity`).
 *
 * @example
 * const s = new ConstantSparsity({ targetSparsity: 0.5, beginStep: 0, frequency: 100 });
 * s.at(200); // { shouldPrune: true, sparsity: 0.5 }
 */
export class ConstantSparsity implements PruningSchedule {
  readonly name = 'ConstantSparsity';
  readonly targetSparsity: number;
  readonly beginStep: number;
  readonly endStep: number;
  readonly frequency: number;
  constructor(args: ConstantSparsityArgs) {
    this.targetSparsity = args.targetSparsity;
    this.beginStep = args.beginStep ?? 0;
    this.endStep = args.endStep ?? -1;
    this.frequency = args.frequency ?? 100;
    checkSparsity(this.targetSparsity, 'targetSparsity', this.name);
    checkSteps(this.name, this.beginStep, this.endStep, this.frequency, true);
  }
  get finalSparsity(): number {
    return this.targetSparsity;
  }
  at(step: number): ScheduleDecision {
    return { shouldPrune: shouldPruneInStep(step, this.beginStep, this.endStep, this.frequency), sparsity: this.targetSparsity };
  }
  getConfig(): ScheduleConfig {
    const { targetSparsity, beginStep, endStep, frequency } = this;
    return { name: this.name, targetSparsity, beginStep, endStep, frequency };
  }
}

/** Options of {@link PolynomialDecay}. */
export interface PolynomialDecayArgs {
  initialSparsity: number;
  finalSparsity: number;
  beginStep: number;
  endStep: number;
  /** Exponent of the decay (default 3, as TF-MOT). */
  power?: number;
  /** Steps between mask updates (default 100, as TF-MOT). */
  frequency?: number;
}

/**
 * Sparsity rising from `initialSparsity` to `finalSparsity` between `beginStep` and `endStep`
 * (TF-MOT `PolynomialDecay`):
 * `p = clamp((step - begin) / (end - begin), 0, 1)`,
 * `sparsity = (initial - final) * (1 - p)^power + final`.
 *
 * @example
 * const s = new PolynomialDecay({ initialSparsity: 0.5, finalSparsity: 0.8, beginStep: 0, endStep: 844 });
 */
export class PolynomialDecay implements PruningSchedule {
  readonly name = 'PolynomialDecay';
  readonly initialSparsity: number;
  readonly finalSparsity: number;
  readonly beginStep: number;
  readonly endStep: number;
  readonly power: number;
  readonly frequency: number;
  constructor(args: PolynomialDecayArgs) {
    this.initialSparsity = args.initialSparsity;
    this.finalSparsity = args.finalSparsity;
    this.beginStep = args.beginStep;
    this.endStep = args.endStep;
    this.power = args.power ?? 3;
    this.frequency = args.frequency ?? 100;
    checkSparsity(this.initialSparsity, 'initialSparsity', this.name);
    checkSparsity(this.finalSparsity, 'finalSparsity', this.name);
    checkSteps(this.name, this.beginStep, this.endStep, this.frequency, false);
    // TF-MOT divides by (end - begin); equal steps would divide by zero.
    if (this.endStep === this.beginStep) throw new Error(`${this.name}: endStep must be > beginStep (${this.beginStep})`);
    if (!(Number.isFinite(this.power) && this.power > 0)) throw new Error(`${this.name}: power must be > 0, got ${this.power}`);
  }
  /** Sparsity at `step` by TF-MOT's formula (whether or not masks update at this step). */
  sparsityAt(step: number): number {
    const p = Math.min(1, Math.max(0, (step - this.beginStep) / (this.endStep - this.beginStep)));
    return (this.initialSparsity - this.finalSparsity) * Math.pow(1 - p, this.power) + this.finalSparsity;
  }
  at(step: number): ScheduleDecision {
    return { shouldPrune: shouldPruneInStep(step, this.beginStep, this.endStep, this.frequency), sparsity: this.sparsityAt(step) };
  }
  getConfig(): ScheduleConfig {
    const { initialSparsity, finalSparsity, beginStep, endStep, power, frequency } = this;
    return { name: this.name, initialSparsity, finalSparsity, beginStep, endStep, power, frequency };
  }
}

type ScheduleFactory = (config: Record<string, unknown>) => PruningSchedule;

const registry = new Map<string, ScheduleFactory>([
  ['ConstantSparsity', (c) => new ConstantSparsity(c as unknown as ConstantSparsityArgs)],
  ['PolynomialDecay', (c) => new PolynomialDecay(c as unknown as PolynomialDecayArgs)],
]);

/** Add a schedule class to the registry used by {@link scheduleFromConfig}. */
export function registerSchedule(name: string, factory: ScheduleFactory): void {
  registry.set(name, factory);
}

/** Names of registered schedules. */
export function scheduleNames(): string[] {
  return [...registry.keys()];
}

/**
 * Rebuild a schedule from `getConfig()` output (or a hand-written `{name, ...}` object).
 *
 * @example
 * const s = scheduleFromConfig({ name: 'ConstantSparsity', targetSparsity: 0.8 });
 */
export function scheduleFromConfig(config: ScheduleConfig): PruningSchedule {
  if (typeof config !== 'object' || config === null || typeof config.name !== 'string') {
    throw new Error(`schedule config needs a string 'name' (one of ${scheduleNames().join(', ')})`);
  }
  const factory = registry.get(config.name);
  if (!factory) throw new Error(`unknown pruning schedule '${config.name}': expected one of ${scheduleNames().join(', ')}`);
  const { name: _name, ...rest } = config;
  return factory(rest);
}

/** Options of {@link scheduleForRun}. */
export interface ScheduleForRunArgs {
  /** Optimizer steps of the whole fine-tuning run. */
  totalSteps: number;
  /** PolynomialDecay start (default 0.5, as the TF-MOT tutorial). */
  initialSparsity?: number;
  /** Steps between mask updates (default: min(100, totalSteps / 10), at least 1). */
  frequency?: number;
}

/**
 * A schedule factory for a fine-tuning run of `totalSteps` (used by the CLI): `constant` prunes
 * to the target from step 0; `polynomial` ramps from `initialSparsity` and lands on the target at
 * the last pruning step inside the run (end step rounded down to a multiple of the frequency, so
 * the final sparsity is really reached).
 *
 * @example
 * const factory = scheduleForRun('polynomial', { totalSteps: 844 });
 * const s = factory(0.8);
 */
export function scheduleForRun(kind: 'constant' | 'polynomial', args: ScheduleForRunArgs): (target: number) => PruningSchedule {
  const total = Math.max(1, Math.floor(args.totalSteps));
  const frequency = args.frequency ?? Math.max(1, Math.min(100, Math.floor(total / 10)));
  if (kind === 'constant') return (target) => new ConstantSparsity({ targetSparsity: target, beginStep: 0, frequency });
  if (kind !== 'polynomial') throw new Error(`unknown schedule '${String(kind)}': expected constant or polynomial`);
  const endStep = Math.floor((total - 1) / frequency) * frequency;
  if (endStep <= 0) {
    throw new Error(`polynomial schedule: the run has ${total} step(s), too few for frequency ${frequency}; use more data/epochs, a smaller frequency or the constant schedule`);
  }
  return (target) => new PolynomialDecay({ initialSparsity: Math.min(args.initialSparsity ?? 0.5, target), finalSparsity: target, beginStep: 0, endStep, frequency });
}
