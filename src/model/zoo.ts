import * as tf from '@tensorflow/tfjs';

/** Options shared by every zoo builder. */
export interface ZooArgs {
  /** Input shape of one sample (default [28, 28, 1], MNIST). */
  inputShape?: number[];
  /** Number of output classes (default 10). */
  numClasses?: number;
  /** Seed for weight initialisation, so two builds with the same seed are identical. */
  seed?: number;
  /**
   * What the last layer outputs: `logits` (default; what distillation and ONNX export want)
   * or `softmax` probabilities.
   */
  output?: 'logits' | 'softmax';
}

type Builder = (a: Required<ZooArgs>) => tf.LayersModel;

/** Seeded initialisers: repeatable models without touching tfjs's global RNG. */
function seeded(seed: number) {
  let n = 0;
  return {
    kernel: () => tf.initializers.glorotUniform({ seed: seed * 1009 + n++ }),
    he: () => tf.initializers.heNormal({ seed: seed * 1009 + n++ }),
  };
}

function head(x: tf.SymbolicTensor, a: Required<ZooArgs>, init: ReturnType<typeof seeded>, name = 'logits') {
  return tf.layers
    .dense({ units: a.numClasses, kernelInitializer: init.kernel(), activation: a.output === 'softmax' ? 'softmax' : 'linear', name })
    .apply(x) as tf.SymbolicTensor;
}

function mlpBuilder(hidden: number[], dropout = 0): Builder {
  return (a) => {
    const init = seeded(a.seed);
    const input = tf.input({ shape: a.inputShape, name: 'input' });
    let x = tf.layers.flatten({ name: 'flatten' }).apply(input) as tf.SymbolicTensor;
    hidden.forEach((units, i) => {
      x = tf.layers.dense({ units, activation: 'relu', kernelInitializer: init.kernel(), name: `dense_${i + 1}` }).apply(x) as tf.SymbolicTensor;
      if (dropout > 0) x = tf.layers.dropout({ rate: dropout, seed: a.seed + i, name: `dropout_${i + 1}` }).apply(x) as tf.SymbolicTensor;
    });
    return tf.model({ inputs: input, outputs: head(x, a, init) });
  };
}

function conv(x: tf.SymbolicTensor, filters: number, kernelSize: number, init: ReturnType<typeof seeded>, name: string, extra: Record<string, unknown> = {}) {
  return tf.layers.conv2d({ filters, kernelSize, activation: 'relu', kernelInitializer: init.kernel(), name, ...extra } as Parameters<typeof tf.layers.conv2d>[0]).apply(x) as tf.SymbolicTensor;
}

const builders: Record<string, { describe: string; build: Builder }> = {
  mlp: { describe: 'Hinton 2015 small net: 784-800-800-10', build: mlpBuilder([800, 800]) },
  'mlp-big': { describe: 'Hinton 2015 big net: 784-1200-1200-10 with dropout 0.5', build: mlpBuilder([1200, 1200], 0.5) },
  lenet300: { describe: 'LeNet-300-100 (Deep Compression): 784-300-100-10', build: mlpBuilder([300, 100]) },
  lenet5: {
    describe: 'LeNet-5: conv6(5x5,same)-avgpool-conv16(5x5)-avgpool-dense120-dense84-dense10',
    build: (a) => {
      const init = seeded(a.seed);
      const input = tf.input({ shape: a.inputShape, name: 'input' });
      let x = conv(input, 6, 5, init, 'conv_1', { padding: 'same' });
      x = tf.layers.averagePooling2d({ poolSize: 2, name: 'pool_1' }).apply(x) as tf.SymbolicTensor;
      x = conv(x, 16, 5, init, 'conv_2');
      x = tf.layers.averagePooling2d({ poolSize: 2, name: 'pool_2' }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.dense({ units: 120, activation: 'relu', kernelInitializer: init.kernel(), name: 'dense_1' }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.dense({ units: 84, activation: 'relu', kernelInitializer: init.kernel(), name: 'dense_2' }).apply(x) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: head(x, a, init) });
    },
  },
  cnn: {
    describe: 'Keras mnist_cnn: conv32-conv64-maxpool-dense128-dense10',
    build: (a) => {
      const init = seeded(a.seed);
      const input = tf.input({ shape: a.inputShape, name: 'input' });
      let x = conv(input, 32, 3, init, 'conv_1');
      x = conv(x, 64, 3, init, 'conv_2');
      x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init.kernel(), name: 'dense_1' }).apply(x) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: head(x, a, init) });
    },
  },
  'tfmot-cnn': {
    describe: 'TF-MOT pruning tutorial: reshape-conv12(3x3,relu)-maxpool-flatten-dense10',
    build: (a) => {
      const init = seeded(a.seed);
      const input = tf.input({ shape: a.inputShape, name: 'input' });
      let x = tf.layers.reshape({ targetShape: [28, 28, 1], name: 'reshape' }).apply(input) as tf.SymbolicTensor;
      x = conv(x, 12, 3, init, 'conv');
      x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: head(x, a, init) });
    },
  },
  'keras-kd-teacher': {
    describe: 'keras.io KD teacher: conv256(3x3,s2,same)-leakyrelu-maxpool(2,s1,same)-conv512(3x3,s2,same)-flatten-dense10',
    build: (a) => kerasKd(a, 256, 512),
  },
  'keras-kd-student': {
    describe: 'keras.io KD student: conv16(3x3,s2,same)-leakyrelu-maxpool(2,s1,same)-conv32(3x3,s2,same)-flatten-dense10',
    build: (a) => kerasKd(a, 16, 32),
  },
  'resnet-mini': {
    describe: 'small ResNet: conv16-BN-relu, two residual blocks (BN, Add), global avg pool, dense10',
    build: (a) => {
      const init = seeded(a.seed);
      const input = tf.input({ shape: a.inputShape, name: 'input' });
      let x = tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init.he(), name: 'stem_conv' }).apply(input) as tf.SymbolicTensor;
      x = tf.layers.batchNormalization({ name: 'stem_bn' }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.activation({ activation: 'relu', name: 'stem_relu' }).apply(x) as tf.SymbolicTensor;
      const block = (inp: tf.SymbolicTensor, filters: number, stride: number, name: string) => {
        let y = tf.layers.conv2d({ filters, kernelSize: 3, strides: stride, padding: 'same', useBias: false, kernelInitializer: init.he(), name: `${name}_conv1` }).apply(inp) as tf.SymbolicTensor;
        y = tf.layers.batchNormalization({ name: `${name}_bn1` }).apply(y) as tf.SymbolicTensor;
        y = tf.layers.activation({ activation: 'relu', name: `${name}_relu1` }).apply(y) as tf.SymbolicTensor;
        y = tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init.he(), name: `${name}_conv2` }).apply(y) as tf.SymbolicTensor;
        y = tf.layers.batchNormalization({ name: `${name}_bn2` }).apply(y) as tf.SymbolicTensor;
        let shortcut = inp;
        if (stride !== 1 || (inp.shape[3] as number) !== filters) {
          shortcut = tf.layers.conv2d({ filters, kernelSize: 1, strides: stride, useBias: false, kernelInitializer: init.he(), name: `${name}_proj` }).apply(inp) as tf.SymbolicTensor;
          shortcut = tf.layers.batchNormalization({ name: `${name}_proj_bn` }).apply(shortcut) as tf.SymbolicTensor;
        }
        const sum = tf.layers.add({ name: `${name}_add` }).apply([y, shortcut]) as tf.SymbolicTensor;
        return tf.layers.activation({ activation: 'relu', name: `${name}_out` }).apply(sum) as tf.SymbolicTensor;
      };
      x = block(x, 16, 1, 'block1');
      x = block(x, 32, 2, 'block2');
      x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: head(x, a, init) });
    },
  },
  'mobilenet-mini': {
    describe: 'small MobileNet: conv16(s2)-BN-relu6, depthwise3x3-BN-relu6-pointwise32, separable64(s2), GAP, dense10',
    build: (a) => {
      const init = seeded(a.seed);
      const input = tf.input({ shape: a.inputShape, name: 'input' });
      const relu6 = (t: tf.SymbolicTensor, name: string) => tf.layers.reLU({ maxValue: 6, name }).apply(t) as tf.SymbolicTensor;
      let x = tf.layers.conv2d({ filters: 16, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: init.he(), name: 'stem_conv' }).apply(input) as tf.SymbolicTensor;
      x = tf.layers.batchNormalization({ name: 'stem_bn' }).apply(x) as tf.SymbolicTensor;
      x = relu6(x, 'stem_relu');
      x = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: init.he(), name: 'dw_1' }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.batchNormalization({ name: 'dw_1_bn' }).apply(x) as tf.SymbolicTensor;
      x = relu6(x, 'dw_1_relu');
      x = tf.layers.conv2d({ filters: 32, kernelSize: 1, useBias: false, kernelInitializer: init.he(), name: 'pw_1' }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.batchNormalization({ name: 'pw_1_bn' }).apply(x) as tf.SymbolicTensor;
      x = relu6(x, 'pw_1_relu');
      x = tf.layers.separableConv2d({ filters: 64, kernelSize: 3, strides: 2, padding: 'same', depthwiseInitializer: init.he(), pointwiseInitializer: init.he(), name: 'sep_2' }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.batchNormalization({ name: 'sep_2_bn' }).apply(x) as tf.SymbolicTensor;
      x = relu6(x, 'sep_2_relu');
      x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: head(x, a, init) });
    },
  },
  'unet-mini': {
    describe: 'small U-Net for 28x28 segmentation: encoder conv16/conv32, Conv2DTranspose decoder, Concatenate skip, per-pixel softmax over numClasses',
    build: (a) => {
      const init = seeded(a.seed);
      const input = tf.input({ shape: a.inputShape, name: 'input' });
      const e1 = conv(input, 16, 3, init, 'enc_1', { padding: 'same' });
      let x = tf.layers.maxPooling2d({ poolSize: 2, name: 'down_1' }).apply(e1) as tf.SymbolicTensor;
      x = conv(x, 32, 3, init, 'enc_2', { padding: 'same' });
      x = tf.layers.conv2dTranspose({ filters: 16, kernelSize: 2, strides: 2, padding: 'same', kernelInitializer: init.kernel(), name: 'up_1' }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.concatenate({ name: 'skip_1' }).apply([x, e1]) as tf.SymbolicTensor;
      x = conv(x, 16, 3, init, 'dec_1', { padding: 'same' });
      const out = tf.layers.conv2d({ filters: a.numClasses, kernelSize: 1, activation: a.output === 'softmax' ? 'softmax' : 'linear', kernelInitializer: init.kernel(), name: 'logits' }).apply(x) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: out });
    },
  },
};

function kerasKd(a: Required<ZooArgs>, f1: number, f2: number): tf.LayersModel {
  const init = seeded(a.seed);
  const input = tf.input({ shape: a.inputShape, name: 'input' });
  let x = tf.layers.conv2d({ filters: f1, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init.kernel(), name: 'conv_1' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.leakyReLU({ alpha: 0.2, name: 'leaky_1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same', name: 'pool' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: f2, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init.kernel(), name: 'conv_2' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: head(x, a, init) });
}

/** Names accepted by {@link buildZooModel}. */
export function zooNames(): string[] {
  return Object.keys(builders);
}

/** One-line description of a zoo architecture. */
export function describeZooModel(name: string): string {
  const b = builders[name];
  if (!b) throw new Error(`unknown zoo model '${name}': expected one of ${zooNames().join(', ')}`);
  return b.describe;
}

/**
 * Build a fresh, untrained zoo model by name.
 *
 * @example
 * const student = buildZooModel('mlp', { seed: 1 });
 */
export function buildZooModel(name: string, args: ZooArgs = {}): tf.LayersModel {
  const b = builders[name];
  if (!b) throw new Error(`unknown zoo model '${name}': expected one of ${zooNames().join(', ')}`);
  const full: Required<ZooArgs> = {
    inputShape: args.inputShape ?? [28, 28, 1],
    numClasses: args.numClasses ?? (name === 'unet-mini' ? 11 : 10),
    seed: args.seed ?? 0,
    output: args.output ?? 'logits',
  };
  const model = b.build(full);
  (model as { name: string }).name = name;
  return model;
}
