import { readFileSync, statSync } from 'node:fs';
import { checkNesting, describeError, MAX_NESTING, oneLine, parseJsonFile } from '../util/errors.js';
import { extname } from 'node:path';
import YAML from 'yaml';
import { getStageKind, stageKindNames } from './registry.js';
import { formatIssues, recipeHeadSchema, type RecipeHead } from './schema.js';

/** Largest recipe file read (recipes are a few KB; this stops a mistaken path from filling memory). */
export const MAX_RECIPE_BYTES = 1024 * 1024;

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
  checkNesting(raw, source);
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
 * Refuse YAML text whose flow collections (`[...]`, `{...}`) nest deeper than MAX_NESTING before
 * the (recursive) parser sees it. Quoted strings and comments are skipped.
 */
function checkFlowNesting(text: string, path: string): void {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) quote = '';
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '#' && (i === 0 || /\s/.test(text[i - 1]!))) while (i < text.length && text[i] !== '\n') i++;
    else if (ch === '[' || ch === '{') {
      if (++depth > MAX_NESTING) throw new Error(`${path}: nested more than ${MAX_NESTING} levels deep; not a recipe`);
    } else if (ch === ']' || ch === '}') depth = Math.max(0, depth - 1);
  }
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
    const size = statSync(path).size;
    if (size > MAX_RECIPE_BYTES) throw new Error(`${size} bytes is over the ${MAX_RECIPE_BYTES}-byte limit for a recipe file`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read recipe ${path}: ${oneLine(describeError(err), 200)}`);
  }
  const json = extname(path).toLowerCase() === '.json';
  let raw: unknown;
  if (json) raw = parseJsonFile(text, path);
  else {
    checkFlowNesting(text, path);
    try {
      // Aliases expand: cap them so a few lines cannot unfold into gigabytes.
      raw = YAML.parse(text, { prettyErrors: true, maxAliasCount: 1000 });
    } catch (err) {
      // The YAML parser recurses: deep block nesting overflows the stack inside it.
      const msg = /Maximum call stack/.test((err as Error).message) ? `nested more than the parser can read` : (err as Error).message;
      throw new Error(oneLine(`${path}: not valid YAML: ${msg}`, 300));
    }
    checkNesting(raw, path);
  }
  return parseRecipe(raw, path);
}
