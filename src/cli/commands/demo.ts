import type { Command } from 'commander';
import { DEMO_SETTINGS, demoRecipe, resolveBudget, runRecipe } from '../../recipe/index.js';
import { budgetOf, printSummary, type RunCliOptions } from './run.js';

/**
 * `tfjs-compress demo` (`npm run demo`): the built-in MNIST recipe end to end, about 5 minutes
 * on 2 idle cores; `--full` for all data, `--tiny` for a seconds-long smoke run.
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('end-to-end MNIST demo: teacher, distilled student (+ scratch twin), pruned, quantized, packed, exported, benchmarked')
    .option('--out <dir>', 'output folder', 'out/demo')
    .option('--tiny', 'seconds-long smoke run (256 training images, 1 epoch per stage)')
    .option('--full', 'all 60,000 training / 10,000 test images')
    .option('--force', 're-run every stage, even unchanged ones')
    .option('--no-progress', 'no progress bars')
    .action(async (o: RunCliOptions) => {
      const recipe = demoRecipe();
      const budget = budgetOf(o);
      const b = resolveBudget(recipe, budget);
      const s = DEMO_SETTINGS;
      const train = b.trainLimit === null ? 60000 : (b.trainLimit ?? s.trainLimit);
      const test = b.testLimit === null ? 10000 : (b.testLimit ?? s.testLimit);
      const ep = (n: number) => Math.min(n, b.maxEpochs ?? n);
      console.log(
        `demo (${budget} budget): MNIST, ${train} training / ${test} test images; teacher ${ep(s.teacherEpochs)} epoch(s), ` +
          `student ${ep(s.studentEpochs)} (+ scratch twin), pruning to ${s.sparsity * 100}% with ${ep(s.pruneEpochs)} epoch(s) of distillation fine-tuning.`,
      );
      if (budget === 'default') console.log('about 5 minutes on 2 idle cores; --tiny for a seconds-long run, --full for all the data');
      const result = await runRecipe(recipe, { outDir: o.out, budget, force: o.force, progress: o.progress === false ? false : undefined });
      printSummary(result);
    });
}
