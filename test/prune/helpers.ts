import * as tf from '@tensorflow/tfjs';

/** Values of a layer weight by short name. */
export function weightValues(model: tf.LayersModel, layer: string, weight = 'kernel'): Float32Array {
  const v = model.getLayer(layer).weights.find((w) => w.originalName.endsWith(`/${weight}`));
  if (!v) throw new Error(`no weight ${layer}/${weight}`);
  return v.read().dataSync() as Float32Array;
}

export function zeros(values: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] === 0) n++;
  return n;
}

/** A small seeded MLP with two hidden layers, for fast tests. */
export function tinyMlp(seed = 1): tf.LayersModel {
  const init = (n: number) => tf.initializers.glorotUniform({ seed: seed * 31 + n });
  const input = tf.input({ shape: [28, 28, 1], name: 'input' });
  let x = tf.layers.flatten({ name: 'flatten' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: init(1), name: 'dense_1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 32, activation: 'relu', kernelInitializer: init(2), name: 'dense_2' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 10, kernelInitializer: init(3), name: 'logits' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'tiny' });
}

/** Give batch norms non-trivial moving statistics and every bias/beta random values. */
export function perturbStats(model: tf.LayersModel, seed = 3): void {
  let n = 0;
  for (const l of model.layers) {
    for (const w of l.weights) {
      const name = w.originalName;
      const s = seed * 101 + n++;
      let t: tf.Tensor | undefined;
      if (/moving_variance$/.test(name)) t = tf.randomUniform(w.shape as number[], 0.3, 2.5, 'float32', s);
      else if (/(moving_mean|beta|bias)$/.test(name)) t = tf.randomNormal(w.shape as number[], 0, 0.4, 'float32', s);
      else if (/gamma$/.test(name)) t = tf.randomUniform(w.shape as number[], 0.2, 1.8, 'float32', s);
      if (t) {
        w.write(t);
        t.dispose();
      }
    }
  }
}
