import type { StageKind } from './types.js';
import { trainStage } from './stages/train.js';
import { distillStage } from './stages/distill.js';
import { pruneStage } from './stages/prune.js';
import { quantizeStage } from './stages/quantize.js';
import { packStage } from './stages/pack.js';
import { exportStage } from './stages/export.js';
import { benchStage } from './stages/bench.js';

// `any`: the registry holds kinds with different config types; each validates its own.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const registry = new Map<string, StageKind<any>>();

/**
 * Add a stage kind (a recipe then accepts `- <name>: {...}` stages of it). Names are unique.
 *
 * @example
 * registerStageKind({ name: 'noop', describe: 'does nothing', schema: z.object({}), refs: () => ({}),
 *   run: async () => ({ outputs: [], metrics: {} }) });
 */
export function registerStageKind<C>(kind: StageKind<C>): void {
  if (registry.has(kind.name)) throw new Error(`stage kind '${kind.name}' is already registered`);
  registry.set(kind.name, kind as StageKind<any>);
}

/** The stage kind registered under `name`, or an Error listing the known kinds. */
export function getStageKind(name: string): StageKind<unknown> {
  const k = registry.get(name);
  if (!k) throw new Error(`unknown stage kind '${name}': expected one of ${stageKindNames().join(', ')}`);
  return k;
}

/** Registered stage kind names, in registration order (the usual pipeline order). */
export function stageKindNames(): string[] {
  return [...registry.keys()];
}

const BUILT_IN: StageKind<any>[] = [trainStage, distillStage, pruneStage, quantizeStage, packStage, exportStage, benchStage];
for (const k of BUILT_IN) registerStageKind(k);
