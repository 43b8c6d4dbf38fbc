import * as tf from '@tensorflow/tfjs';

/** Non-trivial initialisers so biases, BN statistics etc. really matter in parity checks. */
let seed = 100;
const rnd = (stddev = 0.3) => tf.initializers.randomNormal({ mean: 0, stddev, seed: seed++ });
const pos = () => tf.initializers.randomUniform({ minval: 0.5, maxval: 2, seed: seed++ });
const L = tf.layers;
type S = tf.SymbolicTensor;
type ConvArgs = Parameters<typeof tf.layers.conv2d>[0];
const ap = (layer: tf.layers.Layer, x: S | S[]) => layer.apply(x) as S;

function conv(x: S, filters: number, extra: Partial<ConvArgs> = {}): S {
  return ap(L.conv2d({ filters, kernelSize: 3, biasInitializer: rnd(), kernelInitializer: rnd(), ...extra } as ConvArgs), x);
}

/** Minimal custom layer named like Keras' Subtract (tfjs 4.22 has none) to exercise that converter. */
export class Subtract extends tf.layers.Layer {
  static className = 'Subtract';
  override computeOutputShape(s: tf.Shape[]): tf.Shape {
    return s[0]!;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [a, b] = inputs as tf.Tensor[];
    return tf.sub(a!, b!);
  }
}
tf.serialization.registerClass(Subtract);

/** One small model per supported layer family: name -> builder. */
export const layerModels: Record<string, () => tf.LayersModel> = {
  'conv2d same s2 odd input + relu6, dilated valid conv': () => {
    const i = tf.input({ shape: [9, 9, 2] });
    let x = conv(i, 4, { strides: 2, padding: 'same', activation: 'relu6' });
    x = conv(x, 3, { dilationRate: 2, padding: 'same', activation: 'elu' });
    return tf.model({ inputs: i, outputs: ap(L.flatten(), x) });
  },
  'depthwise (multiplier 2, s2 same) + separable (s2 same) + BN': () => {
    const i = tf.input({ shape: [9, 9, 3] });
    let x = ap(L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', depthwiseInitializer: rnd(), biasInitializer: rnd() }), i);
    x = ap(L.batchNormalization({ movingMeanInitializer: rnd(), movingVarianceInitializer: pos(), gammaInitializer: pos(), betaInitializer: rnd(), epsilon: 0.01 }), x);
    x = ap(L.separableConv2d({ filters: 5, kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', depthwiseInitializer: rnd(), pointwiseInitializer: rnd(), biasInitializer: rnd(), activation: 'selu' }), x);
    return tf.model({ inputs: i, outputs: ap(L.globalMaxPooling2d({}), x) });
  },
  'conv2dTranspose k3s2 same, k2s2 valid, k1s2 same': () => {
    const i = tf.input({ shape: [5, 5, 2] });
    const t = (k: number, p: 'same' | 'valid', x: S) =>
      ap(L.conv2dTranspose({ filters: 3, kernelSize: k, strides: 2, padding: p, kernelInitializer: rnd(), biasInitializer: rnd() }), x);
    const a = ap(L.globalAveragePooling2d({}), t(3, 'same', i));
    const b = ap(L.globalAveragePooling2d({}), t(2, 'valid', i));
    const c = ap(L.flatten(), t(1, 'same', i));
    return tf.model({ inputs: i, outputs: [a, b, c] });
  },
  'activations on dense and conv (softmax over channels-first)': () => {
    const i = tf.input({ shape: [6, 6, 2] });
    const outs: S[] = [];
    for (const act of ['relu', 'elu', 'selu', 'sigmoid', 'hardSigmoid', 'tanh', 'softmax', 'softplus', 'softsign', 'swish', 'mish', 'gelu', 'gelu_new', 'linear', 'relu6']) {
      outs.push(conv(i, 2, { activation: act as 'relu' }));
    }
    const flat = ap(L.flatten(), i);
    outs.push(ap(L.dense({ units: 5, activation: 'logSoftmax' as 'softmax', kernelInitializer: rnd(), biasInitializer: rnd() }), flat));
    return tf.model({ inputs: i, outputs: outs });
  },
  'activation layers: LeakyReLU, ReLU(maxValue), ELU, Softmax, ThresholdedReLU, PReLU, Activation': () => {
    const i = tf.input({ shape: [5, 5, 3] });
    const x = conv(i, 4, { padding: 'same' });
    const outs = [
      ap(L.leakyReLU({ alpha: 0.1 }), x),
      ap(L.reLU({ maxValue: 0.5 }), x),
      ap(L.reLU({}), x),
      ap(L.elu({}), x),
      ap(L.softmax({ axis: -1 }), x),
      ap(L.thresholdedReLU({ theta: 0.2 }), x),
      ap(L.prelu({ alphaInitializer: rnd() }), x),
      ap(L.activation({ activation: 'tanh' }), x),
    ];
    return tf.model({ inputs: i, outputs: outs });
  },
  'pooling 2d (same/valid, max/avg, odd sizes) and global pools': () => {
    const i = tf.input({ shape: [7, 7, 2] });
    const x = conv(i, 3, { padding: 'same' });
    return tf.model({
      inputs: i,
      outputs: [
        ap(L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }), x),
        ap(L.averagePooling2d({ poolSize: 2, strides: 2, padding: 'same' }), x),
        ap(L.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }), x),
        ap(L.maxPooling2d({ poolSize: 2, padding: 'valid' }), x),
        ap(L.globalAveragePooling2d({}), x),
        ap(L.globalMaxPooling2d({}), i),
      ],
    });
  },
  '1D: conv1d (same s2, dilated valid), pooling 1d, global 1d': () => {
    const i = tf.input({ shape: [11, 3] });
    const a = ap(L.conv1d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: rnd(), biasInitializer: rnd(), activation: 'relu' }), i);
    const b = ap(L.conv1d({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'valid', kernelInitializer: rnd(), biasInitializer: rnd() }), i);
    return tf.model({
      inputs: i,
      outputs: [
        ap(L.maxPooling1d({ poolSize: 2, padding: 'same' }), a),
        ap(L.averagePooling1d({ poolSize: 3, strides: 2, padding: 'same' }), b),
        ap(L.globalAveragePooling1d({}), b),
        ap(L.globalMaxPooling1d({}), a),
        b,
      ],
    });
  },
  'flatten -> dense (row permutation), flatten -> concat, reshape, permute, dropout': () => {
    const i = tf.input({ shape: [6, 6, 1] });
    const x = conv(i, 3, { activation: 'relu' });
    const f = ap(L.flatten(), ap(L.spatialDropout1d({ rate: 0.5 }) as unknown as tf.layers.Layer, ap(L.reshape({ targetShape: [16, 3] }), x)));
    const d = ap(L.dense({ units: 4, kernelInitializer: rnd(), biasInitializer: rnd() }), ap(L.dropout({ rate: 0.3 }), ap(L.flatten(), x)));
    const c = ap(L.concatenate({}), [ap(L.flatten(), x), f]);
    const p = ap(L.permute({ dims: [2, 1, 3] }), x);
    const bn = ap(L.batchNormalization({ movingMeanInitializer: rnd(), movingVarianceInitializer: pos() }), ap(L.flatten(), x));
    const pr = ap(L.prelu({ alphaInitializer: rnd() }), ap(L.flatten(), x));
    return tf.model({ inputs: i, outputs: [d, c, p, bn, pr] });
  },
  'merges: add, subtract, multiply, average, maximum, minimum, concatenate': () => {
    const i = tf.input({ shape: [6, 6, 2] });
    const a = conv(i, 3, { padding: 'same' });
    const b = conv(i, 3, { padding: 'same' });
    // tfjs 4.22 Add/Multiply dispose a tensor passed twice ([a, b, a]), so three distinct inputs.
    const c = conv(i, 3, { padding: 'same' });
    const fa = ap(L.dense({ units: 4, kernelInitializer: rnd() }), ap(L.flatten(), a));
    const fb = ap(L.dense({ units: 4, kernelInitializer: rnd() }), ap(L.flatten(), b));
    return tf.model({
      inputs: i,
      outputs: [
        ap(L.add({}), [a, b, c]),
        ap(new Subtract({}), [a, b]),
        ap(L.multiply({}), [a, b, c]),
        ap(L.average({}), [a, b]),
        ap(L.maximum({}), [fa, fb]),
        ap(L.minimum({}), [a, b]),
        ap(L.concatenate({ axis: -1 }), [a, b]),
        ap(L.concatenate({ axis: 1 }), [a, b]),
        ap(L.add({}), [ap(L.flatten(), a), ap(L.flatten(), b)]),
      ],
    });
  },
  'zeroPadding2d, cropping2D, upSampling2d (nearest, bilinear), rescaling': () => {
    const i = tf.input({ shape: [5, 6, 2] });
    const x = conv(i, 3, { padding: 'same' });
    return tf.model({
      inputs: i,
      outputs: [
        ap(L.zeroPadding2d({ padding: [[1, 2], [0, 3]] }), x),
        ap(L.cropping2D({ cropping: [[1, 0], [2, 1]] }), x),
        ap(L.upSampling2d({ size: [2, 3] }), x),
        ap(L.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }), x),
        ap(L.rescaling({ scale: 1 / 255, offset: -0.5 }), i),
      ],
    });
  },
  'embedding -> layerNormalization -> dense -> global pool 1d': () => {
    const i = tf.input({ shape: [7] });
    let x = ap(L.embedding({ inputDim: 20, outputDim: 8, embeddingsInitializer: rnd(1) }), i);
    x = ap(L.layerNormalization({ epsilon: 1e-3, gammaInitializer: pos(), betaInitializer: rnd() }), x);
    x = ap(L.dense({ units: 6, activation: 'gelu' as 'relu', kernelInitializer: rnd(), biasInitializer: rnd() }), x);
    return tf.model({ inputs: i, outputs: ap(L.globalAveragePooling1d({}), x) });
  },
  'layerNormalization on a conv feature map, BN on channels-last rank 3': () => {
    const i = tf.input({ shape: [5, 5, 2] });
    const x = conv(i, 4, { padding: 'same' });
    const ln = ap(L.layerNormalization({ gammaInitializer: pos(), betaInitializer: rnd() }), x);
    const d = ap(L.dense({ units: 3, kernelInitializer: rnd() }), ap(L.reshape({ targetShape: [25, 4] }), x));
    const bn = ap(L.batchNormalization({ movingMeanInitializer: rnd(), movingVarianceInitializer: pos(), gammaInitializer: pos() }), d);
    return tf.model({ inputs: i, outputs: [ln, bn] });
  },
  'two inputs, shared Dense, nested Sequential applied twice': () => {
    const inner = tf.sequential({ layers: [L.dense({ inputShape: [6], units: 5, activation: 'tanh', kernelInitializer: rnd(), biasInitializer: rnd() }), L.dense({ units: 3, kernelInitializer: rnd() })] });
    const a = tf.input({ shape: [6], name: 'a' });
    const b = tf.input({ shape: [4, 4, 1], name: 'b' });
    const shared = L.dense({ units: 6, activation: 'relu', kernelInitializer: rnd(), biasInitializer: rnd() });
    const fb = ap(L.flatten(), ap(L.conv2d({ filters: 2, kernelSize: 3, kernelInitializer: rnd() }), b)); // 2x2x2 = 8
    const ha = ap(shared, a);
    const hb = ap(shared, ap(L.dense({ units: 6, kernelInitializer: rnd() }), fb));
    return tf.model({ inputs: [a, b], outputs: [ap(inner, ha), ap(inner, hb), ap(L.concatenate({}), [ha, hb])] });
  },
  sequential: () => {
    const m = tf.sequential();
    m.add(L.conv2d({ inputShape: [8, 8, 1], filters: 3, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: rnd(), activation: 'relu' }));
    m.add(L.maxPooling2d({ poolSize: 2 }));
    m.add(L.flatten());
    m.add(L.dense({ units: 3, activation: 'softmax', kernelInitializer: rnd() }));
    return m;
  },
};
