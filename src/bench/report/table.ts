import { formatMs, latencyRows, sizeRows } from './format.js';
import type { BenchReport } from './schema.js';

/**
 * Aligned plain-text grid: first column left-aligned, the others right-aligned, a rule under the header.
 *
 * @example
 * formatGrid(['model', 'bytes'], [['a', '12']]);
 */
export function formatGrid(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((s, c) => (c === 0 ? s.padEnd(widths[c]!) : s.padStart(widths[c]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const TERMINAL_REASON_CHARS = 28;

/**
 * Plain-text comparison tables for the terminal: sizes/quality, then latency (mean ms with the
 * ratio to the baseline), then anything skipped.
 *
 * @example
 * console.log(formatTable(await benchModels({ models: ['a', 'b'] })));
 */
export function formatTable(report: BenchReport): string {
  const out: string[] = [];
  // Terminal cells quote less of a skip reason; the full reasons follow under "not measured".
  const s = sizeRows(report, { reasonChars: TERMINAL_REASON_CHARS });
  out.push(formatGrid(s.header, s.rows));
  const l = latencyRows(report, { reasonChars: TERMINAL_REASON_CHARS });
  if (l.header.length > 1) out.push('', formatGrid(l.header, l.rows));
  const cold = report.models.flatMap((m) => m.coldStart.map((c) => `${m.name} ${c.runtime}: load ${formatMs(c.loadMs)} ms + first ${formatMs(c.firstInferenceMs)} ms`));
  if (cold.length) out.push('', 'cold start:', ...cold.map((c) => `  ${c}`));
  const dims = (d: Array<number | null>) => `[${d.map((v) => v ?? '?').join(', ')}]`;
  const io = report.models.flatMap((m) =>
    m.inputs && m.outputs && (m.inputs.length > 1 || m.outputs.length > 1)
      ? [`${m.name}: inputs ${m.inputs.map((i) => `${i.name} ${dims(i.shape)} ${i.dtype}${i.indexRange ? ` (ids < ${i.indexRange})` : ''}`).join(', ')}; outputs ${m.outputs.map((o) => `${o.name} ${dims(o.shape)}`).join(', ')}`]
      : [],
  );
  if (io.length) out.push('', 'inputs and outputs:', ...io.map((k) => `  ${k}`));
  const skipped = report.models.flatMap((m) => m.skipped.map((k) => `${m.name} on ${k.runtime}: ${k.reason}`));
  if (skipped.length) out.push('', 'not measured:', ...skipped.map((k) => `  ${k}`));
  return out.join('\n');
}
