import { accuracyOf, formatBytes, formatMs, formatPct, latencyRows, notMeasured, sizeRows } from './format.js';
import type { BenchReport, ModelReport } from './schema.js';
import { esc, groupedBarChart, labelWidthFor, lineChart, scatterChart } from './svg.js';

/** Chart id fragment for a name: lowercase, non-alphanumerics to `-`. */
export function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'model';
}

/** Ids handed out so far in one report: a second `x` becomes `x-2` (labels can slug alike). */
class Ids {
  private readonly used = new Set<string>(['bench-data']);
  take(base: string): string {
    let id = base;
    for (let n = 2; this.used.has(id); n++) id = `${base}-${n}`;
    this.used.add(id);
    return id;
  }
}

/** Cells that say why nothing is there (`not measured on …`) are set apart and may wrap. */
const EXPLAINED = /^not (measured|scored|counted)\b/;

/** One table row; runs of the same explanation (a runtime skipped for every batch) become one cell. */
function row(cells: string[]): string {
  let out = '';
  for (let i = 0; i < cells.length; ) {
    let span = 1;
    const c = cells[i]!;
    if (i > 0 && EXPLAINED.test(c)) while (cells[i + span] === c) span++;
    out += `<td${span > 1 ? ` colspan="${span}"` : ''}${EXPLAINED.test(c) ? ' class="none"' : ''}>${esc(c)}</td>`;
    i += span;
  }
  return `<tr>${out}</tr>`;
}

/** A table in its own horizontally scrolling box, so a wide one never widens the page. */
function table(header: string[], rows: string[][]): string {
  return `<div class="scroll"><table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map(row)
    .join('')}</tbody></table></div>`;
}

function qualityDetails(m: ModelReport): string {
  const q = m.quality;
  if (!q) return '';
  if (q.task === 'segmentation') {
    const absent = 'not measured (class in neither truth nor prediction)';
    const rows = q.iou.map((v, c) => [String(c), v === null ? absent : v.toFixed(4), q.dice[c] === null ? absent : q.dice[c]!.toFixed(4)]);
    return `<details><summary>${esc(m.name)}: mean IoU ${q.meanIoU.toFixed(4)}, mean Dice ${q.meanDice.toFixed(4)}, pixel accuracy ${formatPct(q.pixelAccuracy)}</summary>${table(['class', 'IoU', 'Dice'], rows)}</details>`;
  }
  const header = ['true \\ pred', ...q.confusion.map((_, c) => String(c)), 'precision', 'recall'];
  const rows = q.confusion.map((row, c) => [
    String(c),
    ...row.map(String),
    q.perClass[c]!.precision === null ? 'not measured (never predicted)' : q.perClass[c]!.precision!.toFixed(3),
    q.perClass[c]!.recall === null ? 'not measured (no samples)' : q.perClass[c]!.recall!.toFixed(3),
  ]);
  return `<details><summary>${esc(m.name)}: accuracy ${formatPct(q.accuracy)}, top-${q.topK.k} ${formatPct(q.topK.accuracy)}, loss ${q.loss.toFixed(4)} (${esc(q.runtime)})</summary>${table(header, rows)}</details>`;
}

const STYLE = `*{box-sizing:border-box}body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right;white-space:nowrap}
th{white-space:normal;min-width:5em;vertical-align:bottom}
td:first-child,th:first-child{text-align:left}th{background:#f4f4f4}
td.none{white-space:normal;min-width:10em;max-width:22em;color:#777;font-style:italic;text-align:center}
.chart{display:block;margin:10px 0;background:#fff;max-width:100%;height:auto}.chart-title{font-weight:600;font-size:14px}
.label,.legend,.axis-label{font-size:12px}.axis-label{fill:#444}.value,.tick{font-size:11px;fill:#444}.axis{stroke:#888}.grid{stroke:#eee}
.meta{color:#666}details{margin:6px 0}ul.skipped{overflow-wrap:anywhere}`;

/**
 * A self-contained HTML report (inline CSS and SVG, no scripts or external assets): tables, each
 * in its own horizontally scrolling box, with "not measured on <runtime> (why)" where a cell has
 * no value; size/gzip bars (`#chart-size`), latency bars per runtime (`#chart-latency-<runtime>`),
 * accuracy vs gzipped size (`#chart-accuracy-size`), per-layer sparsity on one shared 0-100 %
 * axis (`#chart-sparsity-<model>`) and loss curves (`#chart-loss`) when a history is given. Every
 * chart has a labelled axis; ids are unique (a label slugging like an earlier one gets `-2`).
 * The report JSON is embedded as `<script type="application/json" id="bench-data">`.
 *
 * @example
 * writeFileAtomic('report.html', renderHtml(report));
 */
export function renderHtml(report: BenchReport): string {
  const ids = new Ids();
  const names = report.models.map((m, i) => (i === 0 ? `${m.name} (baseline)` : m.name));
  const parts: string[] = [];
  const mc = report.machine;
  parts.push(`<h1>tfjs-compress bench</h1><p class="meta">${esc(report.createdAt)} · ${esc(mc.cpu)} × ${mc.cores} · Node ${esc(mc.node)} · runtimes ${esc(report.options.runtimes.join(', '))} · ${report.options.warmup} warm-up + ${report.options.repeats} timed runs</p>`);

  const s = sizeRows(report);
  parts.push('<h2>Size</h2>', table(s.header, s.rows));
  parts.push(groupedBarChart({
    id: ids.take('chart-size'),
    title: 'Artifact size (bytes on disk and gzipped)',
    axisLabel: 'bytes',
    categories: names,
    series: [
      { name: 'on disk', values: report.models.map((m) => m.size.totalBytes) },
      { name: 'gzip -9', values: report.models.map((m) => m.size.totalGzipBytes) },
    ],
    format: formatBytes,
  }));

  const l = latencyRows(report);
  if (l.header.length > 1) {
    parts.push('<h2>Latency</h2>', table(l.header, l.rows));
    for (const rt of report.options.runtimes) {
      if (!report.models.some((m) => m.latency.some((x) => x.runtime === rt))) continue;
      parts.push(groupedBarChart({
        id: ids.take(`chart-latency-${slug(rt)}`),
        title: `Mean latency per call on ${rt} (ms)`,
        axisLabel: 'ms per call (mean)',
        missing: report.models.map((m) => notMeasured(m, rt, 80)),
        categories: names,
        series: report.options.batches.map((b) => ({
          name: `batch ${b}`,
          values: report.models.map((m) => m.latency.find((x) => x.runtime === rt && x.batch === b)?.meanMs),
        })),
        format: (v) => `${formatMs(v)} ms`,
      }));
    }
  }

  const scored = report.models.filter((m) => accuracyOf(m) !== undefined);
  if (scored.length > 0) {
    parts.push(`<h2>Quality${report.options.dataset ? ` on ${esc(report.options.dataset)}` : ''}</h2>`);
    parts.push(scatterChart({
      id: ids.take('chart-accuracy-size'),
      title: 'Accuracy vs gzipped size',
      points: scored.map((m) => ({ label: m.name, x: m.size.totalGzipBytes, y: accuracyOf(m)! })),
      xLabel: 'gzipped bytes',
      yLabel: 'accuracy',
      formatX: formatBytes,
      formatY: (v) => `${(v * 100).toFixed(1)}%`,
    }));
    parts.push(...scored.map(qualityDetails));
  }

  const withParams = report.models.filter((m) => m.params && m.params.layers.length > 0);
  if (withParams.length > 0) {
    parts.push('<h2>Per-layer sparsity</h2>');
    // One scale for every model: 0..100 % on the same axis, label column and width, so bars compare across charts.
    const category = (x: { name: string; params: number }) => `${x.name} (${x.params.toLocaleString('en-US')})`;
    const labelWidth = labelWidthFor(withParams.flatMap((m) => m.params!.layers.map(category)));
    for (const m of withParams) {
      parts.push(groupedBarChart({
        id: ids.take(`chart-sparsity-${slug(m.name)}`),
        title: `${m.name}: fraction of zero weights per layer (${formatPct(m.params!.sparsity)} overall)`,
        categories: m.params!.layers.map(category),
        series: [{ name: 'sparsity', values: m.params!.layers.map((x) => x.sparsity) }],
        axisLabel: 'zero weights in the layer (0-100 %, same scale in every chart)',
        max: 1,
        labelWidth,
        format: (v) => formatPct(v),
        formatTick: (v) => `${Math.round(v * 100)}%`,
      }));
    }
  }

  const hist = Object.entries(report.history ?? {});
  if (hist.length > 0) {
    parts.push('<h2>Training loss</h2>');
    parts.push(lineChart({
      id: ids.take('chart-loss'),
      title: 'Loss per epoch',
      series: hist.flatMap(([name, h]) => [
        { name: `${name} loss`, values: h.loss },
        ...(h.valLoss ? [{ name: `${name} val loss`, values: h.valLoss }] : []),
      ]),
      xLabel: 'epoch',
      yLabel: 'loss',
    }));
  }

  const skipped = report.models.flatMap((m) => m.skipped.map((k) => `<li>${esc(`${m.name} on ${k.runtime}: ${k.reason}`)}</li>`));
  if (skipped.length) parts.push('<h2>Not measured</h2>', `<ul class="skipped">${skipped.join('')}</ul>`);

  // JSON inside <script> must not contain "</script"; escaping "<" keeps it inert and valid JSON.
  const data = JSON.stringify(report).replace(/</g, '\\u003c');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tfjs-compress bench</title><style>${STYLE}</style></head><body>${parts.join('\n')}<script type="application/json" id="bench-data">${data}</script></body></html>\n`;
}
