import * as tf from '@tensorflow/tfjs';
import type { Batch, TensorDataset } from '../data/dataset.js';
import { adaptBatch, modelInputShape } from '../model/input-shape.js';
import { checkDataFitsModel } from '../model/validate/data-fit.js';
import { loadCheckpoint, saveCheckpoint, fingerprintOf } from './checkpoint.js';
import { evaluate } from './evaluate.js';
import { countCorrect, crossEntropyFor } from './metrics.js';
import { getLearningRate, makeOptimizer } from './optimizers.js';
import { ProgressBar } from './progress.js';
import type { CallbackState, Logs, LossFn, TrainArgs, TrainCallback, TrainContext, TrainResult } from './types.js';

/** The default loss: cross-entropy of the model's training-mode output against the targets. */
export function crossEntropyLoss(model: tf.LayersModel): LossFn {
  const ce = crossEntropyFor(model);
  return (m: tf.LayersModel, batch: Batch) => {
    const out = m.apply(adaptBatch(batch.xs, modelInputShape(m), `model '${m.name}'`), { training: true }) as tf.Tensor;
    return { loss: ce(batch.ys, out), parts: { correct: countCorrect(batch.ys, out) } };
  };
}


function snapshot(model: tf.LayersModel): tf.Tensor[] {
  return model.weights.map((w) => tf.keep(w.read().clone()));
}

function restore(model: tf.LayersModel, saved: tf.Tensor[]): void {
  model.weights.forEach((w, i) => w.write(saved[i]!));
}

/**
 * The training loop shared by plain training, distillation and pruning fine-tuning: a custom
 * loop (variableGrads + optimizer) with Keras-style callbacks, validation, checkpoint/resume,
 * stop-on-NaN (restoring the last good weights) and an optional progress bar.
 *
 * @example
 * const result = await train(model, loadMnist({ limit: 10000 }), {
 *   epochs: 2, validation: loadMnist({ split: 'test', limit: 2000 }), progress: true,
 * });
 */
export async function train(model: tf.LayersModel, data: TensorDataset, args: TrainArgs): Promise<TrainResult> {
  const batchSize = args.batchSize ?? 128;
  if (!(Number.isInteger(args.epochs) && args.epochs > 0)) throw new Error(`epochs must be a positive integer, got ${args.epochs}`);
  // One check of data against model (shapes, and inputs too small for the architecture) before any step.
  checkDataFitsModel(model, data);
  if (args.validation) checkDataFitsModel(model, args.validation, 'validation');
  const optimizer =
    typeof args.optimizer === 'object' ? args.optimizer : makeOptimizer(args.optimizer ?? 'adam', args.learningRate ?? 1e-3);
  const lossFn = args.loss ?? crossEntropyLoss(model);
  const callbacks: TrainCallback[] = [...(args.callbacks ?? [])];
  if (args.progress) callbacks.push(new ProgressBar(args.label ?? model.name, batchSize));
  const trainable = [...model.trainableWeights.map((w) => w.read() as tf.Variable), ...(args.extraVariables ?? [])];

  const ctx: TrainContext = {
    model,
    optimizer,
    step: 0,
    epoch: 0,
    stepsPerEpoch: data.batchCount(batchSize),
    epochs: args.epochs,
    stopTraining: false,
    history: [],
  };
  const extraVariables = args.extraVariables ?? [];
  // Callbacks whose state a resume needs (pruning masks, early-stopping counters), keyed by
  // their order among such callbacks (stateless ones may come and go between runs).
  const stateful = (args.callbacks ?? []).filter((cb) => cb.getState).map((cb, i) => ({ key: `${i}:${cb.constructor.name}`, cb }));
  const fingerprint = fingerprintOf({
    // Shapes, not names: tfjs numbers auto-named layers per process, so names differ across runs.
    weights: model.weights.map((w) => w.shape),
    extra: extraVariables.map((v) => v.shape),
    samples: data.size,
    batchSize,
    seed: args.seed ?? 0,
    shuffle: args.shuffle ?? true,
    optimizer: typeof args.optimizer === 'object' ? args.optimizer.getClassName() : (args.optimizer ?? 'adam'),
    // The requested rate (the current one, maybe lowered by callbacks, is restored from the checkpoint).
    learningRate: typeof args.optimizer === 'object' ? undefined : (args.learningRate ?? 1e-3),
    callbacks: stateful.map((s) => s.key),
  });
  let startEpoch = 0;
  if (args.checkpointDir) {
    const restored = await loadCheckpoint(args.checkpointDir, model, optimizer, fingerprint, extraVariables).catch((err: unknown) => {
      if (typeof args.optimizer !== 'object') optimizer.dispose();
      throw err;
    });
    if (restored) {
      const { state, callbacks: saved } = restored;
      startEpoch = state.epoch;
      ctx.step = state.step;
      ctx.history = state.history;
      if (state.stopReason) {
        ctx.stopTraining = true;
        ctx.stopReason = state.stopReason;
      }
      for (const { key, cb } of stateful) {
        const s = saved[key];
        if (s) {
          await cb.setState!(s, ctx);
          delete saved[key];
        }
      }
      for (const s of Object.values(saved)) tf.dispose(Object.values(s.tensors ?? {}));
    }
  }

  let good = snapshot(model);
  let trainSeconds = 0;
  let trainSamples = 0;
  for (const cb of callbacks) await cb.onTrainBegin?.(ctx);
  try {
    for (let epoch = startEpoch; epoch < args.epochs && !ctx.stopTraining; epoch++) {
      ctx.epoch = epoch;
      for (const cb of callbacks) await cb.onEpochBegin?.(epoch, ctx);
      const sums: Record<string, number> = {};
      let seen = 0;
      const t0 = performance.now();
      for (const plain of data.batches({ batchSize, shuffle: args.shuffle ?? true, seed: args.seed ?? 0, epoch })) {
        for (const cb of callbacks) await cb.onBatchBegin?.(ctx.step, ctx);
        const batch = args.augment ? { ...plain, xs: args.augment(plain.xs, ctx.step) } : plain;
        // An augmentation may hand back its input (e.g. a no-op); free the original only if replaced.
        if (batch.xs !== plain.xs) plain.xs.dispose();
        const parts: Record<string, tf.Scalar> = {};
        const loss = optimizer.minimize(
          () => {
            const r = lossFn(model, batch);
            if (r instanceof tf.Tensor) return r;
            for (const [k, v] of Object.entries(r.parts ?? {})) parts[k] = tf.keep(v);
            return r.loss;
          },
          true,
          trainable,
        )!;
        tf.dispose([batch.xs, batch.ys]);
        const n = batch.indices.length;
        const lossValue = loss.dataSync()[0]!;
        loss.dispose();
        const logs: Logs = { loss: lossValue, size: n };
        for (const [k, v] of Object.entries(parts)) {
          logs[k] = v.dataSync()[0]!;
          v.dispose();
        }
        if (!Number.isFinite(lossValue)) {
          restore(model, good);
          ctx.stopTraining = true;
          ctx.stopReason = `loss became ${lossValue} at epoch ${epoch + 1}, step ${ctx.step}: restored the weights of the last good epoch`;
          break;
        }
        sums.loss = (sums.loss ?? 0) + lossValue * n;
        for (const [k, v] of Object.entries(logs)) {
          if (k === 'loss' || k === 'size') continue;
          // 'correct' is a count; other parts are batch means.
          sums[k] = (sums[k] ?? 0) + (k === 'correct' ? v : v * n);
        }
        seen += n;
        ctx.step++;
        if ('correct' in logs) logs.accuracy = logs.correct! / n;
        delete logs.correct;
        for (const cb of callbacks) await cb.onBatchEnd?.(ctx.step, logs, ctx);
        if (ctx.stopTraining) break;
        // wasm ops run synchronously: yield once per batch so timers, progress output and
        // signal handlers (Ctrl-C) get a turn during long epochs.
        await new Promise((resolve) => setImmediate(resolve));
      }
      trainSeconds += (performance.now() - t0) / 1000;
      trainSamples += seen;
      if (ctx.stopReason?.startsWith('loss became')) break;
      const epochLogs: Logs = {};
      for (const [k, v] of Object.entries(sums)) {
        if (k === 'correct') epochLogs.accuracy = v / seen / (data.yShape.slice(0, -1).reduce((a, b) => a * b, 1));
        else epochLogs[k] = v / seen;
      }
      epochLogs.samples_per_s = seen / ((performance.now() - t0) / 1000);
      epochLogs.lr = getLearningRate(optimizer);
      if (args.validation) {
        const val = await evaluate(model, args.validation, { batchSize: 256, topK: args.topK, extra: args.validationFn });
        for (const [k, v] of Object.entries(val)) epochLogs[`val_${k}`] = v;
      }
      ctx.history.push(epochLogs);
      for (const cb of callbacks) await cb.onEpochEnd?.(epoch, epochLogs, ctx);
      tf.dispose(good);
      good = snapshot(model);
      if (args.checkpointDir) {
        const callbackStates: Record<string, CallbackState> = {};
        for (const { key, cb } of stateful) callbackStates[key] = await cb.getState!(ctx);
        await saveCheckpoint(args.checkpointDir, model, optimizer, {
          epoch: epoch + 1,
          step: ctx.step,
          history: ctx.history,
          fingerprint,
          stopReason: ctx.stopReason,
          extraVariables,
          callbacks: callbackStates,
        });
      }
    }
  } finally {
    tf.dispose(good);
    for (const cb of callbacks) await cb.onTrainEnd?.(ctx);
    if (typeof args.optimizer !== 'object') optimizer.dispose();
  }
  return {
    history: ctx.history,
    steps: ctx.step,
    stopReason: ctx.stopReason,
    samplesPerSecond: trainSamples / Math.max(trainSeconds, 1e-9),
    resumedFromEpoch: startEpoch,
  };
}
