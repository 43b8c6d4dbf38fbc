import type { InputScaling } from '../data/transform.js';
import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import type { TensorDataset } from '../data/dataset.js';
import type { TrainCallback } from '../train/types.js';
import type { Budget, DataConfig, RecipeHead } from './schema.js';

/** What kind of file(s) a stage output is. */
export type OutputKind = 'tfjs-layers' | 'container' | 'onnx' | 'tfjs-export';

/** One artifact a stage wrote; `path` is relative to the run's output folder. */
export interface StageOutput {
  /** Global name other stages refer to (`from: <name>`), also the model's name in reports. */
  name: string;
  kind: OutputKind;
  path: string;
  /** The stage's main model (what `from:` picks when it names the stage). */
  primary?: boolean;
}

/** A training curve (per epoch) kept in the stage report and charted by the bench report. */
export interface Curve {
  loss: number[];
  valLoss?: number[];
}

/** What a stage's `run` returns. */
export interface StageResult {
  outputs: StageOutput[];
  /** Figures measured in this stage (accuracy, sizes, sparsity...), stored in the report. */
  metrics: Record<string, unknown>;
  /** Training curves by output name. */
  history?: Record<string, Curve>;
  /** Epoch a training stage resumed from (0 when it started fresh). */
  resumedFromEpoch?: number;
}

/** The `report.json` each stage writes into its folder. */
export interface StageReport extends StageResult {
  version: 1;
  kind: string;
  name: string;
  index: number;
  /** sha256 of the stage's settings (after budget), the data and its inputs' output hashes. */
  hash: string;
  /** Referenced inputs: field -> resolved reference. */
  inputs: Record<string, string>;
  /** sha256 of every output file (names and bytes). */
  outputHash: string;
  budget: string;
  startedAt: string;
  finishedAt: string;
  seconds: number;
}

/** A model reference resolved by the runner. */
export interface ResolvedRef {
  /** Output of an earlier stage, or undefined for a zoo/arch name or a path. */
  output?: StageOutput;
  /** Absolute path of the artifact (undefined for zoo/arch builds). */
  path?: string;
  /** zoo or recipe-local architecture name, built fresh. */
  arch?: string;
  /** Hash used in the stage hash. */
  hash: string;
  /** Display form. */
  label: string;
}

/** Training and test data of a run. */
export interface RunData {
  train: TensorDataset;
  test: TensorDataset;
  /** Short description, e.g. `mnist train[0:6000] / test[0:1000]`. */
  name: string;
  task: 'classification' | 'segmentation';
}

/** Everything a stage can use while running. */
export interface StageContext {
  head: RecipeHead;
  data: DataConfig;
  budget: Budget;
  budgetName: string;
  /** Stage position (0-based) and name. */
  index: number;
  name: string;
  /** Absolute output folder of the run and of this stage. */
  outDir: string;
  dir: string;
  /** Folder for per-epoch checkpoints of this stage's settings (resume after interruption). */
  checkpointDir: string;
  /** Folder for caches shared across stages (teacher outputs). */
  cacheDir: string;
  seed: number;
  progress: boolean;
  /** Loads data on first use (scaled by {@link StageContext.inputScaling}). */
  loadData(): Promise<RunData>;
  /** The run's input scaling: the recipe's `inputScaling` > a path-loaded model's metadata > 0..1. */
  inputScaling(): InputScaling;
  /** The reference named by `field` (resolved before the stage ran, for hashing). */
  ref(field: string): ResolvedRef | undefined;
  /** Every resolved reference of this stage, by field. */
  refsOf(): Record<string, ResolvedRef>;
  /** Load (or build) the model a reference points to. */
  loadModel(ref: ResolvedRef, args?: { numClassesFrom?: TensorDataset }): Promise<tf.LayersModel>;
  /** Every output of earlier stages, in order. */
  previousOutputs(): StageOutput[];
  /** Reports of earlier stages, in order. */
  previousReports(): StageReport[];
  /** Extra training callbacks (tests use them to interrupt a run). */
  callbacks(): TrainCallback[];
  /** Print one line of progress/results. */
  log(line: string): void;
  /** Scale epochs by the budget (maxEpochs cap). */
  epochs(n: number): number;
}

/**
 * A kind of stage (`train`, `distill`, ...): its config schema, the model references it reads
 * (for hashing and ordering), and how to run it.
 */
export interface StageKind<C = unknown> {
  name: string;
  /** One-line description for docs and errors. */
  describe: string;
  schema: z.ZodType<C>;
  /**
   * Model references in the config: field -> reference string, `undefined` value meaning "the
   * previous stage's model" (resolved by the runner), `null` meaning not used. `previous` lists
   * the outputs of earlier stages (e.g. for a bench of everything).
   */
  refs(config: C, previous: StageOutput[]): Record<string, string | undefined | null>;
  /** Output kinds a reference field accepts (default tfjs-layers only). */
  refKinds?: Record<string, OutputKind[]>;
  run(ctx: StageContext, config: C): Promise<StageResult>;
}
