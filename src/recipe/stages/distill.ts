import { join } from 'node:path';
import { z } from 'zod';
import { compareScratch, distill } from '../../distill/index.js';
import type { DistillResult } from '../../distill/index.js';
import { unitInterval, positiveNumber } from '../schema.js';
import type { Curve, StageKind, StageOutput } from '../types.js';
import { baseFields, curveOf, describeModel, figuresLine, modelRef, saveOutput, trainFields } from './common.js';

const schema = z
  .object({
    ...baseFields,
    /** Frozen teacher: an earlier stage's model or a saved model path. */
    teacher: modelRef(),
    /** Student architecture (built fresh) or a saved model / earlier stage to start from. */
    student: modelRef(),
    /** Softening temperature T. */
    temperature: positiveNumber().default(4),
    /** Weight of the hard-label loss (keras.io convention): loss = alpha*CE + (1-alpha)*soft. */
    alpha: unitInterval().default(0.1),
    /** Also train the student's twin from scratch (same init, data order, epochs) as a control. */
    compareScratch: z.boolean().default(false),
    ...trainFields,
  })
  .strict();

/** Config of a `distill` stage. */
export type DistillStageConfig = z.output<typeof schema>;

/**
 * `distill`: knowledge distillation of a student from a frozen teacher (Hinton et al. 2015),
 * optionally next to the same student trained from scratch.
 */
export const distillStage: StageKind<DistillStageConfig> = {
  name: 'distill',
  describe: 'distil a student from a frozen teacher (soft targets at a temperature), optional scratch twin',
  schema,
  refs: (c) => ({ teacher: c.teacher, student: c.student }),
  async run(ctx, c) {
    const data = await ctx.loadData();
    const teacher = await ctx.loadModel(ctx.ref('teacher')!);
    const student = await ctx.loadModel(ctx.ref('student')!, { numClassesFrom: data.train });
    const disposables = [teacher, student];
    try {
      const epochs = ctx.epochs(c.epochs);
      ctx.log(`distilling '${student.name}' (${student.countParams()} params) from '${teacher.name}' (${teacher.countParams()} params): T=${c.temperature}, alpha=${c.alpha}, ${epochs} epoch(s)`);
      const args = {
        teacher,
        student,
        data: data.train,
        temperature: c.temperature,
        alpha: c.alpha,
        epochs,
        batchSize: c.batchSize,
        learningRate: c.learningRate,
        optimizer: c.optimizer,
        seed: ctx.seed,
        validation: data.test,
        callbacks: ctx.callbacks(),
        cacheTeacher: join(ctx.cacheDir, 'teacher-outputs'),
        progress: ctx.progress,
        label: ctx.name,
        checkpointDir: ctx.checkpointDir,
      };
      const outputs: StageOutput[] = [];
      const metrics: Record<string, unknown> = {};
      const history: Record<string, Curve> = {};
      let distilled: DistillResult;
      const record = async (name: string, model: typeof student, r: DistillResult, primary: boolean) => {
        const out = await saveOutput(ctx, model, name, primary);
        const figures = await describeModel(model, join(ctx.outDir, out.path), data);
        ctx.log(`${name}: ${figuresLine(figures)}`);
        outputs.push(out);
        metrics[name] = { ...figures, epochs: r.history.length, teacherUnchanged: r.teacherUnchanged };
        history[name] = curveOf(r.history);
      };
      if (c.compareScratch) {
        const cmp = await compareScratch({ ...args, scratchCallbacks: ctx.callbacks() });
        disposables.push(cmp.scratchModel);
        distilled = cmp.distilled;
        await record(ctx.name, student, cmp.distilled, true);
        await record(`${ctx.name}-scratch`, cmp.scratchModel, cmp.scratch, false);
        const d = metrics[ctx.name] as Record<string, number>;
        const s = metrics[`${ctx.name}-scratch`] as Record<string, number>;
        const key = d.accuracy !== undefined ? 'accuracy' : 'pixelAccuracy';
        metrics.distilledMinusScratch = d[key]! - s[key]!;
        ctx.log(`distilled vs scratch ${key}: ${(d[key]! * 100).toFixed(2)}% vs ${(s[key]! * 100).toFixed(2)}%`);
      } else {
        distilled = await distill(args);
        await record(ctx.name, student, distilled, true);
      }
      metrics.settings = distilled.settings;
      metrics.teacherCache = distilled.cache;
      return { outputs, metrics, history, resumedFromEpoch: distilled.resumedFromEpoch };
    } finally {
      for (const m of disposables) m.dispose();
    }
  },
};
