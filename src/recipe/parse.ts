import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import YAML from 'yaml';
import { getStageKind, stageKindNames } from './registry.js';
import { formatIssues, recipeHeadSchema, type RecipeHead } from './schema.js';

/** One validated stage of a recipe. */
export interface RecipeStage {
  kind: string;
  config: { name?: string } & Record<string, unknown>;
}

/** A validated recipe. */
export interface Recipe {
  head: RecipeHead;
  stages: RecipeStage[];
}

/**
 * Validate a recipe object. Throws one Error listing every problem as
 * `stages[2].prune.sparsity: expected a number in [0, 1)`.
 *
 * @example
 * const recipe = parseRecipe({ data: 'mnist', stages: [{ train: { model: 'cnn', epochs: 1 } }] });
 */
export function parseRecipe(raw: unknown, source = 'recipe'): Recipe {
  const problems: string[] = [];
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${source}: a recipe must be a mapping with 'data' and 'stages'`);
  const head = recipeHeadSchema.safeParse(raw);
  if (!head.success) problems.push(...formatIssues(head.error.issues));
  const stages: RecipeStage[] = [];
  const list = (raw as { stages?: unknown }).stages;
  if (Array.isArray(list)) {
    list.forEach((item, i) => {
      const where = `stages[${i}]`;
      const keys = item && typeof item === 'object' && !Array.isArray(item) ? Object.keys(item) : [];
      if (keys.length !== 1) {
        problems.push(`${where}: expected a mapping with exactly one stage kind key (${stageKindNames().join(', ')})${keys.length ? `, got ${keys.join(', ')}` : ''}`);
        return;
      }
      const kind = keys[0]!;
      if (!stageKindNames().includes(kind)) {
        problems.push(`${where}: unknown stage kind '${kind}': expected one of ${stageKindNames().join(', ')}`);
        return;
      }
      const r = getStageKind(kind).schema.safeParse((item as Record<string, unknown>)[kind] ?? {});
      if (!r.success) problems.push(...formatIssues(r.error.issues, `${where}.${kind}`));
      else stages.push({ kind, config: r.data as RecipeStage['config'] });
    });
  }
  if (problems.length) throw new Error(`invalid recipe ${source}:\n  ${problems.join('\n  ')}`);
  return { head: head.data!, stages };
}

/**
 * Read and validate a recipe file (YAML, or JSON for `.json`).
 *
 * @example
 * const recipe = loadRecipeFile('examples/hinton-mnist.yaml');
 */
export function loadRecipeFile(path: string): Recipe {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read recipe ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : YAML.parse(text, { prettyErrors: true });
  } catch (err) {
    throw new Error(`${path}: not valid ${extname(path).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  return parseRecipe(raw, path);
}
