import * as tf from '@tensorflow/tfjs';
import { buildZooModel, zooNames } from '../model/zoo.js';

/*
 * Recipe-local architectures: small stand-ins for the nets of the example recipes that the zoo
 * does not have (a VGG-style teacher, a plain CNN student, a smaller ResNet student).
 */

/** Options of {@link buildArch}. */
export interface ArchArgs {
  inputShape: number[];
  numClasses: number;
  seed: number;
}

type Build = (a: ArchArgs) => tf.LayersModel;
type Init = ReturnType<typeof tf.initializers.heNormal>;

function initFor(seed: number) {
  let n = 0;
  return () => tf.initializers.heNormal({ seed: seed * 7919 + n++ });
}

function convRelu(x: tf.SymbolicTensor, filters: number, init: () => Init, name: string, strides = 1) {
  return tf.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same', activation: 'relu', kernelInitializer: init(), name }).apply(x) as tf.SymbolicTensor;
}

function pool(x: tf.SymbolicTensor, name: string) {
  return tf.layers.maxPooling2d({ poolSize: 2, name }).apply(x) as tf.SymbolicTensor;
}

function logits(x: tf.SymbolicTensor, a: ArchArgs, init: () => Init) {
  return tf.layers.dense({ units: a.numClasses, kernelInitializer: init(), name: 'logits' }).apply(x) as tf.SymbolicTensor;
}

const LOCAL: Record<string, { describe: string; build: Build }> = {
  'vgg-mini': {
    describe: 'VGG-style: [conv16-conv16-pool]-[conv32-conv32-pool]-flatten-dense128-logits',
    build: (a) => {
      const init = initFor(a.seed);
      const input = tf.input({ shape: a.inputShape, name: 'input' });
      let x = convRelu(input, 16, init, 'block1_conv1');
      x = convRelu(x, 16, init, 'block1_conv2');
      x = pool(x, 'block1_pool');
      x = convRelu(x, 32, init, 'block2_conv1');
      x = convRelu(x, 32, init, 'block2_conv2');
      x = pool(x, 'block2_pool');
      x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init(), name: 'fc1' }).apply(x) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: logits(x, a, init) });
    },
  },
  'cnn-small': {
    describe: 'plain small CNN: conv8-pool-conv16-pool-flatten-dense32-logits',
    build: (a) => {
      const init = initFor(a.seed);
      const input = tf.input({ shape: a.inputShape, name: 'input' });
      let x = pool(convRelu(input, 8, init, 'conv_1'), 'pool_1');
      x = pool(convRelu(x, 16, init, 'conv_2'), 'pool_2');
      x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.dense({ units: 32, activation: 'relu', kernelInitializer: init(), name: 'dense_1' }).apply(x) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: logits(x, a, init) });
    },
  },
  'resnet-micro': {
    describe: 'smaller ResNet: conv8-BN-relu stem, residual blocks of 8 and 16 (stride 2) channels, GAP, logits',
    build: (a) => {
      const init = initFor(a.seed);
      const input = tf.input({ shape: a.inputShape, name: 'input' });
      const bn = (t: tf.SymbolicTensor, name: string) => tf.layers.batchNormalization({ name }).apply(t) as tf.SymbolicTensor;
      const relu = (t: tf.SymbolicTensor, name: string) => tf.layers.activation({ activation: 'relu', name }).apply(t) as tf.SymbolicTensor;
      const conv = (t: tf.SymbolicTensor, filters: number, k: number, s: number, name: string) =>
        tf.layers.conv2d({ filters, kernelSize: k, strides: s, padding: 'same', useBias: false, kernelInitializer: init(), name }).apply(t) as tf.SymbolicTensor;
      let x = relu(bn(conv(input, 8, 3, 1, 'stem_conv'), 'stem_bn'), 'stem_relu');
      const block = (inp: tf.SymbolicTensor, filters: number, stride: number, name: string) => {
        let y = relu(bn(conv(inp, filters, 3, stride, `${name}_conv1`), `${name}_bn1`), `${name}_relu1`);
        y = bn(conv(y, filters, 3, 1, `${name}_conv2`), `${name}_bn2`);
        const short = stride !== 1 || inp.shape[3] !== filters ? bn(conv(inp, filters, 1, stride, `${name}_proj`), `${name}_proj_bn`) : inp;
        return relu(tf.layers.add({ name: `${name}_add` }).apply([y, short]) as tf.SymbolicTensor, `${name}_out`);
      };
      x = block(x, 8, 1, 'block1');
      x = block(x, 16, 2, 'block2');
      x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: logits(x, a, init) });
    },
  },
};

/** Recipe-local architecture names. */
export function localArchNames(): string[] {
  return Object.keys(LOCAL);
}

/** Every architecture a recipe can name: zoo models, then recipe-local ones. */
export function archNames(): string[] {
  return [...zooNames(), ...localArchNames()];
}

/** True if `name` is a zoo or recipe-local architecture. */
export function isArchName(name: string): boolean {
  return archNames().includes(name);
}

/**
 * Build a fresh model of a zoo or recipe-local architecture for the data's shapes.
 *
 * @example
 * const teacher = buildArch('vgg-mini', { inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
 */
export function buildArch(name: string, args: ArchArgs): tf.LayersModel {
  const local = LOCAL[name];
  const model = local
    ? local.build(args)
    : zooNames().includes(name)
      ? buildZooModel(name, { inputShape: args.inputShape, numClasses: args.numClasses, seed: args.seed })
      : undefined;
  if (!model) throw new Error(`unknown architecture '${name}': expected one of ${archNames().join(', ')}`);
  (model as { name: string }).name = name;
  return model;
}
