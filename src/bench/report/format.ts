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

/** Header and rows of the size/quality comparison (shared by the terminal and Markdown tables). */
export function sizeRows(report: BenchReport): { header: string[]; rows: string[][] } {
  const header = ['model', 'kind', 'size', 'gzip', 'size vs base', 'gzip vs base', 'params', 'sparsity', 'accuracy', 'Δ acc'];
  const rows = report.models.map((m, i) => [
    i === 0 ? `${m.name} (baseline)` : m.name,
    m.kind,
    formatBytes(m.size.totalBytes),
    formatBytes(m.size.totalGzipBytes),
    i === 0 ? '1.00x' : formatRatio(m.vsBaseline?.sizeRatio),
    i === 0 ? '1.00x' : formatRatio(m.vsBaseline?.gzipRatio),
    m.params ? m.params.params.toLocaleString('en-US') : '-',
    m.params ? formatPct(m.params.sparsity) : '-',
    formatPct(accuracyOf(m)),
    i === 0 ? '' : formatPp(m.vsBaseline?.accuracyDelta),
  ]);
  return { header, rows };
}

/** Header and rows of the latency comparison: mean ms and ratio vs baseline per runtime@batch. */
export function latencyRows(report: BenchReport): { header: string[]; rows: string[][] } {
  const keys = latencyKeys(report);
  const header = ['model', ...keys.map((k) => `${k} mean ms`), ...keys.map((k) => `${k} p95`)];
  const rows = report.models.map((m, i) => {
    const cell = (k: string, f: 'meanMs' | 'p95Ms') => {
      const l = m.latency.find((x) => `${x.runtime}@${x.batch}` === k);
      if (!l) return '-';
      const ratio = i > 0 && f === 'meanMs' ? m.vsBaseline?.latencyRatio[k] : undefined;
      return ratio === undefined ? formatMs(l[f]) : `${formatMs(l[f])} (${formatRatio(ratio)})`;
    };
    return [m.name, ...keys.map((k) => cell(k, 'meanMs')), ...keys.map((k) => cell(k, 'p95Ms'))];
  });
  return { header, rows };
}
