import { z } from 'zod';
import { inputScalingSpecSchema } from '../data/scaling-metadata.js';

/*
 * Recipe-level schemas (data, budgets, top-level fields). Stage schemas live with their stage
 * kinds (src/recipe/stages/*). Messages say what was expected so the runner can print
 * `stages[2].prune.sparsity: expected a number in [0, 1)`.
 */

/** A number in [0, 1) (sparsities). */
export const fraction01 = () => {
  const msg = 'expected a number in [0, 1)';
  return z.number({ error: msg }).min(0, { error: msg }).lt(1, { error: msg });
};

/** A number in [0, 1] (loss weights). */
export const unitInterval = () => {
  const msg = 'expected a number in [0, 1]';
  return z.number({ error: msg }).min(0, { error: msg }).max(1, { error: msg });
};

/** A positive integer. */
export const positiveInt = () => {
  const msg = 'expected a positive integer';
  return z.number({ error: msg }).int({ error: msg }).positive({ error: msg });
};

/** A number > 0. */
export const positiveNumber = () => {
  const msg = 'expected a number > 0';
  return z.number({ error: msg }).positive({ error: msg });
};

/** A non-empty string. */
export const nonEmpty = (what = 'a non-empty string') => z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });

/** Data kinds a recipe can name. */
export const DATA_KINDS = ['mnist', 'fashion-mnist', 'image-folder', 'mnist-segmentation'] as const;

const limits = {
  /** Training samples to use (default: all). */
  trainLimit: positiveInt().optional(),
  /** Test samples to use (default: all). */
  testLimit: positiveInt().optional(),
};

const imageFolderBuild = z
  .object({
    /** Fashion-MNIST classes (0..9) to export as PNG folders. */
    classes: z.array(z.number().int().min(0).max(9, { error: 'expected class indices 0..9' })).min(2, { error: 'expected at least 2 classes' }),
    /** PNG files per class. */
    perClass: positiveInt(),
  })
  .strict();

/** The `data:` section: which dataset, how much of it. A bare string is shorthand for `{kind}`. */
export const dataSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { kind: v } : v),
  z.discriminatedUnion(
    'kind',
    [
      z.object({ kind: z.literal('mnist'), ...limits }).strict(),
      z
        .object({
          kind: z.literal('fashion-mnist'),
          ...limits,
          /** Only these classes, relabelled 0..k-1. */
          classes: z.array(z.number().int().min(0).max(9, { error: 'expected class indices 0..9' })).min(2).optional(),
        })
        .strict(),
      z
        .object({
          kind: z.literal('image-folder'),
          ...limits,
          /**
           * Folder with one subfolder per class (relative to the recipe file). May be omitted with
           * `buildFromFashionMnist`: the folder is then built under the run's output folder.
           */
          path: nonEmpty('a folder path').optional(),
          /** Build the folder from Fashion-MNIST PNGs when it does not exist yet. */
          buildFromFashionMnist: imageFolderBuild.optional(),
          imageSize: z.tuple([positiveInt(), positiveInt()]).default([28, 28]),
          channels: z.union([z.literal(1), z.literal(3)], { error: 'expected 1 or 3' }).default(1),
          /** Fraction of files held out as the test split. */
          validationSplit: z.number().gt(0, { error: 'expected a number in (0, 1)' }).lt(1, { error: 'expected a number in (0, 1)' }).default(0.2),
        })
        .strict(),
      z
        .object({
          kind: z.literal('mnist-segmentation'),
          ...limits,
          threshold: fraction01().optional(),
        })
        .strict(),
    ],
    { error: `expected data kind one of ${DATA_KINDS.join(', ')}` },
  ).refine((d) => d.kind !== 'image-folder' || d.path !== undefined || d.buildFromFashionMnist !== undefined, {
    error: 'image-folder data needs a path (or buildFromFashionMnist to build one)',
    path: ['path'],
  }),
);

/** Parsed `data:` section. */
export type DataConfig = z.output<typeof dataSchema>;

/** Overrides applied by `--tiny` / `--full` (or a recipe's own `budgets:`). */
export const budgetSchema = z
  .object({
    /** Training samples (null: all). */
    trainLimit: positiveInt().nullable().optional(),
    /** Test samples (null: all). */
    testLimit: positiveInt().nullable().optional(),
    /** Upper bound on every stage's epochs. */
    maxEpochs: positiveInt().optional(),
    /** Image-folder build: files per class. */
    perClass: positiveInt().optional(),
    /** Bench: timed calls per runtime and batch. */
    benchRepeats: positiveInt().optional(),
    /** Bench: untimed warm-up calls. */
    benchWarmup: z.number().int().min(0).optional(),
    /** Bench: batch sizes. */
    benchBatches: z.array(positiveInt()).min(1).optional(),
  })
  .strict();

/** A budget override. */
export type Budget = z.output<typeof budgetSchema>;

/** Budget names accepted by the runner. */
export const BUDGET_NAMES = ['default', 'tiny', 'full'] as const;
/** Which budget a run uses. */
export type BudgetName = (typeof BUDGET_NAMES)[number];

/** Built-in budgets; a recipe's `budgets.<name>` entries override these field by field. */
export const DEFAULT_BUDGETS: Record<BudgetName, Budget> = {
  default: {},
  // Seconds per recipe: enough data for every stage to do real work, not to learn much.
  tiny: { trainLimit: 128, testLimit: 64, maxEpochs: 1, perClass: 20, benchRepeats: 2, benchWarmup: 1, benchBatches: [1] },
  full: { trainLimit: null, testLimit: null },
};

/** Top-level recipe fields (the stages are validated one by one against the stage registry). */
export const recipeHeadSchema = z
  .object({
    /** Recipe name (used for the default output folder `out/<name>`). */
    name: z.string().regex(/^(?!\.+$)[\w.-]+$/, { error: "expected a name of letters, digits, _, . or - (not '.' or '..')" }).default('recipe'),
    description: z.string().optional(),
    /**
     * Output folder (relative to the working directory; must stay inside it unless
     * `allowOutsideWorkdir`); the CLI's --out overrides it.
     */
    outDir: z.string().min(1, { error: 'expected a folder path' }).optional(),
    /**
     * Let `outDir` lie outside the working folder and `data.path` outside the recipe's and the
     * working folder (after following symlinks). Default false: a recipe file writes and reads
     * only inside the project it is run in.
     */
    allowOutsideWorkdir: z.boolean({ error: 'expected true or false' }).default(false),
    /** Seed of model init and data order. */
    seed: z.number().int().min(0).default(0),
    data: dataSchema,
    /**
     * How every stage scales the data from raw 0..255: a preset (`0..1`, `0..255`, `-1..1`,
     * `imagenet`), `{ scale, offset }` or `{ mean: [...], std: [...] }`. Default: the scaling stored
     * in the first model the recipe reads from a path, else 0..1. Written into every saved model.
     */
    inputScaling: inputScalingSpecSchema.optional(),
    budgets: z.object({ default: budgetSchema.optional(), tiny: budgetSchema.optional(), full: budgetSchema.optional() }).strict().default({}),
    stages: z.array(z.unknown(), { error: 'expected a list of stages' }).min(1, { error: 'expected at least one stage' }),
  })
  .strict();

/** Parsed top-level fields. */
export type RecipeHead = z.output<typeof recipeHeadSchema>;

/** Format zod issues as `path: message` lines, the path written like `stages[2].prune.sparsity`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix = ''): string[] {
  return issues.map((i) => {
    let path = prefix;
    for (const p of i.path) path += typeof p === 'number' ? `[${p}]` : path ? `.${String(p)}` : String(p);
    return `${path || '(recipe)'}: ${i.message}`;
  });
}
