import type { Command } from 'commander';
import { evaluateModel } from '../../bench/evaluate-model.js';
import { describeModel, modelDataFacts } from '../../model/describe.js';
import { loadModel } from '../../model/load.js';
import { addInputScalingOptions, DATA_FORMS, loadDataForModel, parsePositiveInt } from '../data-arg.js';

/** `tfjs-compress info` and `tfjs-compress eval`. */
export function registerInfoCommands(program: Command): void {
  program
    .command('info <model>')
    .description(
      'what is in a model: per-layer parameters, non-zeros, sparsity and bytes (layers models, .tfjsc, zoo:name); ' +
        'op histogram, weight tensors and inputs/outputs (graph models, .onnx)',
    )
    .option('--json', 'print JSON instead of a table')
    .action(async (spec: string, o) => {
      const d = await describeModel(spec);
      const scaling = d.inputScaling ? { inputScaling: d.inputScaling } : {};
      console.log(o.json ? JSON.stringify({ model: spec, format: d.format, ...scaling, ...d.summary }, null, 2) : d.text);
    });

  addInputScalingOptions(
    program
      .command('eval <model>')
      .description('loss, accuracy and top-5 accuracy of a model (layers, graph, .tfjsc, .onnx) on a test set')
      .option('--data <spec>', `dataset: ${DATA_FORMS.join(' | ')}`, 'mnist')
      .option('--limit <n>', 'use only the first N test samples', parsePositiveInt('--limit')),
  )
    .option('--json', 'print JSON')
    .action(async (spec: string, o) => {
      const m = await loadModel(spec, { command: 'eval', accept: ['layers', 'graph', 'onnx'] });
      let r: Awaited<ReturnType<typeof evaluateModel>>;
      let samples: number;
      try {
        // The model's stored scaling and input size decide how the data is loaded; --json keeps stdout JSON.
        const log = o.json ? (line: string) => console.error(line) : undefined;
        const { test } = await loadDataForModel(o.data, o, modelDataFacts(m), { limit: 1, testLimit: o.limit, log });
        r = await evaluateModel(m, test);
        samples = test.size;
      } finally {
        if (m.kind !== 'onnx') m.model.dispose();
      }
      if (o.json) console.log(JSON.stringify({ model: spec, samples, ...r }));
      else console.log(`${spec}: accuracy ${(r.accuracy * 100).toFixed(2)}%  top-5 ${(r.top5 * 100).toFixed(2)}%  loss ${r.loss.toFixed(4)}  (${samples} samples)`);
    });
}
