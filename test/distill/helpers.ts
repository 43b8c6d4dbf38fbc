import * as tf from '@tensorflow/tfjs';

/** Tiny MLP for fast tests: flatten - dense(hidden, relu) [- dropout] - dense(classes). */
export function tinyMlp(args: { hidden: number; seed: number; classes?: number; dropout?: number; softmax?: boolean; name?: string }): tf.LayersModel {
  const input = tf.input({ shape: [28, 28, 1] });
  let x = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  x = tf.layers
    .dense({ units: args.hidden, activation: 'relu', name: 'hidden', kernelInitializer: tf.initializers.glorotUniform({ seed: args.seed }) })
    .apply(x) as tf.SymbolicTensor;
  if (args.dropout) x = tf.layers.dropout({ rate: args.dropout, name: 'drop' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({
      units: args.classes ?? 10,
      name: 'logits',
      activation: args.softmax ? 'softmax' : 'linear',
      kernelInitializer: tf.initializers.glorotUniform({ seed: args.seed + 1 }),
    })
    .apply(x) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: out });
  (m as { name: string }).name = args.name ?? 'tiny';
  return m;
}

/** Copies of all weight values of a model, for before/after comparisons. */
export function weightValues(m: tf.LayersModel): Float32Array[] {
  return m.weights.map((w) => w.read().dataSync().slice() as Float32Array);
}

/** Copy weights of `from` into `to` (same architecture). */
export function copyWeights(from: tf.LayersModel, to: tf.LayersModel): void {
  to.setWeights(from.getWeights());
}

const f32 = { type: 'DT_FLOAT' };
function constNode(name: string, dims: number[], dtype: 'DT_FLOAT' | 'DT_INT32') {
  return { name, op: 'Const', attr: { dtype: { type: dtype }, value: { tensor: { dtype, tensorShape: { dim: dims.map((d) => ({ size: String(d) })) } } } } };
}

/**
 * A hand-written tfjs graph model (GraphDef JSON, as tensorflowjs_converter emits) computing
 * the same function as `tinyMlp` (without dropout) with that model's weights. The hidden ReLU
 * node is named `hidden_relu` so it can serve as a feature layer.
 */
export async function graphTwin(mlp: tf.LayersModel): Promise<import('@tensorflow/tfjs-converter').GraphModel> {
  const { loadGraphModel } = await import('@tensorflow/tfjs-converter');
  const [w1, b1, w2, b2] = mlp.getWeights();
  const node = [
    { name: 'input', op: 'Placeholder', attr: { dtype: f32, shape: { shape: { dim: [-1, 28, 28, 1].map((d) => ({ size: String(d) })) } } } },
    constNode('flat_shape', [2], 'DT_INT32'),
    { name: 'flat', op: 'Reshape', input: ['input', 'flat_shape'], attr: { T: f32, Tshape: { type: 'DT_INT32' } } },
    constNode('w1', w1!.shape, 'DT_FLOAT'),
    constNode('b1', b1!.shape, 'DT_FLOAT'),
    { name: 'mm1', op: 'MatMul', input: ['flat', 'w1'], attr: { T: f32, transpose_a: { b: false }, transpose_b: { b: false } } },
    { name: 'add1', op: 'BiasAdd', input: ['mm1', 'b1'], attr: { T: f32 } },
    { name: 'hidden_relu', op: 'Relu', input: ['add1'], attr: { T: f32 } },
    constNode('w2', w2!.shape, 'DT_FLOAT'),
    constNode('b2', b2!.shape, 'DT_FLOAT'),
    { name: 'mm2', op: 'MatMul', input: ['hidden_relu', 'w2'], attr: { T: f32, transpose_a: { b: false }, transpose_b: { b: false } } },
    { name: 'logits', op: 'BiasAdd', input: ['mm2', 'b2'], attr: { T: f32 } },
  ];
  const tensors: Array<[string, tf.Tensor]> = [['flat_shape', tf.tensor1d([-1, 784], 'int32')], ['w1', w1!], ['b1', b1!], ['w2', w2!], ['b2', b2!]];
  const { data, specs } = await tf.io.encodeWeights(tensors.map(([name, tensor]) => ({ name, tensor })));
  tensors[0]![1].dispose();
  return loadGraphModel(
    tf.io.fromMemory({
      modelTopology: { node, versions: { producer: 1 }, library: {} },
      format: 'graph-model',
      weightSpecs: specs,
      weightData: data,
    }),
  );
}

