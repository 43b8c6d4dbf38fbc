import { describe, it } from 'vitest';
import { recipeFormat } from './harness/recipe.js';
import { expectAllClean } from './harness/suite.js';

describe('fuzz: recipes (YAML and JSON)', () => {
  it('every damaged recipe validates or is refused in one clear line naming the file and field', async () => {
    await expectAllClean(recipeFormat(), 400);
  });
});
