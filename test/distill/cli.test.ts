import { Command } from 'commander';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { registerDistillCommand } from '../../src/cli/commands/distill.js';
import { loadMnist } from '../../src/data/mnist.js';
import { loadLayersModelFromFiles, saveLayersModel } from '../../src/model/io.js';
import { buildZooModel } from '../../src/model/zoo.js';
import { evaluate, train } from '../../src/train/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'distill-cli-'));

function program(): Command {
  const p = new Command('tfjs-compress').exitOverride();
  registerDistillCommand(p);
  return p;
}
const run = (...args: string[]) => program().parseAsync(['node', 'tfjs-compress', 'distill', ...args]);

describe('tfjs-compress distill', () => {
  const teacherDir = join(tmp, 'teacher');
  beforeAll(async () => {
    await setBackend('wasm');
    const teacher = buildZooModel('lenet300', { seed: 1 });
    await train(teacher, loadMnist({ limit: 2000 }), { epochs: 1, batchSize: 128 });
    await saveLayersModel(teacher, teacherDir);
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('distils a saved teacher into a zoo student, with a scratch twin, a teacher cache and a JSON report', async () => {
    const out = join(tmp, 'out');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await run('--teacher', teacherDir, '--student', 'zoo:lenet300', '--limit', '512', '--test-limit', '200', '--epochs', '2',
        '--temperature', '4', '--alpha', '0.1', '--loss', 'logits,mse:0.1', '--feature', 'dense_2:dense_2', '--compare-scratch',
        '--cache-teacher', join(tmp, 'cache'), '--no-progress', '--out', out);
    } finally {
      log.mockRestore();
    }
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.settings).toMatchObject({ temperature: 4, alpha: 0.1, losses: [{ name: 'logits', weight: 1 }, { name: 'mse', weight: 0.1 }, { name: 'feature', weight: 1 }] });
    expect(report.results.map((r: { run: string }) => r.run)).toEqual(['distilled', 'scratch']);
    expect(report.cache.hit).toBe(false);
    expect(report.teacherUnchanged).toBe(true);
    expect(report.history.distilled).toHaveLength(2);
    // The saved student is the trained one: its test accuracy is the reported one.
    const student = await loadLayersModelFromFiles(out);
    const acc = (await evaluate(student, loadMnist({ split: 'test', limit: 200 }))).accuracy!;
    expect(acc).toBeCloseTo(report.results[0].accuracy, 6);
    expect(existsSync(join(out, 'scratch', 'model.json'))).toBe(true);
  });

  it('rejects bad flags with clear errors', async () => {
    const base = ['--teacher', teacherDir, '--student', 'zoo:lenet300', '--limit', '64', '--test-limit', '64', '--no-progress', '--out', join(tmp, 'bad')];
    const quiet = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await expect(run(...base, '--alpha', '2')).rejects.toThrow(/alpha must be in \[0, 1\]/);
      await expect(run(...base, '--temperature', '0')).rejects.toThrow(/temperature must be a number > 0/);
      await expect(run(...base, '--feature', 'dense_1:nope')).rejects.toThrow(/student model 'lenet300' has no layer 'nope': valid layer names are/);
      await expect(run(...base, '--loss', 'kl')).rejects.toThrow(/unknown distillation loss 'kl'/);
      await expect(run(...base.map((a) => (a === 'zoo:lenet300' ? 'zoo:unet-mini' : a)))).rejects.toThrow(/outputs shape \[10\] but student 'unet-mini' outputs \[28, 28, 11\]/);
    } finally {
      quiet.mockRestore();
    }
  });
});
