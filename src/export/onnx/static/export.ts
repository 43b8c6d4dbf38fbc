import type * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSize } from '../../../util/gzip.js';
import { writeFileAtomic } from '../../../util/atomic.js';
import { convertToOnnx } from '../convert.js';
import { DataType } from '../schema.js';
import { verifyOnnx } from '../verify.js';
import { createCollector, type CalibrationMethod, type CalibratorArgs, type RangeCollector } from './calibrate.js';
import { decodeModel, encodeModel, type IrModel } from './ir.js';
import { QUANTIZABLE_OPS, quantizeQdq, type QdqReport } from './qdq.js';
import { accuracyOf, argmaxRows, ortSession, physicalBatch, runBatched } from './run.js';

/** Labelled samples (tfjs layout) for the sensitivity pass or an accuracy check. */
export interface LabelledSamples {
  /** One tensor per model input, batch first. */
  xs: tf.Tensor[];
  labels: ArrayLike<number>;
}

/** Options of {@link exportOnnxStaticInt8}. */
export interface StaticInt8Args extends CalibratorArgs {
  /** Representative inputs (tfjs layout, one tensor per model input, batch first): training data, never the test set. */
  calibration: tf.Tensor[];
  /** Calibration method (default minmax, onnxruntime's default). */
  calibrator?: CalibrationMethod;
  /** Per-output-channel weight scales (default false: one per tensor, as onnxruntime's default). */
  perChannel?: boolean;
  /** Activation type (default uint8). */
  activations?: 'uint8' | 'int8';
  /** ONNX opset, 13 (default) to 17. */
  opset?: number;
  /**
   * Labelled held-out training samples for the sensitivity pass: while the quantized model's
   * accuracy on them is more than `maxAccuracyDrop` below the float model's, the weighted layer
   * whose float form recovers the most accuracy is kept float. Without them every node is quantized.
   */
  validation?: LabelledSamples;
  /** Largest accepted accuracy drop on `validation`, in percentage points (default 0.5). */
  maxAccuracyDrop?: number;
  /** Layers (or ONNX node names) to keep float from the start: a layer's name keeps all of its quantizable nodes. */
  keepFloat?: string[];
  /** Channels-first inputs/outputs (as `ConvertArgs.nchw`). */
  nchw?: boolean;
  /** Labelled test samples: the float and the int8 model's accuracy on them is reported (onnxruntime-node). */
  test?: LabelledSamples;
}

/** Accuracy of one candidate during the sensitivity pass. */
export interface SensitivityStep {
  /** Nodes kept float in this candidate. */
  floatNodes: string[];
  accuracy: number;
}

/** What {@link exportOnnxStaticInt8} produced. */
export interface StaticInt8Report extends QdqReport {
  opset: number;
  calibrator: CalibrationMethod;
  calibrationSamples: number;
  perChannel: boolean;
  activations: 'uint8' | 'int8';
  bytes: number;
  gzipBytes: number;
  floatBytes: number;
  opCounts: Record<string, number>;
  /** Op counts of the graph onnxruntime runs after its optimizations (ORT_ENABLE_ALL): QLinearConv, QGemm... */
  runtimeOpCounts: Record<string, number>;
  /** Max |float ONNX - tfjs| on the first calibration samples (the float conversion's own parity). */
  floatParity: number;
  /**
   * Integer kernels vs the QDQ graph run literally (no graph optimization: every Q/DQ executed in
   * float): max |difference| of the first output and top-1 agreement, on the check samples.
   */
  kernelCheck: { samples: number; maxAbsDiff: number; outputScale?: number; agreement: number };
  /** Sensitivity pass: float and quantized accuracy on the validation samples, and each step tried. */
  sensitivity?: { samples: number; floatAccuracy: number; quantizedAccuracy: number; maxAccuracyDrop: number; steps: SensitivityStep[] };
  /** Accuracy of the float and the int8 ONNX model on `test` (onnxruntime-node, ORT_ENABLE_ALL). */
  test?: { samples: number; floatAccuracy: number; int8Accuracy: number };
  inputNames: string[];
  inputLayouts: ('tf' | 'cf')[];
}

/** Ops whose outputs are calibrated (float tensors feeding or leaving quantizable nodes). */
const CALIBRATED_OPS = new Set([...QUANTIZABLE_OPS, 'Relu', 'Clip', 'MaxPool', 'Transpose', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'BatchNormalization', 'Sum', 'ReduceMean']);

/** The float model with every calibrated tensor added as a graph output (onnxruntime's augment_graph). */
function augmented(m: IrModel): { bytes: Uint8Array; names: string[] } {
  const existing = new Set(m.proto.graph.output.map((o) => o.name));
  const names = [...new Set(m.nodes.filter((n) => CALIBRATED_OPS.has(n.opType)).flatMap((n) => n.output))].filter((v) => !existing.has(v));
  const proto = { ...m.proto, graph: { ...m.proto.graph, output: [...m.proto.graph.output, ...names.map((name) => ({ name, type: { tensorType: { elemType: DataType.FLOAT } } }))] } };
  return { bytes: encodeModel({ ...m, proto }), names: [...names, ...existing] };
}

/** Run the float model over the calibration samples and collect every tensor's range and shape. */
async function calibrate(
  m: IrModel,
  xs: tf.Tensor[],
  inputNames: string[],
  layouts: ('tf' | 'cf')[],
  method: CalibrationMethod,
  args: CalibratorArgs,
): Promise<{ ranges: Map<string, [number, number]>; shapes: Map<string, number[]> }> {
  const { bytes, names } = augmented(m);
  const session = await ortSession(bytes, 'disabled');
  const collectors = new Map<string, RangeCollector>();
  const shapes = new Map<string, number[]>();
  const collect = (name: string, data: Float32Array, dims: readonly number[]) => {
    let c = collectors.get(name);
    if (!c) collectors.set(name, (c = createCollector(method, args)));
    c.collect(data);
    shapes.set(name, [...dims]);
  };
  try {
    const n = xs[0]!.shape[0]!;
    for (let s = 0; s < n; s += 32) {
      const { feeds } = await physicalBatch(xs, inputNames, layouts, s, Math.min(n, s + 32));
      for (const [k, t] of Object.entries(feeds)) collect(k, t.data as Float32Array, t.dims);
      const out = await session.run(feeds, names);
      for (const name of names) collect(name, out[name]!.data as Float32Array, out[name]!.dims);
    }
  } finally {
    await session.release();
  }
  return { ranges: new Map([...collectors].map(([k, c]) => [k, c.range()])), shapes };
}

/** Node counts per op type of the model onnxruntime actually runs (its optimized graph, saved and read back). */
async function runtimeOps(bytes: Uint8Array): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'tfjsc-ort-'));
  try {
    const path = join(dir, 'optimized.onnx');
    const s = await ortSession(bytes, 'all', { optimizedModelFilePath: path });
    await s.release();
    const counts: Record<string, number> = {};
    for (const n of decodeModel(readFileSync(path)).nodes) counts[n.opType] = (counts[n.opType] ?? 0) + 1;
    return counts;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function accuracyOnnx(bytes: Uint8Array, v: LabelledSamples, names: string[], layouts: ('tf' | 'cf')[]): Promise<number> {
  const s = await ortSession(bytes, 'all');
  try {
    const { data, perSample } = await runBatched(s, v.xs, names, layouts);
    return accuracyOf(data, perSample, v.labels);
  } finally {
    await s.release();
  }
}

const countOps = (m: IrModel) => m.nodes.reduce<Record<string, number>>((c, n) => ((c[n.opType] = (c[n.opType] ?? 0) + 1), c), {});

/**
 * Static int8 ONNX export: the model is converted to a float ONNX graph (checked against tfjs), its
 * activations are calibrated by running it in onnxruntime-node on `calibration`, and a QDQ graph is
 * written that onnxruntime fuses into integer kernels (see `quantizeQdq`). With `validation`, a
 * sensitivity pass keeps the weighted layers float that cost more than `maxAccuracyDrop`.
 *
 * @example
 * const { bytes, report } = await exportOnnxStaticInt8(model, { calibration: [trainX], perChannel: true, calibrator: 'percentile' });
 * console.log(report.runtimeOpCounts.QLinearConv, report.kernelCheck.agreement);
 */
export async function exportOnnxStaticInt8(model: tf.LayersModel, args: StaticInt8Args): Promise<{ bytes: Uint8Array; floatBytes: Uint8Array; report: StaticInt8Report }> {
  const method = args.calibrator ?? 'minmax';
  if (!args.calibration?.length || !(args.calibration[0]!.shape[0]! > 0)) throw new Error('static int8 export: calibration needs at least one sample per model input');
  if (args.calibration.length !== model.inputs.length) throw new Error(`static int8 export: model has ${model.inputs.length} inputs, calibration has ${args.calibration.length} tensors`);
  const intInput = model.inputs.find((t) => t.dtype !== 'float32');
  if (intInput) throw new Error(`static int8 export of '${model.name}': input '${intInput.name}' is ${intInput.dtype}; only float32 inputs can be calibrated (use weights: 'int8' for weight-only int8)`);
  const maxDrop = args.maxAccuracyDrop ?? 0.5;
  if (!(maxDrop >= 0)) throw new Error(`maxAccuracyDrop must be >= 0 percentage points, got ${maxDrop}`);
  const conv = convertToOnnx(model, { opset: args.opset, nchw: args.nchw });
  const checkN = Math.min(64, args.calibration[0]!.shape[0]!);
  const probe = args.calibration.map((x) => x.slice([0], [checkN]));
  try {
    const parity = await verifyOnnx(model, conv, { inputs: probe });
    if (!parity.ok) throw new Error(`static int8 export of '${model.name}': the float ONNX graph differs from tfjs by ${parity.maxAbsDiff.toExponential(3)} (> ${parity.tolerance})`);
    const float = decodeModel(conv.bytes);
    const { inputNames: names, inputLayouts: layouts } = conv;
    const { ranges, shapes } = await calibrate(float, args.calibration, names, layouts, method, args);
    const qargs = { perChannel: args.perChannel ?? false, activations: args.activations ?? 'uint8' };
    const build = (floatNodes: Iterable<string>) => quantizeQdq(float, ranges, shapes, { ...qargs, floatNodes: new Set(floatNodes) });
    let floatNodes = resolveKeepFloat(float, args.keepFloat ?? []);
    let q = build(floatNodes);
    let bytes = encodeModel(q.model);
    let sensitivity: StaticInt8Report['sensitivity'];
    if (args.validation) {
      const v = args.validation;
      const floatAcc = await accuracyOnnx(conv.bytes, v, names, layouts);
      let acc = await accuracyOnnx(bytes, v, names, layouts);
      const steps: SensitivityStep[] = [{ floatNodes: [...floatNodes], accuracy: acc }];
      // Greedy: keep float the weighted node whose float form recovers the most accuracy, until within the bound.
      while ((floatAcc - acc) * 100 > maxDrop) {
        const left = q.report.quantizedNodes.filter((n) => ['Conv', 'Gemm', 'MatMul'].includes(n.opType)).map((n) => n.name);
        if (!left.length) break;
        let best: { name: string; acc: number; bytes: Uint8Array; q: ReturnType<typeof build> } | undefined;
        for (const name of left) {
          const cand = build([...floatNodes, name]);
          const cb = encodeModel(cand.model);
          const a = await accuracyOnnx(cb, v, names, layouts);
          steps.push({ floatNodes: [...floatNodes, name], accuracy: a });
          if (!best || a > best.acc) best = { name, acc: a, bytes: cb, q: cand };
        }
        floatNodes = [...floatNodes, best!.name];
        [q, bytes, acc] = [best!.q, best!.bytes, best!.acc];
      }
      sensitivity = { samples: v.labels.length, floatAccuracy: floatAcc, quantizedAccuracy: acc, maxAccuracyDrop: maxDrop, steps };
    }
    const kernelCheck = await checkKernels(bytes, probe, names, layouts, q.model);
    const test = args.test
      ? { samples: args.test.labels.length, floatAccuracy: await accuracyOnnx(conv.bytes, args.test, names, layouts), int8Accuracy: await accuracyOnnx(bytes, args.test, names, layouts) }
      : undefined;
    return {
      bytes,
      floatBytes: conv.bytes,
      report: {
        ...q.report,
        opset: conv.opset,
        calibrator: method,
        calibrationSamples: args.calibration[0]!.shape[0]!,
        perChannel: qargs.perChannel,
        activations: qargs.activations,
        bytes: bytes.length,
        gzipBytes: gzipSize(bytes),
        floatBytes: conv.bytes.length,
        opCounts: countOps(q.model),
        runtimeOpCounts: await runtimeOps(bytes),
        floatParity: parity.maxAbsDiff,
        kernelCheck,
        sensitivity,
        test,
        inputNames: names,
        inputLayouts: layouts,
      },
    };
  } finally {
    probe.forEach((t) => t.dispose());
  }
}

/** Quantizable node names of the layers (or nodes) named in `keepFloat`; an unknown name is an error listing the known ones. */
function resolveKeepFloat(m: IrModel, names: string[]): string[] {
  const nodes = m.nodes.filter((n) => QUANTIZABLE_OPS.includes(n.opType) || n.opType === 'Sum' || n.opType === 'ReduceMean');
  return names.flatMap((name) => {
    const hit = nodes.filter((n) => n.name === name || n.name.startsWith(`${name}/`)).map((n) => n.name);
    if (!hit.length) {
      const known = [...new Set(nodes.map((n) => n.name.split('/')[0]!))];
      throw new Error(`keepFloat: '${name}' names no quantizable layer or node; quantizable: ${known.join(', ')}`);
    }
    return hit;
  });
}

/** The fused integer kernels against the same QDQ graph run op by op without optimization. */
async function checkKernels(bytes: Uint8Array, xs: tf.Tensor[], names: string[], layouts: ('tf' | 'cf')[], m: IrModel): Promise<StaticInt8Report['kernelCheck']> {
  const [fused, literal] = [await ortSession(bytes, 'all'), await ortSession(bytes, 'disabled')];
  try {
    const a = await runBatched(fused, xs, names, layouts);
    const b = await runBatched(literal, xs, names, layouts);
    let maxAbsDiff = 0;
    for (let i = 0; i < a.data.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a.data[i]! - b.data[i]!));
    const pa = argmaxRows(a.data, a.perSample);
    const pb = argmaxRows(b.data, b.perSample);
    const agreement = pa.reduce((s, p, i) => s + (p === pb[i] ? 1 : 0), 0) / Math.max(1, pa.length);
    // The first output's quantization step, when it is quantized: the natural unit of the difference.
    const out = m.proto.graph.output[0]!.name;
    const dq = m.nodes.find((n) => n.opType === 'DequantizeLinear' && n.output[0] === out);
    const scale = dq ? m.inits.get(dq.input[1]!) : undefined;
    return { samples: pa.length, maxAbsDiff, ...(scale ? { outputScale: new Float32Array(scale.raw.slice().buffer)[0] } : {}), agreement };
  } finally {
    await fused.release();
    await literal.release();
  }
}

/** {@link exportOnnxStaticInt8}, then write the file atomically (nothing is written on failure). */
export async function saveOnnxStaticInt8(model: tf.LayersModel, path: string, args: StaticInt8Args): Promise<StaticInt8Report> {
  const { bytes, report } = await exportOnnxStaticInt8(model, args);
  writeFileAtomic(path, bytes);
  return report;
}
