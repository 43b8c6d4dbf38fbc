/**
 * Recipes: one YAML/JSON file describing a whole compression job (train, distill, prune,
 * quantize, pack, export, bench), run stage by stage with skip-if-unchanged and resume.
 * See docs/recipes.md.
 */
export { parseRecipe, loadRecipeFile } from './parse.js';
export type { Recipe, RecipeStage } from './parse.js';
export { runRecipe, resolveBudget, stagePlan } from './runner.js';
export type { RunRecipeArgs, RunRecipeResult, StageRun } from './runner.js';
export { registerStageKind, getStageKind, stageKindNames } from './registry.js';
export { formatRunSummary, reportHtmlPath } from './summary.js';
export { demoRecipe, DEMO_SETTINGS } from './demo.js';
export { buildArch, archNames, localArchNames, isArchName } from './archs.js';
export type { ArchArgs } from './archs.js';
export { loadRecipeData, budgetedData, dataHash, imageFolderDir } from './data.js';
export { DATA_KINDS, BUDGET_NAMES, DEFAULT_BUDGETS } from './schema.js';
export type { DataConfig, Budget, BudgetName, RecipeHead } from './schema.js';
export { PRUNE_METHODS } from './stages/prune.js';
export { EXPORT_FORMATS } from './stages/export.js';
export { QUANTIZED_SIDECAR } from './stages/quantize.js';
export type {
  StageKind,
  StageContext,
  StageResult,
  StageReport,
  StageOutput,
  OutputKind,
  ResolvedRef,
  RunData,
  Curve as StageCurve,
} from './types.js';
