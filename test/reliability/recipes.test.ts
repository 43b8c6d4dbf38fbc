import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRecipeFile, parseRecipe, runRecipe, stagePlan } from '../../src/recipe/index.js';
import { useBackend } from '../helpers/backend.js';

/*
 * Recipes write only inside the working folder (unless they say `allowOutsideWorkdir: true`),
 * read their data only inside their own or the working folder, and never clean through a link.
 */

const quiet = () => undefined;
const tiny = (extra: Record<string, unknown> = {}) =>
  parseRecipe({ name: 'r', data: { kind: 'mnist', trainLimit: 64, testLimit: 32 }, stages: [{ train: { model: 'mlp', epochs: 1, batchSize: 32 } }], ...extra });

describe('recipe paths', () => {
  beforeAll(() => useBackend());

  it('cleaning a stage folder that is a symlink deletes nothing of its target', async () => {
    const out = mkdtempSync(join(tmpdir(), 'recipe-link-'));
    const victim = mkdtempSync(join(tmpdir(), 'recipe-victim-'));
    writeFileSync(join(victim, 'precious.txt'), 'keep me');
    mkdirSync(join(victim, 'sub'));
    writeFileSync(join(victim, 'sub', 'also.txt'), 'and me');
    const recipe = tiny();
    symlinkSync(victim, join(out, stagePlan(recipe)[0]!.folder));
    await expect(runRecipe(recipe, { outDir: out, log: quiet, progress: false })).rejects.toThrow(/01-train: the stage folder is a symbolic link; tfjs-compress does not clean through links/);
    expect(readFileSync(join(victim, 'precious.txt'), 'utf8')).toBe('keep me');
    expect(readFileSync(join(victim, 'sub', 'also.txt'), 'utf8')).toBe('and me');
  });

  it('links inside a stage folder are removed as links, their targets kept', async () => {
    const out = mkdtempSync(join(tmpdir(), 'recipe-inner-'));
    const victim = mkdtempSync(join(tmpdir(), 'recipe-victim2-'));
    writeFileSync(join(victim, 'precious.txt'), 'keep me');
    const recipe = tiny();
    const dir = join(out, stagePlan(recipe)[0]!.folder);
    mkdirSync(dir);
    symlinkSync(victim, join(dir, 'stale-link'));
    await runRecipe(recipe, { outDir: out, log: quiet, progress: false });
    expect(existsSync(join(dir, 'stale-link'))).toBe(false);
    expect(readdirSync(victim)).toEqual(['precious.txt']);
  });

  it("outDir outside the working folder, absolute or through '..', is refused unless allowOutsideWorkdir", async () => {
    const far = mkdtempSync(join(tmpdir(), 'recipe-far-'));
    const up = relative(process.cwd(), join(far, 'x'));
    for (const outDir of [join(far, 'abs'), up, '../../..']) {
      await expect(runRecipe(tiny({ outDir }), { log: quiet, progress: false })).rejects.toThrow(/recipe outDir '.*' lies outside the working folder .*; set 'allowOutsideWorkdir: true'/);
    }
    expect(readdirSync(far)).toEqual([]);
    // Said in the recipe: written there.
    const r = await runRecipe(tiny({ outDir: join(far, 'abs'), allowOutsideWorkdir: true }), { log: quiet, progress: false });
    expect(r.outDir).toBe(join(far, 'abs'));
    expect(existsSync(join(far, 'abs', 'run.json'))).toBe(true);
  });

  it("recipe names '.' and '..' are refused (the default out/<name> would be the working folder or above)", () => {
    for (const name of ['.', '..', '...']) {
      expect(() => parseRecipe({ name, data: 'mnist', stages: [{ bench: {} }] })).toThrow(/name: expected a name of letters, digits, _, . or - \(not '.' or '..'\)/);
    }
    expect(parseRecipe({ name: 'a.b', data: 'mnist', stages: [{ bench: {} }] }).head.name).toBe('a.b');
  });

  it('image-folder data outside the recipe and working folders is refused unless allowOutsideWorkdir', async () => {
    const far = mkdtempSync(join(tmpdir(), 'recipe-data-'));
    const recipeDir = mkdtempSync(join(tmpdir(), 'recipe-home-'));
    const file = join(recipeDir, 'r.yaml');
    writeFileSync(file, `name: d\ndata: { kind: image-folder, path: ${relative(recipeDir, far)} }\nstages:\n  - train: { model: mlp, epochs: 1 }\n`);
    const recipe = loadRecipeFile(file);
    const out = mkdtempSync(join(tmpdir(), 'recipe-data-out-'));
    await expect(runRecipe(recipe, { outDir: out, baseDir: recipeDir, log: quiet, progress: false })).rejects.toThrow(/recipe data.path '.*' lies outside the recipe's folder and the working folder; set 'allowOutsideWorkdir: true'/);
    // Allowed: it now reads the folder, which is empty, and says so naming it.
    writeFileSync(file, `name: d\nallowOutsideWorkdir: true\ndata: { kind: image-folder, path: ${relative(recipeDir, far)} }\nstages:\n  - train: { model: mlp, epochs: 1 }\n`);
    await expect(runRecipe(loadRecipeFile(file), { outDir: out, baseDir: recipeDir, log: quiet, progress: false })).rejects.toThrow(/no class subfolders found/);
  });

  it('deeply nested YAML and JSON recipes are refused in one line naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recipe-deep-'));
    const deep = `${'['.repeat(50_000)}1${']'.repeat(50_000)}`;
    writeFileSync(join(dir, 'a.yaml'), `name: a\ndata: mnist\nstages: ${deep}\n`);
    writeFileSync(join(dir, 'a.json'), `{"name": "a", "data": "mnist", "stages": ${deep}}`);
    expect(() => loadRecipeFile(join(dir, 'a.yaml'))).toThrow(/a\.yaml: nested more than 200 levels deep/);
    expect(() => loadRecipeFile(join(dir, 'a.json'))).toThrow(/a\.json: nested more than 200 levels deep/);
  });
});
