import { z } from 'zod';

/*
 * The JSON report layout as a zod schema: the executable form of the table in docs/bench.md.
 * Keys not listed are allowed (forward compatible); listed keys must have these types.
 */

const runtime = z.enum(['tfjs-tensorflow', 'tfjs-wasm', 'tfjs-cpu', 'onnx']);
const nullableNum = z.number().nullable();

const latency = z.object({
  runtime,
  batch: z.number().int().positive(),
  warmup: z.number().int().nonnegative(),
  count: z.number().int().positive(),
  meanMs: z.number(),
  stdMs: z.number(),
  minMs: z.number(),
  maxMs: z.number(),
  p50Ms: z.number(),
  p95Ms: z.number(),
  p99Ms: z.number(),
  msPerSample: z.number(),
  samplesPerSec: z.number(),
  memory: z.object({
    rssDeltaBytes: z.number(),
    heapDeltaBytes: z.number(),
    tfPeakBytes: z.number().optional(),
    tfBytes: z.number().optional(),
  }),
});

const classification = z.object({
  task: z.literal('classification'),
  samples: z.number().int(),
  accuracy: z.number(),
  topK: z.object({ k: z.number().int(), accuracy: z.number() }),
  loss: z.number(),
  outputsAreProbabilities: z.boolean(),
  perClass: z.array(z.object({ class: z.number().int(), precision: nullableNum, recall: nullableNum, support: z.number().int() })),
  macroPrecision: z.number(),
  macroRecall: z.number(),
  confusion: z.array(z.array(z.number().int())),
  runtime,
  dataset: z.string(),
});

const segmentation = z.object({
  task: z.literal('segmentation'),
  samples: z.number().int(),
  pixelAccuracy: z.number(),
  loss: z.number(),
  outputsAreProbabilities: z.boolean(),
  iou: z.array(nullableNum),
  meanIoU: z.number(),
  dice: z.array(nullableNum),
  meanDice: z.number(),
  runtime,
  dataset: z.string(),
});

const layer = z.object({
  name: z.string(),
  className: z.string(),
  params: z.number().int(),
  nonZero: z.number().int(),
  sparsity: z.number(),
  bytes: z.number().int(),
});

const model = z.object({
  name: z.string(),
  kind: z.enum(['tfjs-layers', 'tfjs-graph', 'container', 'onnx']),
  source: z.string(),
  size: z.object({
    files: z.array(z.object({ name: z.string(), path: z.string(), bytes: z.number().int(), gzipBytes: z.number().int() })),
    totalBytes: z.number().int(),
    totalGzipBytes: z.number().int(),
  }),
  params: z.object({ params: z.number().int(), nonZero: z.number().int(), sparsity: z.number(), bytes: z.number().int(), layers: z.array(layer) }).optional(),
  inputs: z.array(z.object({ name: z.string(), shape: z.array(z.number().int().nullable()), dtype: z.string(), indexRange: z.number().int().optional() })).optional(),
  outputs: z.array(z.object({ name: z.string(), shape: z.array(z.number().int()) })).optional(),
  coldStart: z.array(z.object({ runtime, loadMs: z.number(), firstInferenceMs: z.number(), totalMs: z.number() })),
  latency: z.array(latency),
  quality: z.discriminatedUnion('task', [classification, segmentation]).optional(),
  skipped: z.array(z.object({ runtime, reason: z.string() })),
  vsBaseline: z
    .object({ sizeRatio: z.number(), gzipRatio: z.number(), accuracyDelta: z.number().optional(), latencyRatio: z.record(z.string(), z.number()) })
    .optional(),
});

/** zod schema of {@link BenchReport} (schemaVersion 1). */
export const benchReportSchema = z.object({
  schemaVersion: z.literal(1),
  tool: z.literal('tfjs-compress bench'),
  createdAt: z.string(),
  machine: z.object({ cpu: z.string(), cores: z.number().int(), node: z.string(), platform: z.string(), arch: z.string(), memoryBytes: z.number() }),
  options: z.object({
    runtimes: z.array(runtime),
    batches: z.array(z.number().int().positive()),
    warmup: z.number().int(),
    repeats: z.number().int(),
    dataset: z.string().optional(),
    evalSamples: z.number().int().optional(),
  }),
  models: z.array(model).min(1),
  history: z.record(z.string(), z.object({ loss: z.array(z.number()), valLoss: z.array(z.number()).optional() })).optional(),
});
