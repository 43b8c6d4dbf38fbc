import { join } from 'node:path';
import { z } from 'zod';
import { quantizeModel, quantizerNames, quantizedWeightsToJson } from '../../quantize/index.js';
import type { StageKind } from '../types.js';
import { baseFields, describeModel, figuresLine, modelRef, saveOutput } from './common.js';

/** Sidecar beside a quantized model (same name the `quantize`/`pack` CLI commands use). */
export const QUANTIZED_SIDECAR = 'quantization.json';

const schema = z
  .object({
    ...baseFields,
    from: modelRef().optional(),
    /** Quantizer: float16, int8, uint8, int8-channel, uint8-channel or codebook. */
    mode: z.string(),
    /** Codebook index width (2..8). */
    bits: z.number().int().min(2, { error: 'expected an integer in 2..8' }).max(8, { error: 'expected an integer in 2..8' }).optional(),
    /** Layers kept in float32. */
    skipLayers: z.array(z.string()).optional(),
    /** Fail the stage if test accuracy drops by more percentage points. */
    maxAccuracyDrop: z.number().min(0).optional(),
  })
  .strict();

/** Config of a `quantize` stage. */
export type QuantizeStageConfig = z.output<typeof schema>;

/**
 * `quantize`: post-training weight quantization. Writes the deployment model (dequantized
 * weights, loadable anywhere) and the quantized records (`quantization.json`) for `pack`.
 */
export const quantizeStage: StageKind<QuantizeStageConfig> = {
  name: 'quantize',
  describe: 'post-training weight quantization (float16, int8, per-channel int8, codebook)',
  schema,
  refs: (c) => ({ from: c.from }),
  async run(ctx, c) {
    if (!quantizerNames().includes(c.mode)) {
      throw new Error(`stages[${ctx.index}].quantize.mode: expected one of ${quantizerNames().join(', ')}, got '${c.mode}'`);
    }
    const data = await ctx.loadData();
    const ref = ctx.ref('from')!;
    const input = await ctx.loadModel(ref);
    try {
      const classification = data.task === 'classification';
      const r = await quantizeModel(input, {
        mode: c.mode,
        bits: c.bits,
        skipLayers: c.skipLayers,
        validation: classification ? data.test : undefined,
        maxAccuracyDrop: classification ? c.maxAccuracyDrop : undefined,
      });
      try {
        // Model and sidecar in one unit: pack reads the sidecar beside the model it describes.
        const out = await saveOutput(ctx, r.model, ctx.name, true, { [QUANTIZED_SIDECAR]: quantizedWeightsToJson(r.quantized) });
        const figures = await describeModel(r.model, join(ctx.outDir, out.path), data);
        const maxAbsError = Math.max(0, ...r.weights.map((w) => w.maxAbsError));
        ctx.log(`${ctx.name}: ${r.weights.length} weights as ${c.mode}, max |error| ${maxAbsError.toExponential(2)}; ${figuresLine(figures)}`);
        return {
          outputs: [out],
          metrics: { mode: c.mode, quantizedWeights: r.weights.length, maxAbsError, accuracyBefore: r.accuracyBefore, [ctx.name]: figures },
        };
      } finally {
        r.model.dispose();
      }
    } finally {
      input.dispose();
    }
  },
};
