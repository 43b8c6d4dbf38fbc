import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Load an exported layers-model folder with stock tfjs only (files read from disk, handed to
 * `tf.io.fromMemory`; tfjs itself dequantizes), so exports are checked the way users load them.
 */
export async function loadTfjsExport(dir: string): Promise<tf.LayersModel> {
  const path = join(dir, 'model.json');
  let json: { modelTopology?: object; weightsManifest?: tf.io.WeightsManifestConfig };
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: cannot read model.json (${(err as Error).message})`);
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) throw new Error(`${path}: expected modelTopology and weightsManifest`);
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const bufs = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p))));
  const all = Buffer.concat(bufs);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
}

/**
 * Max |prediction difference| between a model and its export in `dir` on `inputs`
 * (0 for an unquantized export; the quantization error otherwise).
 */
export async function compareTfjsExport(model: tf.LayersModel, dir: string, inputs: tf.Tensor | tf.Tensor[]): Promise<number> {
  const loaded = await loadTfjsExport(dir);
  try {
    return tf.tidy(() => {
      const flat = (m: tf.LayersModel) => {
        const out = m.predict(inputs);
        return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync());
      };
      const a = flat(model);
      const b = flat(loaded);
      let m = 0;
      a.forEach((x, i) => x.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i]![j]!)))));
      return m;
    });
  } finally {
    loaded.dispose();
  }
}
