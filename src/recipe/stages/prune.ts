import type * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { z } from 'zod';
import { distill } from '../../distill/index.js';
import {
  PolynomialDecay,
  PruningCallback,
  applyMasks,
  disposeMasks,
  freezeBatchNorm,
  importanceNames,
  levelPrune,
  prunableClasses,
  strip,
  structuredPrune,
  type ConfigEntryInput,
  type Masks,
  type PruningSchedule,
} from '../../prune/index.js';
import { leafLayers } from '../../model/summary.js';
import { train } from '../../train/loop.js';
import type { TrainCallback, TrainResult } from '../../train/types.js';
import { fraction01, positiveNumber, unitInterval } from '../schema.js';
import type { StageKind } from '../types.js';
import { baseFields, curveOf, describeModel, figuresLine, modelRef, saveOutput, trainFields } from './common.js';

/** Pruning methods of the `prune` stage. */
export const PRUNE_METHODS = ['level', 'magnitude', 'structured'] as const;

const fineTuneSchema = z
  .object({
    ...trainFields,
    /** Distil from this model while fine-tuning (usually the unpruned model or the teacher). */
    distillFrom: modelRef().optional(),
    temperature: positiveNumber().default(4),
    alpha: unitInterval().default(0.1),
  })
  .strict();

const schema = z
  .object({
    ...baseFields,
    /** Model to prune (default: the previous stage's model). */
    from: modelRef().optional(),
    /**
     * `level`: one-shot magnitude pruning, masks fixed while fine-tuning; `magnitude`: gradual
     * (polynomial decay) during fine-tuning; `structured`: remove whole filters/units.
     */
    method: z.enum(PRUNE_METHODS).default('level'),
    /** Fraction of weights zeroed (structured: fraction of channels removed). */
    sparsity: fraction01(),
    /** Layer classes to prune (default: every prunable class). */
    opTypes: z.array(z.string()).min(1).optional(),
    /** Layer names left dense. */
    exclude: z.array(z.string()).optional(),
    /** Structured only: channel importance criterion. */
    importance: z.string().default('l1'),
    fineTune: fineTuneSchema.optional(),
  })
  .strict();

/** Config of a `prune` stage. */
export type PruneStageConfig = z.output<typeof schema>;

/** Re-applies fixed masks after every optimizer step (level pruning keeps its one-shot masks). */
class FixedMasks implements TrainCallback {
  constructor(private readonly model: tf.LayersModel, private readonly masks: Masks) {}
  onBatchEnd(): void {
    applyMasks(this.model, this.masks);
  }
}

/**
 * A schedule that always prunes at the first step it is asked about: after a resume from a
 * checkpoint the callback has no masks yet, and the schedule may not be due for a long time.
 */
function pruneOnFirstCall(inner: PolynomialDecay): PruningSchedule {
  let first = true;
  return {
    name: inner.name,
    finalSparsity: inner.finalSparsity,
    getConfig: () => inner.getConfig(),
    at(step: number) {
      const d = inner.at(step);
      if (!first) return d;
      first = false;
      return { shouldPrune: true, sparsity: d.sparsity };
    },
  };
}

function configList(c: PruneStageConfig, model: tf.LayersModel): ConfigEntryInput[] {
  // Default: every prunable layer class the model actually has (an unmatched selector is an error).
  const present = new Set(leafLayers(model).map(({ layer }) => layer.getClassName()));
  const opTypes = c.opTypes ?? prunableClasses().filter((t) => present.has(t));
  const list: ConfigEntryInput[] = [{ opTypes, sparsity: c.sparsity }];
  if (c.exclude?.length) list.push({ opNames: c.exclude, exclude: true });
  return list;
}

/**
 * `prune`: level (one-shot), gradual magnitude or structured pruning, optionally fine-tuned with
 * distillation from another model; the result is stripped (plain layers, zeros baked in).
 */
export const pruneStage: StageKind<PruneStageConfig> = {
  name: 'prune',
  describe: 'prune (level, gradual magnitude or structured) with optional (distillation) fine-tuning',
  schema,
  refs: (c) => ({ from: c.from, distillFrom: c.fineTune?.distillFrom ?? null }),
  async run(ctx, c) {
    if (c.method === 'structured' && !importanceNames().includes(c.importance)) {
      throw new Error(`stages[${ctx.index}].prune.importance: expected one of ${importanceNames().join(', ')}, got '${c.importance}'`);
    }
    const data = await ctx.loadData();
    const fromRef = ctx.ref('from')!;
    const input = await ctx.loadModel(fromRef);
    const teacherRef = ctx.ref('distillFrom');
    const teacher = teacherRef ? await ctx.loadModel(teacherRef) : undefined;
    let pruned: tf.LayersModel | undefined;
    let masks: Masks | undefined;
    let callback: TrainCallback | undefined;
    let gradual: PruningCallback | undefined;
    try {
      const before = fromRef.path ? await describeModel(input, fromRef.path, data) : undefined;
      const ft = c.fineTune;
      const epochs = ft ? ctx.epochs(ft.epochs) : 0;
      ctx.log(`pruning '${fromRef.label}' (${c.method}, ${c.sparsity}), fine-tune ${epochs} epoch(s)${teacherRef ? ` distilling from '${teacherRef.label}'` : ''}`);
      let structured: Record<string, unknown> | undefined;
      if (c.method === 'level') {
        const r = await levelPrune(input, { configList: configList(c, input) });
        pruned = r.model;
        masks = r.masks;
        callback = new FixedMasks(pruned, masks);
      } else if (c.method === 'structured') {
        const r = await structuredPrune(input, { ratio: c.sparsity, importance: c.importance, configList: c.opTypes || c.exclude ? configList(c, input) : undefined });
        pruned = r.model;
        structured = { paramsBefore: r.paramsBefore, paramsAfter: r.paramsAfter, groups: r.table };
        for (const g of r.table) ctx.log(`  ${g.layers}: ${g.before} -> ${g.after} channels`);
      } else {
        if (!ft) throw new Error(`stages[${ctx.index}].prune.fineTune: method 'magnitude' prunes while training; give fineTune.epochs`);
        pruned = input;
        const steps = data.train.batchCount(ft.batchSize) * epochs;
        // Reach the target after ~2/3 of the steps, then let the remaining steps recover accuracy.
        const endStep = Math.max(1, Math.floor((steps * 2) / 3));
        const frequency = Math.max(1, Math.floor(endStep / 10));
        gradual = new PruningCallback(input, {
          configList: configList(c, input),
          schedule: (s) => pruneOnFirstCall(new PolynomialDecay({ initialSparsity: 0, finalSparsity: s, beginStep: 0, endStep, frequency })),
        });
        callback = gradual;
      }
      let result: TrainResult | undefined;
      if (ft) {
        const common = {
          epochs,
          batchSize: ft.batchSize,
          learningRate: ft.learningRate,
          optimizer: ft.optimizer,
          seed: ctx.seed,
          validation: data.test,
          callbacks: [...(callback ? [callback] : []), ...ctx.callbacks()],
          progress: ctx.progress,
          label: `${ctx.name} fine-tune`,
          checkpointDir: ctx.checkpointDir,
        };
        // Batch norm stays in inference mode while fine-tuning a trained model (see freezeBatchNorm).
        const restore = freezeBatchNorm(pruned);
        try {
          result = teacher
            ? await distill({ ...common, teacher, student: pruned, data: data.train, temperature: ft.temperature, alpha: ft.alpha, cacheTeacher: join(ctx.cacheDir, 'teacher-outputs') })
            : await train(pruned, data.train, common);
        } finally {
          restore();
        }
      }
      if (gradual) masks = gradual.takeMasks();
      const final = masks ? await strip(pruned, masks) : pruned;
      try {
        const out = await saveOutput(ctx, final, ctx.name, true);
        const after = await describeModel(final, join(ctx.outDir, out.path), data);
        ctx.log(`${ctx.name}: ${figuresLine(after)}`);
        return {
          outputs: [out],
          metrics: { method: c.method, targetSparsity: c.sparsity, before, [ctx.name]: after, ...(structured ? { structured } : {}) },
          history: result ? { [ctx.name]: curveOf(result.history) } : undefined,
          resumedFromEpoch: result?.resumedFromEpoch ?? 0,
        };
      } finally {
        if (final !== pruned) final.dispose();
      }
    } finally {
      if (masks) disposeMasks(masks);
      gradual?.dispose();
      if (pruned && pruned !== input) pruned.dispose();
      input.dispose();
      teacher?.dispose();
    }
  },
};
