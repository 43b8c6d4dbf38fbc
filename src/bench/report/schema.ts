import type { ColdStart, LatencyResult } from '../latency.js';
import type { Quality } from '../quality.js';
import type { ModelKind, RuntimeName } from '../runner.js';
import type { ParamStats, SizeReport } from '../size.js';

/** Version of the JSON report layout; bumped on any incompatible change (see docs/bench.md). */
export const BENCH_SCHEMA_VERSION = 1;

/** The machine a report was measured on. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  node: string;
  platform: string;
  arch: string;
  /** Total memory, bytes. */
  memoryBytes: number;
}

/** A runtime that was asked for but not measured, and why. */
export interface Skipped {
  runtime: RuntimeName;
  reason: string;
}

/** Ratios against the baseline (first) model; > 1 means larger/slower than the baseline. */
export interface VsBaseline {
  sizeRatio: number;
  gzipRatio: number;
  /** Candidate accuracy minus baseline accuracy (pixel accuracy for segmentation), when both were measured. */
  accuracyDelta?: number;
  /** latency[`${runtime}@${batch}`] = candidate mean / baseline mean. */
  latencyRatio: Record<string, number>;
}

/** Everything measured for one model. */
export interface ModelReport {
  name: string;
  kind: ModelKind;
  source: string;
  size: SizeReport;
  params?: ParamStats;
  /** Every input, in feed order, as the bench fed it (random values of this dtype and range). */
  inputs?: Array<{ name: string; shape: Array<number | null>; dtype: string; indexRange?: number }>;
  /** Every output's name and shape for a batch of 1. */
  outputs?: Array<{ name: string; shape: number[] }>;
  coldStart: ColdStart[];
  latency: LatencyResult[];
  quality?: Quality & { runtime: RuntimeName; dataset: string };
  skipped: Skipped[];
  vsBaseline?: VsBaseline;
}

/** A training curve to chart (e.g. from a fine-tuning run). */
export interface HistoryCurve {
  loss: number[];
  valLoss?: number[];
}

/** The whole report, as written by `--json`. */
export interface BenchReport {
  schemaVersion: typeof BENCH_SCHEMA_VERSION;
  tool: 'tfjs-compress bench';
  createdAt: string;
  machine: MachineInfo;
  options: {
    runtimes: RuntimeName[];
    batches: number[];
    warmup: number;
    repeats: number;
    dataset?: string;
    evalSamples?: number;
  };
  /** Baseline first. */
  models: ModelReport[];
  /** Training histories by model name, charted in the HTML report. */
  history?: Record<string, HistoryCurve>;
}
