import { join } from 'node:path';
import { cloneModel } from '../model/clone.js';
import { distill } from './distill.js';
import { getDistillLoss } from './losses.js';
import type { CompareScratchArgs, CompareScratchResult, DistillResult } from './types.js';

/**
 * Distil `args.student` and, as a control, train its twin from scratch: the twin is cloned
 * BEFORE training (same initial weights) and trained with the same data order (seed), epochs,
 * batch size and optimizer, on hard labels only (alpha = 1, no teacher in the loss). Validation
 * of both reports accuracy, hard loss and the distillation loss against the teacher.
 *
 * @example
 * const { distilled, scratch } = await compareScratch({ teacher, student, data, epochs: 3, validation });
 * console.log(formatComparison(distilled, scratch));
 */
export async function compareScratch(args: CompareScratchArgs): Promise<CompareScratchResult> {
  const scratchModel = await cloneModel(args.student);
  const distilled = await distill(args);
  const scratch = await distill({
    ...args,
    student: scratchModel,
    // alpha = 1: the teacher is not in the training loss. The output-level soft losses stay so
    // validation reports the twin's distance to the teacher on the same scale; feature terms go
    // (their projections would be untrained).
    alpha: 1,
    losses: (args.losses ?? ['logits']).filter((l) => !getDistillLoss(typeof l === 'string' ? l : l.name).usesFeatures),
    features: [],
    callbacks: args.scratchCallbacks ?? args.callbacks,
    label: `${args.label ?? 'distill'} (scratch)`,
    checkpointDir: args.checkpointDir ? join(args.checkpointDir, 'scratch') : undefined,
  });
  const n = Math.max(distilled.history.length, scratch.history.length);
  const curves = Array.from({ length: n }, (_, epoch) => ({
    epoch: epoch + 1,
    distilled: distilled.history[epoch] ?? {},
    scratch: scratch.history[epoch] ?? {},
  }));
  return { distilled, scratch, scratchModel, curves };
}

function cell(v: number | undefined, digits = 4): string {
  return v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits);
}

/** Plain-text table of per-epoch figures of a distilled run next to its scratch twin. */
export function formatComparison(distilled: DistillResult, scratch?: DistillResult): string {
  const rows: string[][] = [['epoch', 'run', 'loss', 'hard_loss', 'distill_loss', 'val_acc', 'val_hard_loss', 'val_distill_loss', 'epoch_s']];
  const n = Math.max(distilled.history.length, scratch?.history.length ?? 0);
  for (let e = 0; e < n; e++) {
    for (const [name, r] of [['distilled', distilled], ['scratch', scratch]] as const) {
      const h = r?.history[e];
      if (!h) continue;
      rows.push([
        String(e + 1),
        name,
        cell(h.loss),
        cell(h.hard_loss),
        cell(h.distill_loss),
        cell(h.val_accuracy),
        cell(h.val_hard_loss),
        cell(h.val_distill_loss),
        cell(r!.epochSeconds[e - r!.resumedFromEpoch], 2),
      ]);
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((v, c) => v.padStart(widths[c]!)).join('  ')).join('\n');
}
