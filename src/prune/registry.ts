import type * as tf from '@tensorflow/tfjs';

/** One prunable weight of a layer class. */
export interface PrunableWeight {
  /** Short weight name, the part after the last `/` of the variable name (e.g. `kernel`). */
  weight: string;
  /**
   * Axis that indexes the layer's input features, used by N:M sparsity (TF-MOT groups M
   * consecutive weights along the input dimension); `null` when N:M makes no sense.
   */
  inputAxis: number | null;
}

// Which weights of which layer classes are pruned by default. Biases, batch-norm parameters and
// anything else stay dense: they are tiny and pruning them hurts accuracy for no size gain.
const prunable = new Map<string, PrunableWeight[]>([
  ['Dense', [{ weight: 'kernel', inputAxis: 0 }]],
  ['Conv1D', [{ weight: 'kernel', inputAxis: 1 }]],
  ['Conv2D', [{ weight: 'kernel', inputAxis: 2 }]],
  ['Conv2DTranspose', [{ weight: 'kernel', inputAxis: 3 }]],
  ['DepthwiseConv2D', [{ weight: 'depthwise_kernel', inputAxis: null }]],
  [
    'SeparableConv2D',
    [
      { weight: 'depthwise_kernel', inputAxis: null },
      { weight: 'pointwise_kernel', inputAxis: 2 },
    ],
  ],
  ['Embedding', [{ weight: 'embeddings', inputAxis: 1 }]],
]);

/**
 * Register (or replace) the prunable weights of a layer class, e.g. a custom layer.
 *
 * @example
 * registerPrunableLayer('MyDense', [{ weight: 'kernel', inputAxis: 0 }]);
 */
export function registerPrunableLayer(className: string, weights: PrunableWeight[]): void {
  prunable.set(className, weights);
}

/** Prunable weights of a layer class (empty when the class has none). */
export function prunableWeightsOf(className: string): PrunableWeight[] {
  return prunable.get(className) ?? [];
}

/** Layer classes with prunable weights. */
export function prunableClasses(): string[] {
  return [...prunable.keys()];
}

/** Short name of a layer variable: `conv_1/kernel` -> `kernel`. */
export function shortWeightName(v: tf.LayerVariable): string {
  const name = v.originalName ?? v.name;
  return name.slice(name.lastIndexOf('/') + 1).replace(/:\d+$/, '');
}

/** Find a layer's variable by short name, with an error listing what the layer has. */
export function findWeight(layer: tf.layers.Layer, weight: string): tf.LayerVariable {
  const v = layer.weights.find((w) => shortWeightName(w) === weight);
  if (!v) {
    throw new Error(`layer '${layer.name}' (${layer.getClassName()}) has no weight '${weight}'; it has: ${layer.weights.map(shortWeightName).join(', ') || 'no weights'}`);
  }
  return v;
}
