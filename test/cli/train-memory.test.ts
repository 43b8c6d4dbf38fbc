import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, expect, test } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { registerTrainCommand } from '../../src/cli/commands/train.js';
import { runCommands } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'train-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('train run in process frees its model: the tensor count is the same before and after', async () => {
  await setBackend('auto');
  const before = tf.memory().numTensors;
  const out = await runCommands(registerTrainCommand, ['train', '--arch', 'lenet300', '--data', 'mnist', '--limit', '256', '--test-limit', '100', '--no-progress', '--out', join(dir, 'm')]);
  expect(out).toMatch(/test accuracy/);
  expect(tf.memory().numTensors).toBe(before);
}, 300_000);
