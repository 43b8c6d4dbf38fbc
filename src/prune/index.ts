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
export { parseConfigList, resolveTargets, selectLayers, selectItems } from './config.js';
export type { ConfigEntry, ConfigEntryInput, Granularity, PruneTarget, LayerSelection, Selectable, Selection } from './config.js';
export { computeMasks, computeValueMasks, applyMasks, layerOfKey, disposeMasks, maskSparsity, nmMask, topKMask, keptCount, roundHalfEven } from './masks.js';
export type { Masks, Ranking, MaskTarget } from './masks.js';
export { levelPrune } from './level.js';
export { levelPruneGraph, formatGraphPruning, artifactNodes } from './graph-level.js';
export type { GraphLevelPruneArgs, GraphLevelPruneResult, GraphPrunedTensor } from './graph-level.js';
export { graphSensitivity } from './graph-sensitivity.js';
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
export { planStructured, disposePlan } from './structured/plan.js';
export { flattenNested, hasNestedModels } from './structured/flatten.js';
export type { FlatModel } from './structured/flatten.js';
export { freezeBatchNorm, hasBatchNorm } from './batchnorm.js';
export type { StructuredPlan, StructuredPlanArgs, GroupPlan } from './structured/plan.js';
export { speedup, structuredMasks, maskedReference } from './structured/speedup.js';
export { structuredPrune } from './structured/prune.js';
export type { StructuredPruneResult } from './structured/prune.js';
export { artifactBytes } from './size.js';
export type { ArtifactBytes } from './size.js';
