import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { z } from 'zod';
import { exportTfjs, saveOnnx } from '../../export/index.js';
import { fileHandler } from '../../model/io.js';
import { measureFiles } from '../../bench/size.js';
import { positiveNumber } from '../schema.js';
import type { StageKind, StageOutput } from '../types.js';
import { baseFields, fileOutput, modelRef } from './common.js';

/** Formats of the `export` stage. */
export const EXPORT_FORMATS = ['onnx', 'tfjs'] as const;

const schema = z
  .object({
    ...baseFields,
    from: modelRef().optional(),
    formats: z.array(z.enum(EXPORT_FORMATS)).min(1).default(['onnx', 'tfjs']),
    /** ONNX opset (13..17). */
    opset: z.number().int().min(13, { error: 'expected an integer in 13..17' }).max(17, { error: 'expected an integer in 13..17' }).default(13),
    /** ONNX weight storage. */
    onnxWeights: z.enum(['float32', 'float16', 'int8']).default('float32'),
    /** tfjs export weight quantization (stock tfjs dequantizes at load time). */
    tfjsQuantize: z.enum(['none', 'float16', 'uint8', 'uint16']).default('none'),
    /** Largest accepted max |onnxruntime - tfjs| on test samples. */
    tolerance: positiveNumber().default(1e-4),
  })
  .strict();

/** Config of an `export` stage. */
export type ExportStageConfig = z.output<typeof schema>;

/** max |a - b| and the fraction of rows whose argmax agrees. */
function compare(a: tf.Tensor, b: tf.Tensor): { maxAbsDiff: number; argmaxAgreement: number } {
  return tf.tidy(() => ({
    maxAbsDiff: tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!,
    argmaxAgreement: tf.mean(tf.cast(tf.equal(tf.argMax(a, -1), tf.argMax(b, -1)), 'float32')).dataSync()[0]!,
  }));
}

/**
 * `export`: write ONNX (verified in onnxruntime-node against tfjs on test samples) and/or a tfjs
 * layers model (reloaded with stock `tf.loadLayersModel` and compared with the source).
 */
export const exportStage: StageKind<ExportStageConfig> = {
  name: 'export',
  describe: 'export to ONNX (verified in onnxruntime-node) and tfjs (verified with stock tfjs)',
  schema,
  refs: (c) => ({ from: c.from }),
  async run(ctx, c) {
    const data = await ctx.loadData();
    const ref = ctx.ref('from')!;
    const model = await ctx.loadModel(ref);
    const xs = data.test.xsOf(Array.from({ length: Math.min(32, data.test.size) }, (_, i) => i));
    const outputs: StageOutput[] = [];
    const metrics: Record<string, unknown> = {};
    try {
      if (c.formats.includes('onnx')) {
        const path = join(ctx.dir, `${ctx.name}-onnx.onnx`);
        const r = await saveOnnx(model, path, { opset: c.opset, weights: c.onnxWeights, verify: { inputs: xs, tolerance: c.tolerance } });
        const v = r.verify!;
        ctx.log(`${ctx.name}-onnx.onnx: ${(r.bytes / 1024).toFixed(1)} KiB (gzip ${(r.gzipBytes / 1024).toFixed(1)} KiB), opset ${r.opset}, ${r.nodes} nodes; onnxruntime vs tfjs max |diff| ${v.maxAbsDiff.toExponential(2)} on ${v.samples} test samples`);
        outputs.push(fileOutput(ctx, `${ctx.name}-onnx`, 'onnx', path, true));
        metrics[`${ctx.name}-onnx`] = { bytes: r.bytes, gzipBytes: r.gzipBytes, opset: r.opset, nodes: r.nodes, opCounts: r.opCounts, verify: v };
      }
      if (c.formats.includes('tfjs')) {
        const dir = join(ctx.dir, `${ctx.name}-tfjs`);
        const r = await exportTfjs(model, dir, { quantize: c.tfjsQuantize === 'none' ? undefined : c.tfjsQuantize });
        // Verify with the stock loader, not ours: what a browser app would do.
        const loaded = await tf.loadLayersModel(fileHandler(dir));
        const check = tf.tidy(() => compare(model.predict(xs) as tf.Tensor, loaded.predict(xs) as tf.Tensor));
        loaded.dispose();
        const exact = c.tfjsQuantize === 'none';
        if (exact && check.maxAbsDiff > 1e-6) throw new Error(`export: tfjs export of '${ref.label}' reloads with different outputs (max |diff| ${check.maxAbsDiff})`);
        const files = measureFiles(r.files.map((f) => join(dir, f.name)));
        ctx.log(`${ctx.name}-tfjs/: ${(files.totalBytes / 1024).toFixed(1)} KiB (gzip ${(files.totalGzipBytes / 1024).toFixed(1)} KiB), weights ${c.tfjsQuantize}; stock tf.loadLayersModel max |diff| ${check.maxAbsDiff.toExponential(2)}, argmax agreement ${(check.argmaxAgreement * 100).toFixed(1)}%`);
        outputs.push(fileOutput(ctx, `${ctx.name}-tfjs`, 'tfjs-export', dir, outputs.length === 0));
        metrics[`${ctx.name}-tfjs`] = { bytes: files.totalBytes, gzipBytes: files.totalGzipBytes, quantize: c.tfjsQuantize, verify: { samples: xs.shape[0], ...check } };
      }
      return { outputs, metrics };
    } finally {
      xs.dispose();
      model.dispose();
    }
  },
};
