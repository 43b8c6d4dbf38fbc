import { join } from 'node:path';
import { z } from 'zod';
import { benchModels, writeReports, RUNTIMES, type HistoryCurve, type RuntimeName } from '../../bench/index.js';
import { positiveInt } from '../schema.js';
import type { StageKind } from '../types.js';
import { baseFields, modelRef } from './common.js';

const runtimeNames = ['tfjs-default', ...RUNTIMES] as [string, ...string[]];

const schema = z
  .object({
    ...baseFields,
    /** Outputs to compare, baseline first (default: every model written by earlier stages). */
    models: z.array(modelRef()).min(1).optional(),
    runtimes: z.array(z.enum(runtimeNames)).min(1).default(['tfjs-default', 'onnx']),
    batches: z.array(positiveInt()).min(1).default([1, 32]),
    warmup: z.number().int().min(0).default(5),
    repeats: positiveInt().default(30),
    /** Test samples scored for quality (default: the whole test split in use). */
    evalLimit: positiveInt().optional(),
  })
  .strict();

/** Config of a `bench` stage. */
export type BenchStageConfig = z.output<typeof schema>;

/**
 * `bench`: measure every model of the run (size, gzip, parameters, sparsity, cold/warm latency
 * per runtime, quality on the test split); prints the comparison table and writes
 * `bench.json`, `bench.md` and `report.html`.
 */
export const benchStage: StageKind<BenchStageConfig> = {
  name: 'bench',
  describe: 'benchmark every model of the run; comparison table and HTML report',
  schema,
  refs: (c, previous) => {
    const names = c.models ?? previous.map((o) => o.name);
    return Object.fromEntries(names.map((n, i) => [`models[${i}]`, n]));
  },
  refKinds: { '*': ['tfjs-layers', 'container', 'onnx', 'tfjs-export'] },
  async run(ctx, c) {
    const data = await ctx.loadData();
    const refs = Object.keys(ctx.refsOf()).map((k) => ctx.ref(k)!);
    const test = c.evalLimit && c.evalLimit < data.test.size ? data.test.take(c.evalLimit) : data.test;
    const history: Record<string, HistoryCurve> = {};
    for (const r of ctx.previousReports()) for (const [name, curve] of Object.entries(r.history ?? {})) history[name] = curve;
    const report = await benchModels({
      // Stage outputs keep their recipe names in the report (paths would be labelled by folder).
      models: refs.map((r) => (r.output ? { name: r.output.name, path: r.path! } : r.path!)),
      runtimes: c.runtimes as Array<RuntimeName | 'tfjs-default'>,
      batches: ctx.budget.benchBatches ?? c.batches,
      warmup: ctx.budget.benchWarmup ?? c.warmup,
      repeats: ctx.budget.benchRepeats ?? c.repeats,
      data: test,
      dataName: data.name,
      progress: ctx.progress,
      history,
    });
    writeReports(report, { json: join(ctx.dir, 'bench.json'), md: join(ctx.dir, 'bench.md'), html: join(ctx.dir, 'report.html') });
    ctx.log(`measured ${report.models.length} models; wrote bench.json, bench.md and report.html`);
    return {
      outputs: [],
      metrics: Object.fromEntries(
        report.models.map((m) => [
          m.name,
          { bytes: m.size.totalBytes, gzipBytes: m.size.totalGzipBytes, params: m.params?.params, nonZero: m.params?.nonZero, quality: m.quality, latency: m.latency, skipped: m.skipped },
        ]),
      ),
    };
  },
};
