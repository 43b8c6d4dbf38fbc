import type { Command } from 'commander';
import { dirname, resolve } from 'node:path';
import { formatRunSummary, loadRecipeFile, resolveBudget, runRecipe, type RunRecipeResult } from '../../recipe/index.js';
import type { BudgetName } from '../../recipe/index.js';

/** Options shared by `run` and `demo`. */
export interface RunCliOptions {
  out?: string;
  tiny?: boolean;
  full?: boolean;
  force?: boolean;
  progress?: boolean;
}

/** `--tiny` / `--full` to a budget name (both at once is an error). */
export function budgetOf(o: RunCliOptions): BudgetName {
  if (o.tiny && o.full) throw new Error('--tiny and --full cannot be used together');
  return o.tiny ? 'tiny' : o.full ? 'full' : 'default';
}

/** Print the end-of-run summary. */
export function printSummary(result: RunRecipeResult): void {
  const ran = result.stages.filter((s) => s.status === 'ran').length;
  console.log('');
  console.log(formatRunSummary(result));
  console.log('');
  console.log(`${ran} stage(s) ran, ${result.stages.length - ran} unchanged and skipped; outputs in ${result.outDir}`);
}

/**
 * `tfjs-compress run <recipe>`: run a recipe file (YAML or JSON) stage by stage; unchanged
 * stages are skipped, interrupted training stages resume.
 */
export function registerRunCommand(program: Command): void {
  program
    .command('run <recipe>')
    .description('run a compression recipe (YAML/JSON): train, distill, prune, quantize, pack, export, bench')
    .option('--out <dir>', "output folder (default: the recipe's outDir, else out/<name>)")
    .option('--tiny', 'tiny budget: a few hundred samples, 1 epoch, short bench (seconds; for CI)')
    .option('--full', 'full budget: all samples of the dataset')
    .option('--force', 're-run every stage, even unchanged ones')
    .option('--no-progress', 'no progress bars')
    .action(async (file: string, o: RunCliOptions) => {
      const recipe = loadRecipeFile(file);
      const budget = budgetOf(o);
      const b = resolveBudget(recipe, budget);
      const overrides = Object.entries(b).map(([k, v]) => `${k}=${v === null ? 'all' : Array.isArray(v) ? v.join(',') : v}`);
      console.log(`recipe ${recipe.head.name} (${file}): ${recipe.stages.length} stage(s), budget ${budget}${overrides.length ? ` (${overrides.join(', ')})` : ''}`);
      const result = await runRecipe(recipe, {
        outDir: o.out,
        budget,
        force: o.force,
        progress: o.progress === false ? false : undefined,
        // Data paths in a recipe are relative to the recipe file.
        baseDir: dirname(resolve(file)),
      });
      printSummary(result);
    });
}
