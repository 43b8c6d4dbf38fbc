/**
 * Knowledge distillation: train a small student from a frozen teacher's softened outputs
 * (and optionally intermediate features) on the shared training loop. See docs/distillation.md.
 */
export { distill } from './distill.js';
export { compareScratch, formatComparison } from './compare.js';
export {
  registerDistillLoss,
  getDistillLoss,
  distillLossNames,
  klDivergenceLoss,
  softCrossEntropyLoss,
  logitMseLoss,
  featureMseLoss,
} from './losses.js';
export type { DistillLoss, LossInputs } from './losses.js';
export { freezeTeacher, featureModel, teacherAccuracy, TEACHER_OUTPUTS } from './teacher.js';
export type { TeacherModel, FrozenTeacher, FreezeTeacherArgs, TeacherOutputs } from './teacher.js';
export { parseFeaturePair, makeProjection, StudentRunner } from './features.js';
export type { FeaturePair, Projection } from './features.js';
export { loadOrBuildTeacherCache, hashDataset, teacherCachePath, gatherRows, MAX_CACHE_BYTES } from './cache.js';
export type { TeacherCache } from './cache.js';
export type { DistillArgs, DistillResult, LossSpec, CompareScratchArgs, CompareScratchResult } from './types.js';
