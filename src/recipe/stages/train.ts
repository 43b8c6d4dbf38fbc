import { z } from 'zod';
import { train } from '../../train/loop.js';
import { join } from 'node:path';
import { baseFields, curveOf, describeModel, figuresLine, modelRef, saveOutput, trainFields } from './common.js';
import type { StageKind } from '../types.js';

const schema = z
  .object({
    ...baseFields,
    /** Architecture (zoo or recipe-local) built fresh, or a model path / earlier stage to keep training. */
    model: modelRef(),
    ...trainFields,
  })
  .strict();

/** Config of a `train` stage. */
export type TrainStageConfig = z.output<typeof schema>;

/**
 * `train`: train a model (usually the teacher) on the recipe's data with per-epoch checkpoints,
 * so an interrupted run resumes from its last completed epoch.
 */
export const trainStage: StageKind<TrainStageConfig> = {
  name: 'train',
  describe: 'train a model (zoo/recipe architecture or a saved model) on the recipe data',
  schema,
  refs: (c) => ({ model: c.model }),
  async run(ctx, c) {
    const data = await ctx.loadData();
    const model = await ctx.loadModel(ctx.ref('model')!, { numClassesFrom: data.train });
    try {
      const epochs = ctx.epochs(c.epochs);
      ctx.log(`training '${model.name}' (${model.countParams()} params) for ${epochs} epoch(s) on ${data.train.size} samples`);
      const r = await train(model, data.train, {
        epochs,
        batchSize: c.batchSize,
        learningRate: c.learningRate,
        optimizer: c.optimizer,
        seed: ctx.seed,
        validation: data.test,
        callbacks: ctx.callbacks(),
        progress: ctx.progress,
        label: ctx.name,
        checkpointDir: ctx.checkpointDir,
      });
      const out = await saveOutput(ctx, model, ctx.name, true);
      const figures = await describeModel(model, join(ctx.outDir, out.path), data);
      ctx.log(`${ctx.name}: ${figuresLine(figures)}`);
      return {
        outputs: [out],
        metrics: { [ctx.name]: { ...figures, epochs: r.history.length, samplesPerSecond: r.samplesPerSecond, stopReason: r.stopReason } },
        history: { [ctx.name]: curveOf(r.history) },
        resumedFromEpoch: r.resumedFromEpoch,
      };
    } finally {
      model.dispose();
    }
  },
};
