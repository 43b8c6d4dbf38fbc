import type { BenchReport, ModelReport } from './schema.js';

/** Human bytes: `1.23 MB`, `45.6 KB`, `789 B` (decimal units, as file managers show). */
export function formatBytes(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} KB`;
  return `${Math.round(n)} B`;
}

/** Milliseconds with precision that suits the magnitude. */
export function formatMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

/** A ratio as `0.42x`. */
export function formatRatio(r: number | undefined): string {
  return r === undefined || !Number.isFinite(r) ? '-' : `${r.toFixed(2)}x`;
}

/** Percentage with one decimal. */
export function formatPct(x: number | undefined): string {
  return x === undefined ? '-' : `${(x * 100).toFixed(2)}%`;
}

/** Signed percentage-point delta, e.g. `-0.31 pp`. */
export function formatPp(x: number | undefined): string {
  return x === undefined ? '-' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)} pp`;
}

/** Accuracy for a model (pixel accuracy for segmentation). */
export function accuracyOf(m: ModelReport): number | undefined {
  const q = m.quality;
  return q ? (q.task === 'classification' ? q.accuracy : q.pixelAccuracy) : undefined;
}

/** Column keys `runtime@batch` present in any model, in option order. */
export function latencyKeys(report: BenchReport): string[] {
  const keys: string[] = [];
  for (const rt of report.options.runtimes) {
    for (const b of report.options.batches) {
      if (report.models.some((m) => m.latency.some((l) => l.runtime === rt && l.batch === b))) keys.push(`${rt}@${b}`);
    }
  }
  return keys;
}

/** Longest reason quoted in a table cell; the full text is listed under "not measured". */
const CELL_REASON_CHARS = 60;

function shortReason(reason: string, max = CELL_REASON_CHARS): string {
  const flat = reason.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/**
 * What an empty latency cell says: `not measured on <runtime> (<why>)`, the why taken from the
 * model's skipped runtimes (cut to `reasonChars`).
 */
export function notMeasured(m: ModelReport, runtime: string, reasonChars = CELL_REASON_CHARS): string {
  const why = m.skipped.find((k) => k.runtime === runtime)?.reason;
  return `not measured on ${runtime} (${why ? shortReason(why, reasonChars) : 'no result for this batch size'})`;
}

/** What an empty accuracy cell says: no test set given, or why no runtime could score the model. */
function notScored(report: BenchReport, m: ModelReport, reasonChars: number): string {
  if (!report.options.dataset) return 'not scored (no test data)';
  const why = m.skipped[0]?.reason;
  return `not scored (${why ? shortReason(why, reasonChars) : 'no runtime ran it'})`;
}

/** Options of the row builders: how much of a skip reason a cell quotes. */
export interface RowArgs {
  /** Longest reason quoted in a cell (default 60; the terminal table uses less). */
  reasonChars?: number;
}

/** Header and rows of the size/quality comparison (shared by the terminal and Markdown tables). */
export function sizeRows(report: BenchReport, args: RowArgs = {}): { header: string[]; rows: string[][] } {
  const reasonChars = args.reasonChars ?? CELL_REASON_CHARS;
  const header = ['model', 'kind', 'size', 'gzip', 'size vs base', 'gzip vs base', 'params', 'sparsity', 'accuracy', 'Δ acc'];
  const rows = report.models.map((m, i) => [
    i === 0 ? `${m.name} (baseline)` : m.name,
    m.kind,
    formatBytes(m.size.totalBytes),
    formatBytes(m.size.totalGzipBytes),
    i === 0 ? '1.00x' : formatRatio(m.vsBaseline?.sizeRatio),
    i === 0 ? '1.00x' : formatRatio(m.vsBaseline?.gzipRatio),
    m.params ? m.params.params.toLocaleString('en-US') : `not counted (${m.kind})`,
    m.params ? formatPct(m.params.sparsity) : `not counted (${m.kind})`,
    accuracyOf(m) === undefined ? notScored(report, m, reasonChars) : formatPct(accuracyOf(m)),
    i === 0 ? 'baseline' : m.vsBaseline?.accuracyDelta === undefined ? (accuracyOf(m) === undefined ? 'not scored' : 'baseline not scored') : formatPp(m.vsBaseline.accuracyDelta),
  ]);
  return { header, rows };
}

/**
 * Header and rows of the latency comparison: per runtime@batch, mean ms (with the ratio vs the
 * baseline) then p95, side by side; a cell with no measurement says why ({@link notMeasured}).
 */
export function latencyRows(report: BenchReport, args: RowArgs = {}): { header: string[]; rows: string[][] } {
  const keys = latencyKeys(report);
  const header = ['model', ...keys.flatMap((k) => [`${k} mean ms`, `${k} p95`])];
  const rows = report.models.map((m, i) => {
    const cell = (k: string, f: 'meanMs' | 'p95Ms') => {
      const l = m.latency.find((x) => `${x.runtime}@${x.batch}` === k);
      if (!l) return notMeasured(m, k.slice(0, k.lastIndexOf('@')), args.reasonChars);
      const ratio = i > 0 && f === 'meanMs' ? m.vsBaseline?.latencyRatio[k] : undefined;
      return ratio === undefined ? formatMs(l[f]) : `${formatMs(l[f])} (${formatRatio(ratio)})`;
    };
    return [i === 0 ? `${m.name} (baseline)` : m.name, ...keys.flatMap((k) => [cell(k, 'meanMs'), cell(k, 'p95Ms')])];
  });
  return { header, rows };
}
