import type { Command } from 'commander';
import { join } from 'node:path';
import { buildZooModel, zooNames } from '../../model/zoo.js';
import { saveLayersModel } from '../../model/io.js';
import { checkDataFitsModel } from '../../model/validate/data-fit.js';
import { train, evaluate, EarlyStopping, ReduceLROnPlateau, OPTIMIZER_NAMES } from '../../train/index.js';
import type { TrainCallback } from '../../train/index.js';
import { assertReplaceable, recoverDir } from '../../util/atomic.js';
import { setModelInputScaling } from '../../data/scaling-metadata.js';
import { addInputScalingOptions, DATA_FORMS, loadDataForModel, parseNumber, parsePositiveInt } from '../data-arg.js';

function parseImageSize(v: string): [number, number] {
  const dims = v.split(/[,x]/).map((d) => Number(d.trim()));
  if (dims.length !== 2 || !dims.every((d) => Number.isInteger(d) && d > 0)) throw new Error(`--image-size expects <height>,<width> positive integers, e.g. 64,64; got '${v}'`);
  return dims as [number, number];
}

function parseChannels(v: string): 1 | 3 {
  if (v !== '1' && v !== '3') throw new Error(`--channels expects 1 or 3, got '${v}'`);
  return Number(v) as 1 | 3;
}

/** `tfjs-compress train`: train a zoo architecture on a dataset and save it (how users make a teacher). */
export function registerTrainCommand(program: Command): void {
  addInputScalingOptions(program
    .command('train')
    .description('train a zoo architecture and save it as a tfjs layers model (e.g. to make a teacher)')
    .requiredOption('--arch <name>', `zoo architecture: ${zooNames().join(', ')}`)
    .option('--data <spec>', `dataset: ${DATA_FORMS.join(' | ')}`, 'mnist')
    .option('--image-size <h,w>', 'folder: data: decode images at this size (default 28,28)', parseImageSize)
    .option('--channels <n>', 'folder: data: 1 (grayscale, default) or 3 (RGB)', parseChannels))
    .option('--epochs <n>', 'epochs', parsePositiveInt('--epochs'), 1)
    .option('--batch-size <n>', 'batch size', parsePositiveInt('--batch-size'), 128)
    .option('--optimizer <name>', `optimizer: ${OPTIMIZER_NAMES.join(', ')}`, 'adam')
    .option('--lr <x>', 'learning rate', parseNumber('--lr'), 1e-3)
    .option('--seed <n>', 'seed for weights and data order', parseNumber('--seed'), 0)
    .option('--limit <n>', 'use only the first N training samples', parsePositiveInt('--limit'))
    .option('--test-limit <n>', 'use only the first N test samples', parsePositiveInt('--test-limit'))
    .option('--early-stopping <patience>', 'stop when val_loss stalls for N epochs (restores best)', parsePositiveInt('--early-stopping'))
    .option('--reduce-lr <patience>', 'halve the learning rate when val_loss stalls for N epochs', parsePositiveInt('--reduce-lr'))
    .option('--no-progress', 'no progress bar')
    .requiredOption('--out <dir>', 'output folder (model.json + weights.bin + report.json + checkpoint/)')
    .action(async (o) => {
      // Finish an earlier run's interrupted folder swap first (its checkpoint may sit in the new folder),
      // then refuse an --out holding unrelated files now, not after training.
      recoverDir(o.out);
      assertReplaceable(o.out, ['checkpoint']);
      const { train: trainSet, test, scaling } = await loadDataForModel(o.data, o, {}, { limit: o.limit, testLimit: o.testLimit, imageSize: o.imageSize, channels: o.channels });
      const model = buildZooModel(o.arch, { seed: o.seed, numClasses: trainSet.numClasses, inputShape: trainSet.xShape });
      try {
        // Before any step: an architecture the data cannot feed fails here (the model is freed below).
        checkDataFitsModel(model, trainSet);
        const callbacks: TrainCallback[] = [];
        if (o.earlyStopping) callbacks.push(new EarlyStopping({ patience: o.earlyStopping, restoreBestWeights: true }));
        if (o.reduceLr) callbacks.push(new ReduceLROnPlateau({ patience: o.reduceLr }));
        console.log(`training ${o.arch} on ${o.data}: ${trainSet.size} train / ${test.size} test samples, ${o.epochs} epoch(s)`);
        const result = await train(model, trainSet, {
          epochs: o.epochs,
          batchSize: o.batchSize,
          optimizer: o.optimizer,
          learningRate: o.lr,
          seed: o.seed,
          validation: test,
          callbacks,
          progress: o.progress,
          label: o.arch,
          checkpointDir: join(o.out, 'checkpoint'),
        });
        if (result.resumedFromEpoch) console.log(`resumed from the checkpoint after epoch ${result.resumedFromEpoch}`);
        if (result.stopReason) console.log(`stopped: ${result.stopReason}`);
        const final = await evaluate(model, test);
        // Later commands and recipes read the scaling back from model.json (flag > metadata > default).
        setModelInputScaling(model, scaling.scaling);
        const report = {
          arch: o.arch,
          data: o.data,
          trainSamples: trainSet.size,
          testSamples: test.size,
          epochs: o.epochs,
          inputScaling: scaling.scaling,
          history: result.history,
          samplesPerSecond: result.samplesPerSecond,
          test: final,
          stopReason: result.stopReason ?? null,
        };
        // Model, report and the checkpoint it came from: one folder, swapped in as a unit.
        await saveLayersModel(model, o.out, { files: { 'report.json': report }, keep: ['checkpoint'] });
        console.log(
          `test accuracy ${(final.accuracy! * 100).toFixed(2)}%  loss ${final.loss!.toFixed(4)}  ` +
            `train ${result.samplesPerSecond.toFixed(0)} samples/s  -> ${o.out}`,
        );
      } finally {
        // In-process callers (tests, the SDK) keep running: the trained model's weights are freed here.
        model.dispose();
      }
    });
}
