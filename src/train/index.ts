export { train, crossEntropyLoss } from './loop.js';
export { evaluate } from './evaluate.js';
export type { EvaluateArgs, EvaluableModel } from './evaluate.js';
export { EarlyStopping, ReduceLROnPlateau, LearningRateScheduler, exponentialDecay, LambdaCallback } from './callbacks.js';
export type { MonitorArgs } from './callbacks.js';
export { ProgressBar } from './progress.js';
export { saveCheckpoint, loadCheckpoint, fingerprintOf } from './checkpoint.js';
export type { CheckpointState, CheckpointData, CheckpointFile, RestoredCheckpoint } from './checkpoint.js';
export type { OptimizerState } from './optimizer-state.js';
export { makeOptimizer, getLearningRate, setLearningRate, OPTIMIZER_NAMES } from './optimizers.js';
export type { OptimizerName } from './optimizers.js';
export {
  softmaxCrossEntropy,
  probabilityCrossEntropy,
  crossEntropyFor,
  countCorrect,
  countTopK,
  outputsProbabilities,
} from './metrics.js';
export type { CallbackState, Logs, LossFn, ValidationFn, TrainArgs, TrainCallback, TrainContext, TrainResult } from './types.js';
