import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { quantizedWeightsFromJson } from '../../quantize/index.js';
import { containerStats, packModel, unpackModel } from '../../serialize/index.js';
import { writeFileAtomic } from '../../util/atomic.js';
import type { StageKind } from '../types.js';
import { baseFields, fileOutput, folderSize, modelRef, quality } from './common.js';
import { QUANTIZED_SIDECAR } from './quantize.js';

const schema = z
  .object({
    ...baseFields,
    from: modelRef().optional(),
    /** Deflate level 0..9. */
    level: z.number().int().min(0, { error: 'expected an integer in 0..9' }).max(9, { error: 'expected an integer in 0..9' }).default(9),
  })
  .strict();

/** Config of a `pack` stage. */
export type PackStageConfig = z.output<typeof schema>;

/** Largest |a - b| over two models' outputs on the same inputs. */
function maxOutputDiff(a: tf.LayersModel, b: tf.LayersModel, xs: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a.predict(xs) as tf.Tensor, b.predict(xs) as tf.Tensor))).dataSync()[0]!);
}

/**
 * `pack`: store a model in the compact single-file container (using the quantized records of a
 * `quantize` stage when present), then unpack it and check it predicts exactly as before.
 */
export const packStage: StageKind<PackStageConfig> = {
  name: 'pack',
  describe: 'pack into the compact .tfjsc container and verify the round trip',
  schema,
  refs: (c) => ({ from: c.from }),
  async run(ctx, c) {
    const data = await ctx.loadData();
    const ref = ctx.ref('from')!;
    const model = await ctx.loadModel(ref);
    const sidecar = ref.path ? join(ref.path, QUANTIZED_SIDECAR) : undefined;
    const quantized = sidecar && existsSync(sidecar) ? quantizedWeightsFromJson(JSON.parse(readFileSync(sidecar, 'utf8'))) : undefined;
    let back: tf.LayersModel | undefined;
    try {
      const bytes = await packModel(model, { quantized, level: c.level });
      const path = join(ctx.dir, `${ctx.name}.tfjsc`);
      writeFileAtomic(path, bytes);
      back = await unpackModel(bytes);
      const xs = data.test.xsOf(Array.from({ length: Math.min(64, data.test.size) }, (_, i) => i));
      const diff = maxOutputDiff(model, back, xs);
      xs.dispose();
      if (diff !== 0) throw new Error(`pack: the unpacked container predicts differently from '${ref.label}' (max |diff| ${diff})`);
      const s = containerStats(bytes);
      const source = ref.path ? folderSize(ref.path) : undefined;
      const q = await quality(back, data);
      ctx.log(
        `${ctx.name}.tfjsc: ${(s.fileBytes / 1024).toFixed(1)} KiB (gzip ${(s.gzipBytes / 1024).toFixed(1)} KiB)` +
          (source ? ` vs tfjs folder ${(source.bytes / 1024).toFixed(1)} KiB (gzip ${(source.gzipBytes / 1024).toFixed(1)} KiB)` : '') +
          `; round trip exact${quantized ? ', quantized records used' : ''}`,
      );
      return {
        outputs: [fileOutput(ctx, ctx.name, 'container', path, true)],
        metrics: {
          [ctx.name]: { bytes: s.fileBytes, gzipBytes: s.gzipBytes, ratio: s.ratio, ...q },
          source,
          usedQuantizedRecords: quantized !== undefined,
          roundTripMaxAbsDiff: diff,
          encodings: s.tensors.map((t) => ({ name: t.name, encoding: t.encoding, storedBytes: t.storedBytes, denseBytes: t.denseBytes })),
        },
      };
    } finally {
      model.dispose();
      back?.dispose();
    }
  },
};
