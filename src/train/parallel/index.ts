/** Data-parallel training over worker threads (one single-threaded wasm backend each). */
export { ParallelTrainer, trainParallel } from './train-parallel.js';
export type { ParallelEpoch, ParallelOptions, TrainParallelArgs, TrainParallelResult } from './train-parallel.js';
export { AllReduce, allocateShared, barrier, shardOf } from './shared.js';
export type { SharedBuffers } from './shared.js';
