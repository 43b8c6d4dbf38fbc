import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../util/atomic.js';
import { renderHtml } from './html.js';
import { formatMarkdown } from './markdown.js';
import { BENCH_SCHEMA_VERSION, type BenchReport } from './schema.js';
import { benchReportSchema } from './validate.js';

/** The report as stable JSON text (2-space indent, trailing newline). */
export function formatJson(report: BenchReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}

/** Where to write each report format; omitted formats are not written. */
export interface WriteReportsArgs {
  json?: string;
  md?: string;
  html?: string;
}

/**
 * Write the requested report files atomically.
 *
 * @example
 * writeReports(report, { json: 'bench.json', html: 'report.html' });
 */
export function writeReports(report: BenchReport, args: WriteReportsArgs): void {
  if (args.json) writeFileAtomic(args.json, formatJson(report));
  if (args.md) writeFileAtomic(args.md, formatMarkdown(report));
  if (args.html) writeFileAtomic(args.html, renderHtml(report));
}

/**
 * Read and validate a JSON report (e.g. to re-render HTML later), naming the bad field on error.
 *
 * @example
 * const r = readReport('bench.json');
 */
export function readReport(path: string): BenchReport {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: not a readable JSON file (${(err as Error).message})`);
  }
  const version = (raw as { schemaVersion?: unknown })?.schemaVersion;
  if (version !== BENCH_SCHEMA_VERSION) {
    throw new Error(`${path}: schemaVersion is ${JSON.stringify(version)}, this version reads ${BENCH_SCHEMA_VERSION}`);
  }
  const parsed = benchReportSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${path}: field '${issue.path.join('.')}' ${issue.message}`);
  }
  return raw as BenchReport;
}
