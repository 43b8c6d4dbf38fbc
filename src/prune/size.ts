import * as tf from '@tensorflow/tfjs';
import { gzipSize } from '../util/gzip.js';

/** Bytes of a model's tfjs artifacts (model.json + weights.bin) as saved, raw and gzipped. */
export interface ArtifactBytes {
  /** model.json + weights bytes. */
  bytes: number;
  /** Weight bytes only. */
  weightBytes: number;
  /** gzip level 9 (pako) of model.json plus gzip of the weights: what a gzip-serving CDN sends. */
  gzipBytes: number;
  /** gzip level 9 of the weights alone. */
  gzipWeightBytes: number;
}

/**
 * Serialise a layers model as `model.save` would write it and measure raw and gzipped bytes.
 * Pruned zeros show up here: the raw size is unchanged, the gzipped size shrinks.
 *
 * @example
 * const { gzipBytes } = await artifactBytes(pruned);
 */
export async function artifactBytes(model: tf.LayersModel): Promise<ArtifactBytes> {
  let art: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      art = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = art!;
  const weights = new Uint8Array(tf.io.concatenateArrayBuffers(Array.isArray(a.weightData) ? a.weightData : a.weightData ? [a.weightData] : []));
  const json = new TextEncoder().encode(
    JSON.stringify({ modelTopology: a.modelTopology, format: a.format, generatedBy: a.generatedBy, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }),
  );
  const gzipWeightBytes = gzipSize(weights);
  return {
    bytes: json.byteLength + weights.byteLength,
    weightBytes: weights.byteLength,
    gzipBytes: gzipSize(json) + gzipWeightBytes,
    gzipWeightBytes,
  };
}
