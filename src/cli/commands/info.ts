import type { Command } from 'commander';
import { resolveModel } from '../../model/io.js';
import { formatSummary, summary } from '../../model/summary.js';
import { evaluate } from '../../train/evaluate.js';
import { DATA_FORMS, loadDataArg, parsePositiveInt } from '../data-arg.js';

/** `tfjs-compress info` and `tfjs-compress eval`. */
export function registerInfoCommands(program: Command): void {
  program
    .command('info <model>')
    .description('per-layer parameters, non-zeros, sparsity and bytes of a model (folder, model.json or zoo:name)')
    .option('--json', 'print JSON instead of a table')
    .action(async (spec: string, o) => {
      const model = await resolveModel(spec);
      const s = summary(model);
      console.log(o.json ? JSON.stringify(s, null, 2) : formatSummary(s));
    });

  program
    .command('eval <model>')
    .description('loss, accuracy and top-5 accuracy of a model on a test set')
    .option('--data <spec>', `dataset: ${DATA_FORMS.join(' | ')}`, 'mnist')
    .option('--limit <n>', 'use only the first N test samples', parsePositiveInt('--limit'))
    .option('--json', 'print JSON')
    .action(async (spec: string, o) => {
      const model = await resolveModel(spec);
      const { test } = await loadDataArg(o.data, { limit: 1, testLimit: o.limit });
      const r = await evaluate(model, test, { topK: 5 });
      if (o.json) console.log(JSON.stringify({ model: spec, samples: test.size, ...r }));
      else console.log(`${spec}: accuracy ${(r.accuracy! * 100).toFixed(2)}%  top-5 ${(r.top5! * 100).toFixed(2)}%  loss ${r.loss!.toFixed(4)}  (${test.size} samples)`);
    });
}
