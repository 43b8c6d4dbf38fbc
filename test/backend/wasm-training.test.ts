import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { loadMnist } from '../../src/data/index.js';
import { buildZooModel } from '../../src/model/zoo.js';

describe('conv net training on wasm (our gradient kernels)', () => {
  it('zoo cnn on 512 real MNIST samples: loss falls and tensor count stays flat', async () => {
    await setBackend('wasm');
    const data = loadMnist({ split: 'train', limit: 512 });
    const model = buildZooModel('cnn', { seed: 3 });
    const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const opt = tf.train.adam(2e-3);
    const { xs: allX, ys: allY } = data.toTensors();
    const lossOn = (x: tf.Tensor, y: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
    const fullLoss = async () => {
      const l = tf.tidy(() => lossOn(allX, allY));
      const v = (await l.data())[0];
      l.dispose();
      return v;
    };
    const before = await fullLoss();
    const counts: number[] = [];
    for (let epoch = 0; epoch < 1; epoch++) {
      for (const { xs, ys } of data.batches({ batchSize: 64, shuffle: true, seed: 1, epoch })) {
        const loss = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => lossOn(xs, ys), vars);
          opt.applyGradients(grads as tf.NamedTensorMap & Record<string, tf.Variable>);
          return value;
        });
        await loss.data();
        tf.dispose([loss, xs, ys]);
        counts.push(tf.memory().numTensors);
      }
    }
    const after = await fullLoss();
    expect(Number.isFinite(after)).toBe(true);
    expect(after).toBeLessThan(before * 0.6);
    // Adam creates its slot variables on the first step; after that nothing may accumulate.
    expect(new Set(counts.slice(1)).size).toBe(1);
    tf.dispose([allX, allY]);
    opt.dispose();
    model.dispose();
  });
});
