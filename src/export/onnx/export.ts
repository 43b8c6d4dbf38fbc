import type * as tf from '@tensorflow/tfjs';
import { gzipSize } from '../../util/gzip.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { convertToOnnx, type ConvertArgs } from './convert.js';
import { verifyOnnx, type VerifyArgs, type VerifyReport } from './verify.js';

/** Options of {@link exportOnnx}. */
export interface ExportOnnxArgs extends ConvertArgs {
  /** Parity check against tfjs (on by default; `false` skips it, which is not recommended). */
  verify?: VerifyArgs | false;
}

/** What an ONNX export produced. */
export interface OnnxExportReport {
  opset: number;
  irVersion: number;
  nchw: boolean;
  weights: 'float32' | 'float16' | 'int8';
  bytes: number;
  /** Size after gzip (pako, level 9): what a server would send compressed. */
  gzipBytes: number;
  initializerBytes: number;
  nodes: number;
  opCounts: Record<string, number>;
  inputNames: string[];
  outputNames: string[];
  /** Weights written exactly from their quantized records (`records`), by name. */
  recordsWritten: string[];
  /** Absent only when verification was disabled. */
  verify?: VerifyReport;
}

/**
 * Convert a tfjs LayersModel to ONNX and verify it in onnxruntime-node against tfjs. Throws (and
 * returns nothing) if a layer is unsupported or the max |difference| exceeds the tolerance.
 *
 * @example
 * const { bytes, report } = await exportOnnx(model, { opset: 13, weights: 'int8' });
 * console.log(report.bytes, report.gzipBytes, report.verify?.maxAbsDiff);
 */
export async function exportOnnx(model: tf.LayersModel, args: ExportOnnxArgs = {}): Promise<{ bytes: Uint8Array; report: OnnxExportReport }> {
  const conv = convertToOnnx(model, args);
  const report: OnnxExportReport = {
    opset: conv.opset,
    irVersion: conv.irVersion,
    nchw: args.nchw ?? false,
    weights: args.weights ?? 'float32',
    bytes: conv.bytes.length,
    gzipBytes: gzipSize(conv.bytes),
    initializerBytes: conv.initializerBytes,
    nodes: Object.values(conv.opCounts).reduce((a, b) => a + b, 0),
    opCounts: conv.opCounts,
    inputNames: conv.inputNames,
    outputNames: conv.outputNames,
    recordsWritten: conv.recordsWritten,
  };
  if (args.verify !== false) {
    const v = await verifyOnnx(model, conv, args.verify ?? {});
    report.verify = v;
    if (!v.ok) {
      throw new Error(
        `ONNX export of '${model.name}' failed verification: max |onnxruntime - tfjs| = ${v.maxAbsDiff.toExponential(3)} ` +
          `> tolerance ${v.tolerance} on ${v.samples} samples (per output: ${v.maxAbsDiffPerOutput.map((d) => d.toExponential(2)).join(', ')})`,
      );
    }
  }
  return { bytes: conv.bytes, report };
}

/**
 * {@link exportOnnx}, then write the file atomically. Nothing is written if export or verification fails.
 * @example const report = await saveOnnx(model, 'out/model.onnx', { nchw: true });
 */
export async function saveOnnx(model: tf.LayersModel, path: string, args: ExportOnnxArgs = {}): Promise<OnnxExportReport> {
  const { bytes, report } = await exportOnnx(model, args);
  writeFileAtomic(path, bytes);
  return report;
}
