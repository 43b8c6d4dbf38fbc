import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { findWeight, prunableClasses, prunableWeightsOf } from './registry.js';

const granularitySchema = z.preprocess(
  (g) => {
    // Shorthands: 'element', '2:4', 'block1x4'.
    if (g === 'element') return { type: 'element' };
    if (typeof g === 'string') {
      const nm = /^(\d+):(\d+)$/.exec(g);
      if (nm) return { type: 'nm', n: Number(nm[1]), m: Number(nm[2]) };
      const block = /^block(\d+)x(\d+)$/.exec(g);
      if (block) return { type: 'block', shape: [Number(block[1]), Number(block[2])] };
    }
    return g;
  },
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('element') }).strict(),
    z
      .object({
        type: z.literal('block'),
        shape: z.tuple([z.number().int().positive(), z.number().int().positive()]),
        reduce: z.enum(['l1', 'mean', 'max']).default('mean'),
      })
      .strict(),
    z
      .object({ type: z.literal('nm'), n: z.number().int().positive(), m: z.number().int().positive() })
      .strict()
      .refine((g) => g.n < g.m, { message: 'N:M granularity needs n < m (e.g. 2:4)' }),
  ], { error: "granularity must be 'element', 'N:M' (e.g. '2:4'), 'block<R>x<C>' (e.g. 'block1x4') or an object with type element|block|nm" }),
);

/** How weights are grouped when ranked: single elements, R x C blocks, or N kept of every M. */
export type Granularity = { type: 'element' } | { type: 'block'; shape: [number, number]; reduce: 'l1' | 'mean' | 'max' } | { type: 'nm'; n: number; m: number };

const entrySchema = z
  .object({
    opTypes: z.array(z.string()).optional(),
    opNames: z.array(z.string()).optional(),
    opNamesRe: z.union([z.string(), z.array(z.string())]).optional(),
    excludeOpNames: z.array(z.string()).optional(),
    exclude: z.boolean().optional(),
    sparsity: z.number().min(0, 'sparsity must be >= 0').lt(1, 'sparsity must be < 1').optional(),
    weights: z.array(z.string()).optional(),
    granularity: granularitySchema.optional(),
    schedule: z.object({ name: z.string() }).catchall(z.unknown()).optional(),
  })
  .strict()
  .refine((e) => e.opTypes || e.opNames || e.opNamesRe, { message: 'needs at least one selector: opTypes, opNames or opNamesRe' })
  .refine((e) => e.exclude || e.sparsity !== undefined || e.schedule || (e.granularity as Granularity | undefined)?.type === 'nm', {
    message: "needs 'sparsity' (or a 'schedule', or N:M granularity) unless 'exclude' is true",
  });

/** One entry of an NNI-style config list (validated). */
export type ConfigEntry = z.output<typeof entrySchema>;
/** Input form of a config entry, e.g. `{opTypes: ['Dense'], sparsity: 0.8}`. */
export type ConfigEntryInput = z.input<typeof entrySchema>;

/**
 * Validate an NNI-style config list, throwing one Error that names each bad field.
 *
 * @example
 * parseConfigList([{ opTypes: ['Dense', 'Conv2D'], sparsity: 0.8 }, { opNames: ['logits'], exclude: true }]);
 */
export function parseConfigList(list: unknown, source = 'configList'): ConfigEntry[] {
  const r = z.array(entrySchema).min(1, 'config list is empty').safeParse(list);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const path = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    return `${source}${path}: ${i.message}`;
  });
  throw new Error(`invalid pruning config:\n  ${lines.join('\n  ')}`);
}

/** One weight tensor to prune, resolved from a config list. */
export interface PruneTarget {
  layer: tf.layers.Layer;
  /** Short weight name, e.g. `kernel`. */
  weight: string;
  variable: tf.LayerVariable;
  /** Target sparsity (undefined for N:M, whose sparsity is 1 - n/m). */
  sparsity?: number;
  granularity: Granularity;
  /** Input-feature axis for N:M (null: not applicable). */
  inputAxis: number | null;
  /** Per-entry schedule config, if the entry gave one. */
  schedule?: { name: string } & Record<string, unknown>;
}

function describeLayers(model: tf.LayersModel): string {
  return model.layers.map((l) => `${l.name} (${l.getClassName()})`).join(', ');
}

/** Layers chosen by a config list, with the entry that chose each (see {@link resolveTargets}). */
export interface LayerSelection {
  chosen: Map<string, { layer: tf.layers.Layer; entry: ConfigEntry }>;
  excluded: Set<string>;
}

/**
 * Apply a config list's selectors to a model's layers. Later entries override earlier ones for
 * the same layer; `exclude: true` entries (and `excludeOpNames`) remove layers whatever their
 * position. A selector that matches nothing is an error listing the model's layers.
 * `checkType(t)` may return an error message for a class name in `opTypes`.
 */
export function selectLayers(model: tf.LayersModel, entries: ConfigEntry[], checkType?: (t: string, e: ConfigEntry) => string | undefined): LayerSelection {
  const chosen = new Map<string, { layer: tf.layers.Layer; entry: ConfigEntry }>();
  const excluded = new Set<string>();
  entries.forEach((entry, i) => {
    const where = `configList[${i}]`;
    const matched = new Set<tf.layers.Layer>();
    const check = (field: string, value: string, hits: tf.layers.Layer[]) => {
      if (hits.length === 0) {
        throw new Error(`${where}.${field}: '${value}' matches no layer; the model has: ${describeLayers(model)}`);
      }
      hits.forEach((l) => matched.add(l));
    };
    for (const t of entry.opTypes ?? []) {
      const problem = entry.exclude ? undefined : checkType?.(t, entry);
      if (problem) throw new Error(`${where}.opTypes: ${problem}`);
      check('opTypes', t, model.layers.filter((l) => l.getClassName() === t));
    }
    for (const n of entry.opNames ?? []) check('opNames', n, model.layers.filter((l) => l.name === n));
    const res = entry.opNamesRe === undefined ? [] : Array.isArray(entry.opNamesRe) ? entry.opNamesRe : [entry.opNamesRe];
    for (const r of res) {
      let re: RegExp;
      try {
        re = new RegExp(r);
      } catch (err) {
        throw new Error(`${where}.opNamesRe: '${r}' is not a valid regular expression (${(err as Error).message})`);
      }
      check('opNamesRe', r, model.layers.filter((l) => re.test(l.name)));
    }
    for (const n of entry.excludeOpNames ?? []) {
      const layer = model.layers.find((l) => l.name === n);
      if (!layer) throw new Error(`${where}.excludeOpNames: '${n}' matches no layer; the model has: ${describeLayers(model)}`);
      matched.delete(layer);
      excluded.add(n);
    }
    for (const layer of matched) {
      if (entry.exclude) excluded.add(layer.name);
      else chosen.set(layer.name, { layer, entry });
    }
  });
  for (const n of excluded) chosen.delete(n);
  return { chosen, excluded };
}

/**
 * Resolve a config list against a model: which weight of which layer gets which sparsity
 * (selection rules of {@link selectLayers}).
 */
export function resolveTargets(model: tf.LayersModel, list: unknown): PruneTarget[] {
  const entries = parseConfigList(list);
  const { chosen } = selectLayers(model, entries, (t, e) =>
    !prunableWeightsOf(t).length && !e.weights
      ? `'${t}' has no prunable weights by default; prunable classes: ${prunableClasses().join(', ')} (or name the weights with 'weights')`
      : undefined,
  );
  const targets: PruneTarget[] = [];
  for (const { layer, entry } of chosen.values()) {
    const defaults = prunableWeightsOf(layer.getClassName());
    const names = entry.weights ?? defaults.map((d) => d.weight);
    if (names.length === 0) {
      // Selected by name or regex but nothing to prune: silently skipping would hide a typo.
      if (entry.opTypes?.includes(layer.getClassName()) || !(entry.opNames ?? []).includes(layer.name)) continue;
      throw new Error(`layer '${layer.name}' (${layer.getClassName()}) has no prunable weights; prunable classes: ${prunableClasses().join(', ')}`);
    }
    for (const weight of names) {
      const variable = findWeight(layer, weight);
      const gran = (entry.granularity ?? { type: 'element' }) as Granularity;
      const inputAxis = defaults.find((d) => d.weight === weight)?.inputAxis ?? null;
      if (gran.type === 'nm') {
        if (inputAxis === null) throw new Error(`layer '${layer.name}' weight '${weight}': N:M granularity is not defined for this weight (no input-feature axis)`);
        const size = variable.shape[inputAxis]!;
        if (size % gran.m !== 0) {
          throw new Error(`layer '${layer.name}' weight '${weight}': input dimension ${size} is not a multiple of m=${gran.m} for ${gran.n}:${gran.m} sparsity`);
        }
      }
      targets.push({ layer, weight, variable, sparsity: entry.sparsity, granularity: gran, inputAxis, schedule: entry.schedule });
    }
  }
  if (targets.length === 0) throw new Error(`the config list selects no prunable weight; the model has: ${describeLayers(model)}`);
  return targets;
}

