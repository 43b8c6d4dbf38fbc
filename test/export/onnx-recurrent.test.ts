import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx } from '../../src/export/index.js';
import { useBackend } from '../helpers/backend.js';
import { onnxCheck } from './helpers.js';

/*
 * Keras LSTM / GRU / SimpleRNN as ONNX LSTM / GRU / RNN: every variant is checked against tfjs in
 * onnxruntime-node (exportOnnx's parity), then by the ONNX project's checker.
 */

const dir = mkdtempSync(join(tmpdir(), 'onnx-recurrent-'));
const written: string[] = [];
const L = tf.layers;
const init = (seed: number) => ({
  kernelInitializer: tf.initializers.randomNormal({ seed, stddev: 0.5 }),
  recurrentInitializer: tf.initializers.randomNormal({ seed: seed + 1, stddev: 0.5 }),
  biasInitializer: tf.initializers.randomNormal({ seed: seed + 2, stddev: 0.5 }),
});
const sym = (x: tf.SymbolicTensor | tf.SymbolicTensor[] | tf.Tensor | tf.Tensor[]) => x as tf.SymbolicTensor;

const models: Record<string, () => tf.LayersModel> = {
  'LSTM sigmoid gates, go_backwards, return_sequences': () => {
    const x = tf.input({ shape: [5, 4] });
    const y = L.lstm({ units: 3, recurrentActivation: 'sigmoid', goBackwards: true, returnSequences: true, ...init(1) }).apply(x);
    return tf.model({ inputs: x, outputs: sym(y) });
  },
  'LSTM hard_sigmoid gates, return_state (3 outputs), no bias': () => {
    const x = tf.input({ shape: [6, 3] });
    const [y, h, c] = L.lstm({ units: 4, returnState: true, useBias: false, ...init(4) }).apply(x) as tf.SymbolicTensor[];
    return tf.model({ inputs: x, outputs: [y!, h!, c!] });
  },
  'stacked LSTM (sequences into a second LSTM, relu cell activation) -> Dense': () => {
    const x = tf.input({ shape: [7, 3] });
    const s = L.lstm({ units: 4, returnSequences: true, ...init(7) }).apply(x);
    const y = L.lstm({ units: 2, activation: 'relu', ...init(10) }).apply(s);
    return tf.model({ inputs: x, outputs: sym(L.dense({ units: 2, activation: 'softmax' }).apply(y)) });
  },
  'LSTM with initial states as model inputs': () => {
    const x = tf.input({ shape: [4, 3] });
    const h0 = tf.input({ shape: [2] });
    const c0 = tf.input({ shape: [2] });
    const y = L.lstm({ units: 2, ...init(13) }).apply(x, { initialState: [h0, c0] });
    return tf.model({ inputs: [x, h0, c0], outputs: sym(y) });
  },
  'GRU hard_sigmoid, go_backwards (last state)': () => {
    const x = tf.input({ shape: [5, 3] });
    return tf.model({ inputs: x, outputs: sym(L.gru({ units: 4, goBackwards: true, ...init(16) }).apply(x)) });
  },
  'GRU sigmoid, return_sequences + return_state, no bias': () => {
    const x = tf.input({ shape: [6, 2] });
    const [y, h] = L.gru({ units: 3, recurrentActivation: 'sigmoid', returnSequences: true, returnState: true, useBias: false, ...init(19) }).apply(x) as tf.SymbolicTensor[];
    return tf.model({ inputs: x, outputs: [y!, h!] });
  },
  'SimpleRNN tanh return_sequences, then SimpleRNN linear': () => {
    const x = tf.input({ shape: [5, 3] });
    const s = L.simpleRNN({ units: 4, returnSequences: true, ...init(22) }).apply(x);
    return tf.model({ inputs: x, outputs: sym(L.simpleRNN({ units: 2, activation: 'linear', ...init(25) }).apply(s)) });
  },
  'Conv1D (channels-first inside ONNX) -> GRU': () => {
    const x = tf.input({ shape: [8, 3] });
    const c = L.conv1d({ filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.randomNormal({ seed: 28 }) }).apply(x);
    return tf.model({ inputs: x, outputs: sym(L.gru({ units: 3, ...init(29) }).apply(c)) });
  },
  'Bidirectional LSTM (concat, sequences) -> Bidirectional GRU (ave)': () => {
    const x = tf.input({ shape: [5, 3] });
    const s = L.bidirectional({ layer: L.lstm({ units: 3, returnSequences: true, ...init(31) }) as tf.RNN }).apply(x);
    return tf.model({ inputs: x, outputs: sym(L.bidirectional({ layer: L.gru({ units: 2, ...init(34) }) as tf.RNN, mergeMode: 'ave' }).apply(s)) });
  },
  'Bidirectional SimpleRNN (sum, sequences) -> Bidirectional GRU (mul)': () => {
    const x = tf.input({ shape: [4, 2] });
    const s = L.bidirectional({ layer: L.simpleRNN({ units: 3, returnSequences: true, ...init(37) }) as tf.RNN, mergeMode: 'sum' }).apply(x);
    return tf.model({ inputs: x, outputs: sym(L.bidirectional({ layer: L.gru({ units: 2, ...init(40) }) as tf.RNN, mergeMode: 'mul' }).apply(s)) });
  },
  'TimeDistributed(Conv2D) -> TimeDistributed(Flatten) -> LSTM -> TimeDistributed(Dense)': () => {
    const x = tf.input({ shape: [3, 6, 6, 2] });
    const c = L.timeDistributed({ layer: L.conv2d({ filters: 3, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.randomNormal({ seed: 43 }) }) }).apply(x);
    const f = L.timeDistributed({ layer: L.flatten() }).apply(c);
    const s = L.lstm({ units: 4, returnSequences: true, ...init(44) }).apply(f);
    return tf.model({ inputs: x, outputs: sym(L.timeDistributed({ layer: L.dense({ units: 2, kernelInitializer: tf.initializers.randomNormal({ seed: 47 }) }) }).apply(s)) });
  },
};

beforeAll(async () => {
  await useBackend();
});

describe('ONNX export of recurrent layers and their wrappers (onnxruntime-node vs tfjs, tolerance 1e-5)', () => {
  for (const [name, build] of Object.entries(models)) {
    it(name, async () => {
      const model = build();
      const before = tf.memory().numTensors;
      for (const [opset, nchw] of [[13, false], [13, true], [17, false]] as const) {
        const { bytes, report } = await exportOnnx(model, { opset, nchw, verify: { samples: 3, tolerance: 1e-5 } });
        expect(report.verify!.maxAbsDiff).toBeLessThanOrEqual(1e-5);
        expect(report.verify!.maxAbsDiffPerOutput).toHaveLength(model.outputs.length);
        expect((report.opCounts.LSTM ?? 0) + (report.opCounts.GRU ?? 0) + (report.opCounts.RNN ?? 0)).toBeGreaterThan(0);
        const f = join(dir, `${written.length}.onnx`);
        writeFileSync(f, bytes);
        written.push(f);
      }
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    });
  }

  it('int8 and float16 recurrent weights keep the gate reordering', async () => {
    const model = models['LSTM sigmoid gates, go_backwards, return_sequences']!();
    for (const weights of ['int8', 'float16'] as const) {
      const { bytes, report } = await exportOnnx(model, { weights, verify: { samples: 3, tolerance: 1e-5 } });
      expect(report.verify!.maxAbsDiff).toBeLessThanOrEqual(1e-5);
      expect(report.verify!.maxAbsDiffVsFloat).toBeGreaterThan(0);
      const f = join(dir, `${written.length}.onnx`);
      writeFileSync(f, bytes);
      written.push(f);
    }
    model.dispose();
  });

  it('refuses by name what has no ONNX form, leaking nothing', async () => {
    const cases: [() => tf.LayersModel, RegExp][] = [
      [
        () => tf.sequential({ layers: [L.lstm({ name: 'stateful_lstm', units: 2, stateful: true, batchInputShape: [1, 3, 2] })] }),
        /layer 'stateful_lstm' \(LSTM\): stateful=true cannot be exported/,
      ],
      [
        () => tf.sequential({ layers: [L.embedding({ name: 'masked_embedding', inputDim: 5, outputDim: 2, maskZero: true, inputShape: [4] }), L.gru({ units: 2 })] }),
        /layer 'masked_embedding' \(Embedding\): mask_zero=true cannot be exported/,
      ],
      [
        () => tf.sequential({ layers: [L.simpleRNN({ name: 'selu_rnn', units: 2, activation: 'selu', inputShape: [3, 2] })] }),
        /layer 'selu_rnn' \(SimpleRNN\): activation 'selu' has no ONNX RNN form/,
      ],
    ];
    for (const [build, msg] of cases) {
      const model = build();
      const before = tf.memory().numTensors;
      await expect(exportOnnx(model, { verify: { samples: 1 } })).rejects.toThrow(msg);
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    }
  });

  it('every exported file passes onnx_check.py', () => {
    const r = onnxCheck(written);
    expect(r.status, r.out).toBe(0);
    expect(written.length).toBe(Object.keys(models).length * 3 + 2);
  });
});
