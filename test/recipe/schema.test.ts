import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRecipeFile, parseRecipe, stagePlan } from '../../src/recipe/index.js';

const base = { data: 'mnist', stages: [{ train: { model: 'cnn-small', epochs: 1 } }] };

function errorOf(raw: unknown): string {
  try {
    parseRecipe(raw, 'r.yaml');
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected parseRecipe to throw');
}

describe('recipe validation', () => {
  it('accepts a minimal recipe and fills defaults', () => {
    const r = parseRecipe(base);
    expect(r.head.data).toEqual({ kind: 'mnist' });
    expect(r.head.name).toBe('recipe');
    expect(r.stages).toEqual([{ kind: 'train', config: { model: 'cnn-small', epochs: 1, batchSize: 64, learningRate: 1e-3, optimizer: 'adam' } }]);
  });

  it('names the bad field path and what was expected', () => {
    const msg = errorOf({
      data: 'mnist',
      stages: [
        { train: { model: 'cnn-small', epochs: 1 } },
        { distill: { teacher: 'train', student: 'cnn-small', epochs: 1 } },
        { prune: { sparsity: 1.5 } },
      ],
    });
    expect(msg).toContain('invalid recipe r.yaml');
    expect(msg).toContain('stages[2].prune.sparsity: expected a number in [0, 1)');
  });

  it('lists allowed values for enums, stage kinds and data kinds', () => {
    expect(errorOf({ data: 'mnist', stages: [{ prune: { sparsity: 0.5, method: 'random' } }] })).toMatch(/stages\[0\]\.prune\.method: .*"level"\|"magnitude"\|"structured"/);
    expect(errorOf({ data: 'mnist', stages: [{ squash: {} }] })).toContain("stages[0]: unknown stage kind 'squash': expected one of train, distill, prune, quantize, pack, export, bench");
    expect(errorOf({ data: 'cifar10', stages: [{ bench: {} }] })).toContain('data.kind: expected data kind one of mnist, fashion-mnist, image-folder, mnist-segmentation');
    expect(errorOf({ data: 'mnist', stages: [{ export: { formats: ['tflite'] } }] })).toMatch(/stages\[0\]\.export\.formats\[0\]: .*"onnx"\|"tfjs"/);
  });

  it('reports every problem at once, including unknown keys and missing fields', () => {
    const msg = errorOf({ data: { kind: 'mnist', trainLimit: -3 }, stages: [{ train: { epochs: 0, extra: 1 } }, { distill: {}, prune: {} }] });
    expect(msg).toContain('data.trainLimit: expected a positive integer');
    expect(msg).toContain('stages[0].train.model: expected a stage name, architecture name or model path');
    expect(msg).toContain('stages[0].train.epochs: expected a positive integer');
    expect(msg).toContain('stages[0].train: Unrecognized key: "extra"');
    expect(msg).toContain('stages[1]: expected a mapping with exactly one stage kind key');
  });

  it('rejects duplicate stage names', () => {
    const r = parseRecipe({ data: 'mnist', stages: [{ train: { name: 'a', model: 'mlp', epochs: 1 } }, { train: { name: 'a', model: 'mlp', epochs: 1 } }] });
    expect(() => stagePlan(r)).toThrow("stages[1].train.name: 'a' is used by an earlier stage");
  });

  it('numbers repeated default names and folders', () => {
    const r = parseRecipe({ data: 'mnist', stages: [{ train: { model: 'mlp', epochs: 1 } }, { train: { model: 'mlp', epochs: 1 } }, { bench: {} }] });
    expect(stagePlan(r)).toEqual([
      { name: 'train-1', folder: '01-train-1' },
      { name: 'train-2', folder: '02-train-2' },
      { name: 'bench', folder: '03-bench' },
    ]);
  });

  it('reads YAML and JSON files and names the file on syntax errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recipe-parse-'));
    writeFileSync(join(dir, 'a.yaml'), 'data: mnist\nstages:\n  - train: {model: mlp, epochs: 2}\n');
    expect(loadRecipeFile(join(dir, 'a.yaml')).stages[0]!.config.epochs).toBe(2);
    writeFileSync(join(dir, 'a.json'), JSON.stringify(base));
    expect(loadRecipeFile(join(dir, 'a.json')).stages[0]!.kind).toBe('train');
    writeFileSync(join(dir, 'bad.yaml'), 'data: mnist\nstages: [\n');
    expect(() => loadRecipeFile(join(dir, 'bad.yaml'))).toThrow(/bad\.yaml: not valid YAML/);
    expect(() => loadRecipeFile(join(dir, 'missing.yaml'))).toThrow(/cannot read recipe .*missing\.yaml/);
  });

  it('the real CLI prints the validation errors and exits 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recipe-cli-'));
    writeFileSync(join(dir, 'bad.yaml'), 'data: mnist\nstages:\n  - train: {model: cnn-small, epochs: 1}\n  - prune: {sparsity: 1.5}\n');
    const root = join(import.meta.dirname, '..', '..');
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), '--quiet', 'run', join(dir, 'bad.yaml')], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('stages[1].prune.sparsity: expected a number in [0, 1)');
  });
});
