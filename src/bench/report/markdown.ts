import { formatMs, latencyRows, sizeRows } from './format.js';
import type { BenchReport } from './schema.js';

function mdTable(header: string[], rows: string[][]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/**
 * The report as Markdown: machine, size/quality table, latency table, cold start, skipped runtimes.
 *
 * @example
 * writeFileAtomic('bench.md', formatMarkdown(report));
 */
export function formatMarkdown(report: BenchReport): string {
  const m = report.machine;
  const o = report.options;
  const s = sizeRows(report);
  const l = latencyRows(report);
  const parts = [
    '# tfjs-compress bench',
    '',
    `${report.createdAt} · ${m.cpu} × ${m.cores} · Node ${m.node} · ${m.platform}/${m.arch}`,
    '',
    `Runtimes ${o.runtimes.join(', ')}; batches ${o.batches.join(', ')}; ${o.warmup} warm-up + ${o.repeats} timed runs` +
      (o.dataset ? `; quality on ${o.dataset} (${o.evalSamples} samples)` : '') + '.',
    '',
    '## Size and quality',
    '',
    mdTable(s.header, s.rows),
  ];
  if (l.header.length > 1) parts.push('', '## Latency', '', 'Mean ms per call (ratio vs baseline), then p95.', '', mdTable(l.header, l.rows));
  const cold = report.models.flatMap((x) => x.coldStart.map((c) => [x.name, c.runtime, formatMs(c.loadMs), formatMs(c.firstInferenceMs), formatMs(c.totalMs)]));
  if (cold.length) parts.push('', '## Cold start', '', mdTable(['model', 'runtime', 'load ms', 'first inference ms', 'total ms'], cold));
  const skipped = report.models.flatMap((x) => x.skipped.map((k) => `- ${x.name} on ${k.runtime}: ${k.reason}`));
  if (skipped.length) parts.push('', '## Not measured', '', ...skipped);
  return parts.join('\n') + '\n';
}
