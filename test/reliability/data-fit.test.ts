import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registerTrainCommand } from '../../src/cli/commands/train.js';
import { TensorDataset } from '../../src/data/dataset.js';
import { writeNpy } from '../../src/data/npy.js';
import { buildZooModel } from '../../src/model/zoo.js';
import { evaluate, train } from '../../src/train/index.js';
import { useBackend } from '../helpers/backend.js';
import { runCommands } from '../helpers/cli.js';

/*
 * Data and model are checked against each other before any step, on every backend, in one line
 * naming both shapes: (20, 10, 10, 1) inputs to lenet5 gave "memory access out of bounds" on wasm
 * and, on cpu, exit 0 with a saved model whose first Dense had zero inputs.
 */

const dir = mkdtempSync(join(tmpdir(), 'data-fit-'));
writeNpy(join(dir, 'x.npy'), Float32Array.from({ length: 20 * 100 }, (_, i) => (i % 7) / 7), [20, 10, 10, 1]);
writeNpy(join(dir, 'y.npy'), Int32Array.from({ length: 20 }, (_, i) => i % 10), [20]);

describe.each(['cpu', 'wasm'] as const)('data checked against the model on %s', (backend) => {
  it('train lenet5 on 10x10 inputs fails in one line naming both shapes, and saves nothing', async () => {
    await useBackend(backend);
    const out = join(dir, `out-${backend}`);
    const before = tf.memory().numTensors;
    await expect(runCommands(registerTrainCommand, ['train', '--arch', 'lenet5', '--data', `npy:${join(dir, 'x.npy')},${join(dir, 'y.npy')}`, '--out', out, '--no-progress'])).rejects.toThrow(
      /model 'lenet5' cannot take dataset samples of shape \[10, 10, 1\]: layer '\w+' would output \[\?, 0, 0, \d+\] \(input too small for this architecture\)/,
    );
    expect(existsSync(join(out, 'model.json'))).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('train and evaluate refuse samples and targets of other shapes before any batch, leaving no tensors', async () => {
    await useBackend(backend);
    const model = buildZooModel('lenet5', { seed: 1 });
    const before = tf.memory().numTensors;
    const wrongX = new TensorDataset(new Float32Array(4 * 10 * 10), [10, 10, 1], new Float32Array(40), [10]);
    const wrongY = new TensorDataset(new Float32Array(4 * 784), [28, 28, 1], new Float32Array(4 * 3), [3]);
    await expect(train(model, wrongX, { epochs: 1 })).rejects.toThrow(/dataset samples have shape \[10, 10, 1\] but model '.*' expects inputs of shape \[28, 28, 1\]/);
    await expect(evaluate(model, wrongX)).rejects.toThrow(/dataset samples have shape \[10, 10, 1\] but model '.*' expects inputs of shape \[28, 28, 1\]/);
    await expect(train(model, wrongY, { epochs: 1 })).rejects.toThrow(/dataset targets have shape \[3\] but model '.*' outputs shape \[10\]/);
    await expect(evaluate(model, wrongY)).rejects.toThrow(/dataset targets have shape \[3\] but model '.*' outputs shape \[10\]/);
    // [28, 28] samples fit [28, 28, 1] inputs (unit dims are reshaped), so this one trains.
    const squeezed = new TensorDataset(new Float32Array(4 * 784), [28, 28], new Float32Array(40).map((_, i) => (i % 10 === 0 ? 1 : 0)), [10]);
    await train(model, squeezed, { epochs: 1, batchSize: 4 });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
