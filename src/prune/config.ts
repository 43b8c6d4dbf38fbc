import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { leafLayers } from '../model/summary.js';
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

// NNI's own spellings (snake_case keys, v3's `sparse_ratio`) accepted as aliases of ours.
const ALIASES: Record<string, string> = {
  op_types: 'opTypes',
  op_names: 'opNames',
  op_names_re: 'opNamesRe',
  exclude_op_names: 'excludeOpNames',
  exclude_op_types: 'excludeOpTypes',
  exclude_op_names_re: 'excludeOpNamesRe',
  sparse_ratio: 'sparsity',
  sparseRatio: 'sparsity',
};

function unalias(e: unknown): unknown {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return e;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    const key = ALIASES[k] ?? k;
    // Both spellings given: keep the value but let the strict schema name the duplicate.
    if (key in out) out[k] = v;
    else out[key] = v;
  }
  return out;
}

const stringOrList = z.union([z.string(), z.array(z.string())]);

const entryObject = z
    .object({
      opTypes: z.array(z.string()).optional(),
      opNames: z.array(z.string()).optional(),
      opNamesRe: stringOrList.optional(),
      excludeOpNames: z.array(z.string()).optional(),
      excludeOpTypes: z.array(z.string()).optional(),
      excludeOpNamesRe: stringOrList.optional(),
      exclude: z.boolean().optional(),
      sparsity: z.number().min(0, 'sparsity must be >= 0').lt(1, 'sparsity must be < 1').optional(),
      weights: z.array(z.string()).optional(),
      granularity: granularitySchema.optional(),
      schedule: z.object({ name: z.string() }).catchall(z.unknown()).optional(),
    })
    .strict()
    .refine((e) => e.opTypes || e.opNames || e.opNamesRe, { message: 'needs at least one selector: opTypes, opNames or opNamesRe' })
    .refine((e) => e.exclude || e.sparsity !== undefined || e.schedule || (e.granularity as Granularity | undefined)?.type === 'nm', {
      message: "needs 'sparsity' (or 'sparse_ratio', a 'schedule', or N:M granularity) unless 'exclude' is true",
    });
const entrySchema = z.preprocess(unalias, entryObject);

/** One entry of an NNI-style config list (validated). */
export type ConfigEntry = z.output<typeof entryObject>;
/** Input form of a config entry, e.g. `{opTypes: ['Dense'], sparsity: 0.8}`. */
export type ConfigEntryInput = z.input<typeof entryObject> & {
  /** NNI v3 name of `sparsity`. */
  sparse_ratio?: number;
  op_types?: string[];
  op_names?: string[];
  op_names_re?: string | string[];
  exclude_op_names?: string[];
  exclude_op_types?: string[];
  exclude_op_names_re?: string | string[];
};

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
  /** The layer's path, `outer/inner/name` inside nested models (else its name): the key of its masks. */
  path: string;
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

/** Anything a config list can select: a layer of a layers model, an op node of a graph model. */
export interface Selectable {
  /** Matched by `opNames`, `opNamesRe`, `excludeOpNames(Re)`: a layer's path (`outer/inner/conv`) or a node name. */
  name: string;
  /** Also matched by the name selectors: the bare layer name inside a nested model. */
  shortName?: string;
  /** Matched by `opTypes` / `excludeOpTypes`: a layer class name, or a graph op. */
  type: string;
}

/** Items chosen by a config list, with the entry that chose each (see {@link selectItems}). */
export interface Selection<T extends Selectable> {
  chosen: Map<string, { item: T; entry: ConfigEntry }>;
  /** Names removed by `exclude: true` entries. */
  excluded: Set<string>;
}

const describeItems = (items: readonly Selectable[], what: string) =>
  `the ${what} has: ${items.map((l) => `${l.name} (${l.type})`).join(', ')}`;

const listOf = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** A regex anchored at the start of the name, as Python's `re.match` (NNI) uses it. */
function anchored(r: string, where: string): RegExp {
  try {
    return new RegExp(`^(?:${r})`);
  } catch (err) {
    throw new Error(`${where}: '${r}' is not a valid regular expression (${(err as Error).message})`);
  }
}

const namesOf = (l: Selectable) => (l.shortName && l.shortName !== l.name ? [l.name, l.shortName] : [l.name]);

/**
 * What one entry selects, with NNI's `select_modules_by_config` rule:
 * `(opNames ∪ opNamesRe) ∩ opTypes − excludeOpNames − excludeOpNamesRe − excludeOpTypes`
 * (only the selectors given take part; regexes are anchored at the start, like `re.match`).
 * Each selector value must match something; so must the entry as a whole.
 */
function selectEntry<T extends Selectable>(items: readonly T[], entry: ConfigEntry, where: string, what: string, checkType?: (t: string, e: ConfigEntry) => string | undefined): Set<T> {
  const noun = what === 'model' ? 'layer' : 'node';
  const hits = (field: string, value: string, found: T[]) => {
    if (found.length === 0) throw new Error(`${where}.${field}: '${value}' matches no ${noun}; ${describeItems(items, what)}`);
    return found;
  };
  const byType = (field: string, t: string) => hits(field, t, items.filter((l) => l.type === t));
  const byName = (field: string, n: string) => hits(field, n, items.filter((l) => namesOf(l).includes(n)));
  const byRe = (field: string, r: string) => {
    const re = anchored(r, `${where}.${field}`);
    return hits(field, r, items.filter((l) => namesOf(l).some((n) => re.test(n))));
  };
  for (const t of entry.opTypes ?? []) {
    const problem = entry.exclude ? undefined : checkType?.(t, entry);
    if (problem) throw new Error(`${where}.opTypes: ${problem}`);
  }
  const named = entry.opNames || entry.opNamesRe ? new Set([...(entry.opNames ?? []).flatMap((n) => byName('opNames', n)), ...listOf(entry.opNamesRe).flatMap((r) => byRe('opNamesRe', r))]) : undefined;
  const typed = entry.opTypes ? new Set(entry.opTypes.flatMap((t) => byType('opTypes', t))) : undefined;
  const selected = new Set([...(named ?? typed ?? [])].filter((l) => !typed || typed.has(l)));
  if (named && typed && selected.size === 0) {
    throw new Error(`${where}: no ${noun} is both named by opNames/opNamesRe and of opTypes ${entry.opTypes!.join(', ')} (an entry selects the intersection, as in NNI)`);
  }
  for (const l of (entry.excludeOpNames ?? []).flatMap((n) => byName('excludeOpNames', n))) selected.delete(l);
  for (const l of listOf(entry.excludeOpNamesRe).flatMap((r) => byRe('excludeOpNamesRe', r))) selected.delete(l);
  for (const l of (entry.excludeOpTypes ?? []).flatMap((t) => byType('excludeOpTypes', t))) selected.delete(l);
  return selected;
}

/**
 * Apply a config list's selectors to named, typed items (each entry: {@link selectEntry}'s NNI
 * rule). Later entries override earlier ones for the same item; `exclude: true` entries remove
 * their items whatever their position. A selector that matches nothing is an error listing the
 * items (`what` names them in messages, e.g. 'model' or 'graph'). `checkType(t)` may return an
 * error message for an `opTypes` value.
 *
 * @example
 * selectItems([{ name: 'conv1', type: 'Conv2D' }, { name: 'fc', type: 'Dense' }], parseConfigList([{ opTypes: ['Conv2D'], opNamesRe: 'c', sparsity: 0.5 }]));
 */
export function selectItems<T extends Selectable>(
  items: readonly T[],
  entries: ConfigEntry[],
  checkType?: (t: string, e: ConfigEntry) => string | undefined,
  what = 'model',
): Selection<T> {
  const chosen = new Map<string, { item: T; entry: ConfigEntry }>();
  const excluded = new Set<string>();
  entries.forEach((entry, i) => {
    for (const item of selectEntry(items, entry, `configList[${i}]`, what, checkType)) {
      if (entry.exclude) excluded.add(item.name);
      else chosen.set(item.name, { item, entry });
    }
  });
  for (const n of excluded) chosen.delete(n);
  return { chosen, excluded };
}

/** Leaf layers as selectable items: nested models are walked into (path `outer/inner/conv`). */
function layerItems(model: tf.LayersModel) {
  return leafLayers(model).map(({ path, layer }) => ({ name: path, shortName: layer.name, type: layer.getClassName(), layer }));
}

function describeLayers(model: tf.LayersModel): string {
  return layerItems(model).map((l) => `${l.name} (${l.type})`).join(', ');
}

/** Layers chosen by a config list, keyed by path, with the entry that chose each (see {@link resolveTargets}). */
export interface LayerSelection {
  chosen: Map<string, { layer: tf.layers.Layer; entry: ConfigEntry }>;
  excluded: Set<string>;
}

/**
 * Apply a config list's selectors to a model's leaf layers ({@link selectItems} with class names
 * and layer names). Layers inside nested models (a Sequential in a Sequential, a functional
 * MobileNet in a Sequential) are selectable by their path `outer/inner/name` or their bare name;
 * the selection is keyed by path.
 */
export function selectLayers(model: tf.LayersModel, entries: ConfigEntry[], checkType?: (t: string, e: ConfigEntry) => string | undefined): LayerSelection {
  const { chosen, excluded } = selectItems(layerItems(model), entries, checkType);
  return { chosen: new Map([...chosen].map(([n, { item, entry }]) => [n, { layer: item.layer, entry }])), excluded };
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
  for (const [path, { layer, entry }] of chosen) {
    const defaults = prunableWeightsOf(layer.getClassName());
    const names = entry.weights ?? defaults.map((d) => d.weight);
    if (names.length === 0) {
      // Selected by name or regex but nothing to prune: silently skipping would hide a typo.
      if (entry.opTypes?.includes(layer.getClassName()) || !(entry.opNames ?? []).some((n) => n === path || n === layer.name)) continue;
      throw new Error(`layer '${path}' (${layer.getClassName()}) has no prunable weights; prunable classes: ${prunableClasses().join(', ')}`);
    }
    for (const weight of names) {
      const variable = findWeight(layer, weight);
      const gran = (entry.granularity ?? { type: 'element' }) as Granularity;
      const inputAxis = defaults.find((d) => d.weight === weight)?.inputAxis ?? null;
      if (gran.type === 'nm') {
        if (inputAxis === null) throw new Error(`layer '${path}' weight '${weight}': N:M granularity is not defined for this weight (no input-feature axis)`);
        const size = variable.shape[inputAxis]!;
        if (size % gran.m !== 0) {
          throw new Error(`layer '${path}' weight '${weight}': input dimension ${size} is not a multiple of m=${gran.m} for ${gran.n}:${gran.m} sparsity`);
        }
      }
      targets.push({ layer, path, weight, variable, sparsity: entry.sparsity, granularity: gran, inputAxis, schedule: entry.schedule });
    }
  }
  if (targets.length === 0) throw new Error(`the config list selects no prunable weight; the model has: ${describeLayers(model)}`);
  return targets;
}

