/**
 * Pruning: unstructured (level and gradual magnitude pruning with TF-MOT schedules, element /
 * block / N:M granularity), structured (filters, channels, units removed through a dependency
 * graph, then a physically smaller model) and per-layer sensitivity analysis.
 */
export {
  ConstantSparsity,
  PolynomialDecay,
  shouldPruneInStep,
  registerSchedule,
  scheduleNames,
  scheduleFromConfig,
  scheduleForRun,
} from './schedules.js';
export type { PruningSchedule, ScheduleDecision, ScheduleConfig, ConstantSparsityArgs, PolynomialDecayArgs, ScheduleForRunArgs } from './schedules.js';
export { registerPrunableLayer, prunableWeightsOf, prunableClasses, shortWeightName, findWeight } from './registry.js';
export type { PrunableWeight } from './registry.js';
export { parseConfigList, resolveTargets, selectLayers } from './config.js';
export type { ConfigEntry, ConfigEntryInput, Granularity, PruneTarget, LayerSelection } from './config.js';
export { computeMasks, applyMasks, disposeMasks, maskSparsity, nmMask, topKMask, keptCount, roundHalfEven } from './masks.js';
export type { Masks, Ranking } from './masks.js';
export { levelPrune } from './level.js';
export type { LevelPruneArgs, LevelPruneResult } from './level.js';
export { PruningCallback } from './callback.js';
export type { PruningCallbackArgs, ScheduleSpec } from './callback.js';
export { magnitudePrune } from './magnitude.js';
export type { MagnitudePruneArgs, MagnitudePruneResult } from './magnitude.js';
export { strip, sparsityReport, formatSparsityReport } from './strip.js';
export { sensitivityAnalysis, formatSensitivity, configFromSensitivity } from './sensitivity.js';
export type { SensitivityArgs, SensitivityRow, SensitivityResult, SensitivityConfigArgs } from './sensitivity.js';
export { buildDependencyGraph, keptIndices, PRODUCERS } from './structured/graph.js';
export type { ChannelGroup, Segment, ChannelLayout, LayerRole, LayerInfo, DependencyGraph } from './structured/graph.js';
export { getImportance, registerImportance, importanceNames, l1Importance, l2Importance, bnImportance } from './structured/importance.js';
export type { Importance } from './structured/importance.js';
export { planStructured } from './structured/plan.js';
export type { StructuredPlan, StructuredPlanArgs, GroupPlan } from './structured/plan.js';
export { speedup, structuredMasks, maskedReference } from './structured/speedup.js';
export { structuredPrune } from './structured/prune.js';
export type { StructuredPruneResult } from './structured/prune.js';
export { artifactBytes } from './size.js';
export type { ArtifactBytes } from './size.js';
