import fc from 'fast-check';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { loadRecipeFile } from '../../../src/recipe/parse.js';
import { classifyMessage } from './classify.js';
import { applyBytes, applyJson, byteMutation, jsonMutation, stringifyDeep, type ByteMutation, type JsonMutation } from './mutate.js';
import type { CaseResult, FuzzFormat } from './types.js';

/*
 * Recipes (YAML and JSON): a recipe using every stage kind, damaged as text or edited as
 * structure (edits are written as JSON text into the .yaml file too: YAML reads JSON, and very
 * deep documents reach the YAML parser that way). A recipe that still validates is a valid
 * recipe, so success is always clean; an error must name the file and the field.
 */

const RECIPE = `# every stage kind, the fields the runner reads
name: fuzzed
seed: 3
outDir: out/fuzzed
data:
  kind: fashion-mnist
  trainLimit: 256
  testLimit: 64
  classes: [0, 1, 2]
inputScaling: -1..1
budgets:
  tiny: { trainLimit: 64, maxEpochs: 1, benchBatches: [1] }
stages:
  - train: { name: teacher, model: cnn, epochs: 2, batchSize: 32, learningRate: 0.001 }
  - distill: { name: student, teacher: teacher, student: mlp, epochs: 1, temperature: 4, alpha: 0.1 }
  - prune:
      from: student
      method: level
      sparsity: 0.5
      fineTune: { epochs: 1, distillFrom: teacher }
  - quantize: { from: prune, mode: int8-channel }
  - pack: { from: quantize }
  - export: { from: prune, formats: [onnx] }
  - bench: { batches: [1, 8], repeats: 3 }
`;

/** A recipe case. */
export type RecipeCase = { ext: 'yaml' | 'json'; bytes: ByteMutation } | { ext: 'yaml' | 'json'; edit: JsonMutation };

/** The recipe format. */
export function recipeFormat(): FuzzFormat<RecipeCase> {
  let doc: unknown;
  let base = '';
  return {
    name: 'recipe',
    cases: fc.oneof(
      { weight: 1, arbitrary: fc.record({ ext: fc.constantFrom('yaml' as const, 'json' as const), bytes: byteMutation }) },
      { weight: 2, arbitrary: fc.record({ ext: fc.constantFrom('yaml' as const, 'json' as const), edit: jsonMutation }) },
    ),
    async setup(dir) {
      base = dir;
      doc = YAML.parse(RECIPE);
      writeFileSync(join(dir, 'recipe.yaml'), RECIPE);
      writeFileSync(join(dir, 'recipe.json'), JSON.stringify(doc, null, 2));
      loadRecipeFile(join(dir, 'recipe.yaml')); // the original must be valid
    },
    async run(c, caseDir): Promise<CaseResult> {
      const file = join(caseDir, `recipe.${c.ext}`);
      let edit = '';
      if ('bytes' in c) writeFileSync(file, applyBytes(readFileSync(join(base, `recipe.${c.ext}`)), c.bytes));
      else {
        const edited = applyJson(doc, c.edit);
        edit = edited.path;
        writeFileSync(file, stringifyDeep(edited.doc));
      }
      try {
        loadRecipeFile(file);
        return { verdict: 'clean' };
      } catch (err) {
        const message = (err as Error).message;
        return { verdict: classifyMessage(message, [file]), message: edit ? `[${edit}] ${message}` : message };
      }
    },
  };
}
