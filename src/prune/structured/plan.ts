import type * as tf from '@tensorflow/tfjs';
import { parseConfigList, selectItems } from '../config.js';
import type { ConfigEntryInput } from '../config.js';
import { keptCount, topKMask } from '../masks.js';
import type { Ranking } from '../masks.js';
import { flattenNested, hasNestedModels } from './flatten.js';
import type { FlatModel } from './flatten.js';
import { buildDependencyGraph, PRODUCERS } from './graph.js';
import type { ChannelGroup, DependencyGraph } from './graph.js';
import { getImportance } from './importance.js';
import type { Importance } from './importance.js';

/** Options of {@link planStructured}. */
export interface StructuredPlanArgs {
  /** Fraction of channels removed from every prunable layer (when no `configList`). */
  ratio?: number;
  /**
   * NNI-style config list over producer layers (Conv1D/Conv2D/Conv2DTranspose/SeparableConv2D/
   * Dense); an entry's `sparsity` is the fraction of its output channels removed.
   */
  configList?: ConfigEntryInput[];
  /** Channel importance by name (`l1`, `l2`, `bn`) or object (default `l1`). */
  importance?: string | Importance;
  /** Rank channels within each group (default) or across all groups with the same ratio. */
  ranking?: Ranking;
  /**
   * When a layer structured pruning cannot re-index consumes prunable channels: throw (default)
   * or keep those channels unpruned.
   */
  strict?: boolean;
}

/** Per-group outcome of a plan. */
export interface GroupPlan {
  group: ChannelGroup;
  /** Kept channel indices, ascending. */
  keep: Int32Array;
  /** Fraction requested. */
  ratio: number;
}

/** A structured pruning plan: which channels of which coupled group survive. */
export interface StructuredPlan {
  graph: DependencyGraph;
  /** Kept channels per group id (groups not listed keep everything). */
  keep: Map<number, Int32Array>;
  groups: GroupPlan[];
  /** Groups left whole, with the reason (pinned or not selected). */
  skipped: { producers: string[]; reason: string }[];
  /**
   * When the model held nested models: the flattened copy the plan (and {@link speedup}) works
   * on. It holds tensors: release it with {@link disposePlan}.
   */
  flat?: FlatModel;
}

/**
 * Release what a plan holds (the flattened copy of a nested model, if any).
 *
 * @example
 * const plan = planStructured(tm, { ratio: 0.5 });
 * try { small = await speedup(tm, plan); } finally { disposePlan(plan); }
 */
export function disposePlan(plan: StructuredPlan): void {
  plan.flat?.model.dispose();
}

/**
 * Decide which filters/units to remove: builds the {@link DependencyGraph}, scores each coupled
 * group's channels with the importance criterion, and keeps the best `round(n (1 - ratio))` (at
 * least one). The model is not modified; see {@link speedup} and {@link structuredMasks}.
 *
 * @example
 * const plan = planStructured(model, { ratio: 0.5, importance: 'l1' });
 */
export function planStructured(model: tf.LayersModel, args: StructuredPlanArgs): StructuredPlan {
  const flat = hasNestedModels(model) ? flattenNested(model) : undefined;
  try {
    return { ...planOn(flat?.model ?? model, flat?.paths, args), flat };
  } catch (err) {
    flat?.model.dispose();
    throw err;
  }
}

function planOn(model: tf.LayersModel, paths: Map<string, string> | undefined, args: StructuredPlanArgs): StructuredPlan {
  const graph = buildDependencyGraph(model);
  const importance = typeof args.importance === 'object' ? args.importance : getImportance(args.importance ?? 'l1');
  const ranking = args.ranking ?? 'layer';
  const ratioOf = new Map<string, number>();
  const excluded = new Set<string>();
  if (args.configList) {
    // Layers of a flattened nested model are selected by their original path or bare name.
    const items = model.layers.map((layer) => ({ name: paths?.get(layer.name) ?? layer.name, shortName: layer.name, type: layer.getClassName(), layer }));
    const sel = selectItems(items, parseConfigList(args.configList), (t) =>
      t in PRODUCERS ? undefined : `'${t}' has no channels structured pruning removes; choose among ${Object.keys(PRODUCERS).join(', ')}`,
    );
    for (const { item: { layer }, entry } of sel.chosen.values()) {
      if (!(layer.getClassName() in PRODUCERS)) continue;
      if (entry.sparsity === undefined) throw new Error(`layer '${layer.name}': structured pruning needs 'sparsity' (fraction of channels removed) in its config entry`);
      ratioOf.set(layer.name, entry.sparsity);
    }
    for (const n of sel.excluded) excluded.add(items.find((i) => i.name === n)!.layer.name);
  } else {
    const r = args.ratio;
    if (!(typeof r === 'number' && r >= 0 && r < 1)) throw new Error(`structured pruning: ratio must be in [0, 1), got ${r}`);
    for (const l of model.layers) if (l.getClassName() in PRODUCERS) ratioOf.set(l.name, r);
  }

  const candidates: { group: ChannelGroup; ratio: number }[] = [];
  const skipped: StructuredPlan['skipped'] = [];
  for (const g of graph.groups) {
    if (g.producers.length === 0) continue;
    const names = g.producers.map((l) => l.name);
    const ex = names.filter((n) => excluded.has(n));
    const ratios = names.map((n) => ratioOf.get(n)).filter((r): r is number => r !== undefined);
    if (g.pinned) skipped.push({ producers: names, reason: g.pinned });
    else if (ex.length) skipped.push({ producers: names, reason: `coupled with excluded layer(s) ${ex.join(', ')}` });
    else if (ratios.length === 0) skipped.push({ producers: names, reason: 'not selected' });
    // Coupled producers must agree; the smallest requested ratio is the safe choice.
    else candidates.push({ group: g, ratio: Math.min(...ratios) });
  }
  for (const use of graph.opaqueUses) {
    const hit = candidates.filter((c) => use.groups.includes(c.group.id) && c.ratio > 0);
    if (!hit.length) continue;
    const who = hit.flatMap((c) => c.group.producers.map((l) => l.name)).join(', ');
    if (args.strict ?? true) {
      throw new Error(
        `structured pruning: layer '${use.layer.name}' (${use.layer.getClassName()}) consumes the channels of ${who} but cannot be re-indexed (${use.reason}); exclude ${who} in the config list or pass strict: false to keep them whole`,
      );
    }
    for (const c of hit) {
      candidates.splice(candidates.indexOf(c), 1);
      skipped.push({ producers: c.group.producers.map((l) => l.name), reason: `feeds '${use.layer.name}': ${use.reason}` });
    }
  }

  const keep = new Map<number, Int32Array>();
  const groups: GroupPlan[] = [];
  const indicesOf = (mask: Uint8Array) => Int32Array.from([...mask.keys()].filter((i) => mask[i]));
  if (ranking === 'layer') {
    for (const c of candidates) {
      const scores = importance.score(c.group, false);
      const k = indicesOf(topKMask(scores, keptCount(c.group.size, c.ratio)));
      keep.set(c.group.id, k);
      groups.push({ group: c.group, keep: k, ratio: c.ratio });
    }
  } else {
    const byRatio = new Map<number, typeof candidates>();
    for (const c of candidates) byRatio.set(c.ratio, [...(byRatio.get(c.ratio) ?? []), c]);
    for (const [ratio, cs] of byRatio) {
      const scores = cs.map((c) => importance.score(c.group, true));
      const total = cs.reduce((s, c) => s + c.group.size, 0);
      // Every group keeps its best channel; the rest compete globally for the remaining slots.
      const all = new Float32Array(total);
      let off = 0;
      cs.forEach((c, i) => {
        const best = scores[i]!.indexOf(Math.max(...scores[i]!));
        scores[i]!.forEach((v, j) => (all[off + j] = j === best ? Infinity : v));
        off += c.group.size;
      });
      const mask = topKMask(all, Math.max(keptCount(total, ratio), cs.length));
      off = 0;
      for (const c of cs) {
        const k = indicesOf(mask.subarray(off, off + c.group.size));
        keep.set(c.group.id, k);
        groups.push({ group: c.group, keep: k, ratio });
        off += c.group.size;
      }
    }
  }
  return { graph, keep, groups, skipped };
}
