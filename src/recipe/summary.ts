import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatTable, readReport } from '../bench/index.js';
import type { RunRecipeResult } from './runner.js';

function pct(v: unknown): string | undefined {
  return typeof v === 'number' ? `${(v * 100).toFixed(2)}%` : undefined;
}

function kib(v: unknown): string | undefined {
  return typeof v === 'number' ? `${(v / 1024).toFixed(1)} KiB` : undefined;
}

/** One row per model a stage wrote: the figures the stage measured itself. */
function stageRows(result: RunRecipeResult): string[][] {
  const rows: string[][] = [];
  for (const s of result.stages) {
    const models = s.report.outputs.map((o) => o.name);
    if (models.length === 0) rows.push([s.report.name, s.kind, s.status, s.seconds.toFixed(1), '-', '-', '-', '-']);
    for (const name of models) {
      const m = (s.report.metrics[name] ?? {}) as Record<string, unknown>;
      const verify = m.verify as { maxAbsDiff?: number } | undefined;
      const quality = pct(m.accuracy) ?? (typeof m.meanIoU === 'number' ? `mIoU ${(m.meanIoU as number).toFixed(3)}` : verify ? `|diff| ${verify.maxAbsDiff?.toExponential(1)}` : '-');
      rows.push([name, s.kind, s.status, s.seconds.toFixed(1), kib(m.bytes) ?? '-', kib(m.gzipBytes) ?? '-', pct(m.sparsity) ?? '-', quality]);
    }
  }
  return rows;
}

/**
 * The end-of-run summary: every stage's models with the figures measured in their stage, then
 * the bench stage's comparison table (size, gzip, quality, latency per runtime) when there is one.
 */
export function formatRunSummary(result: RunRecipeResult): string {
  const header = ['model', 'stage', 'status', 'seconds', 'size', 'gzip', 'zeros', 'test quality'];
  const rows = stageRows(result);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ');
  const out = ['stages:', line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  const bench = [...result.stages].reverse().find((s) => s.kind === 'bench');
  if (bench) {
    const dir = join(result.outDir, `${String(bench.index + 1).padStart(2, '0')}-${bench.name}`);
    const json = join(dir, 'bench.json');
    if (existsSync(json)) {
      out.push('', `comparison (bench stage '${bench.name}', measured ${bench.report.finishedAt}):`, formatTable(readReport(json)));
      out.push('', `HTML report: ${join(dir, 'report.html')}`);
    }
  }
  return out.join('\n');
}

/** Path of the HTML report of the run's last bench stage, if any. */
export function reportHtmlPath(result: RunRecipeResult): string | undefined {
  const bench = [...result.stages].reverse().find((s) => s.kind === 'bench');
  return bench ? join(result.outDir, `${String(bench.index + 1).padStart(2, '0')}-${bench.name}`, 'report.html') : undefined;
}
