import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '../helpers/backend.js';
import { runCommands as cli } from '../helpers/cli.js';
import { registerDemoCommand } from '../../src/cli/commands/demo.js';
import { registerRunCommand } from '../../src/cli/commands/run.js';
import { loadRecipeFile, type StageReport } from '../../src/recipe/index.js';

const root = join(import.meta.dirname, '..', '..');


function reports(out: string): StageReport[] {
  return readdirSync(out)
    .filter((d) => /^\d\d-/.test(d))
    .sort()
    .map((d) => JSON.parse(readFileSync(join(out, d, 'report.json'), 'utf8')) as StageReport);
}

describe('demo and example recipes (tiny budget)', () => {
  beforeAll(() => useBackend());
  afterEach(() => vi.restoreAllMocks());

  it('`demo --tiny` runs every stage and prints figures measured in that run', async () => {
    const out = mkdtempSync(join(tmpdir(), 'demo-'));
    const text = await cli(registerDemoCommand, ['demo', '--tiny', '--no-progress', '--out', out]);
    expect(text).toContain('demo (tiny budget): MNIST, 128 training / 64 test images');
    const reps = reports(out);
    expect(reps.map((r) => r.kind)).toEqual(['train', 'distill', 'prune', 'quantize', 'pack', 'export', 'bench']);
    // Printed accuracies are the ones in the stage reports of this run.
    const teacherAcc = (reps[0]!.metrics.teacher as { accuracy: number }).accuracy;
    expect(text).toContain(`teacher: test accuracy ${(teacherAcc * 100).toFixed(2)}%`);
    const pruned = reps[2]!.metrics.pruned as { sparsity: number };
    expect(pruned.sparsity).toBeGreaterThan(0.85);
    expect(reps[1]!.outputs.map((o) => o.name)).toEqual(['student', 'student-scratch']);
    expect((reps[5]!.metrics['deploy-onnx'] as { verify: { maxAbsDiff: number } }).verify.maxAbsDiff).toBeLessThan(1e-4);
    expect(text).toMatch(/comparison \(bench stage 'bench'/);
    expect(existsSync(join(out, '07-bench/report.html'))).toBe(true);
    // A second run skips everything and still prints the comparison.
    const again = await cli(registerDemoCommand, ['demo', '--tiny', '--no-progress', '--out', out]);
    expect(again).toContain('0 stage(s) ran, 7 unchanged and skipped');
    expect(again).toMatch(/comparison \(bench stage 'bench'/);
  });

  it('rejects --tiny together with --full', async () => {
    await expect(cli(registerDemoCommand, ['demo', '--tiny', '--full'])).rejects.toThrow('--tiny and --full cannot be used together');
  });

  const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yaml')).sort();

  it('has the five documented example recipes, each valid', () => {
    expect(examples).toEqual(['hinton-mnist.yaml', 'prune-distill.yaml', 'resnet-image-folder.yaml', 'unet-prune.yaml', 'vgg-to-cnn.yaml']);
    const docs = readFileSync(join(root, 'docs/recipes.md'), 'utf8');
    for (const f of examples) {
      expect(() => loadRecipeFile(join(root, 'examples', f))).not.toThrow();
      expect(docs).toContain(`examples/${f}`);
    }
  });

  it.each(examples)('`run examples/%s --tiny` completes with a bench report', async (file) => {
    const out = mkdtempSync(join(tmpdir(), 'example-'));
    const text = await cli(registerRunCommand, ['run', join(root, 'examples', file), '--tiny', '--no-progress', '--out', out]);
    const reps = reports(out);
    expect(reps.length).toBe(loadRecipeFile(join(root, 'examples', file)).stages.length);
    expect(reps.every((r) => r.budget === 'tiny')).toBe(true);
    expect(existsSync(join(out, `${String(reps.length).padStart(2, '0')}-bench`, 'report.html'))).toBe(true);
    expect(text).toContain(`${reps.length} stage(s) ran, 0 unchanged and skipped`);
    if (file === 'unet-prune.yaml') {
      const m = reps[1]!.metrics as { before: Record<string, number>; 'unet-pruned': Record<string, number> };
      for (const k of ['bytes', 'gzipBytes', 'precision', 'recall', 'meanIoU']) {
        expect(typeof m.before[k]).toBe('number');
        expect(typeof m['unet-pruned'][k]).toBe('number');
      }
      expect(m['unet-pruned'].sparsity).toBeGreaterThan(0.75);
    }
    if (file === 'resnet-image-folder.yaml') {
      // The data went through the image-folder loader: 6 class folders of PNGs under <out>/data.
      const dataDir = join(out, 'data');
      const built = readdirSync(dataDir);
      expect(built).toHaveLength(1);
      expect(readdirSync(join(dataDir, built[0]!))).toHaveLength(6);
    }
  });
});
