/*
 * Minimal SVG chart helpers for the self-contained HTML report: no chart library, no scripts,
 * just static <svg> markup with an id per chart so tests (and users) can find them.
 */

/** Colour cycle for series. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f'];

/** Escape text for SVG/HTML content and attributes. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const num = (x: number) => (Math.round(x * 10) / 10).toString();

/** A "nice" upper bound for an axis (1, 2, 2.5 or 5 times a power of ten). */
export function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function frame(id: string, title: string, w: number, h: number, body: string): string {
  return `<svg id="${esc(id)}" class="chart" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(title)}">` +
    `<title>${esc(title)}</title><text x="${w / 2}" y="18" text-anchor="middle" class="chart-title">${esc(title)}</text>${body}</svg>`;
}

function legend(names: string[], x: number, y: number): string {
  return names
    .map((n, i) => `<rect x="${x}" y="${y + i * 16}" width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/><text x="${x + 14}" y="${y + i * 16 + 9}" class="legend">${esc(n)}</text>`)
    .join('');
}

/** Options of {@link groupedBarChart}. */
export interface BarChartArgs {
  id: string;
  title: string;
  /** One group of bars per category (e.g. per model). */
  categories: string[];
  /** One bar per series in each group; `undefined` leaves a gap. */
  series: Array<{ name: string; values: Array<number | undefined> }>;
  /** What the value axis measures, printed under it, e.g. `bytes` or `ms per call`. */
  axisLabel: string;
  /** Fixed end of the value axis (e.g. 1 for fractions), so several charts share one scale; default a round number above the largest value. */
  max?: number;
  /** Formats a value for its label and the axis ticks, e.g. bytes or ms. */
  format?: (v: number) => string;
  /** Per category, what to print where a group has no bar at all (e.g. `not measured on onnx`). */
  missing?: Array<string | undefined>;
  /** Formats the axis ticks (default: `format`). */
  formatTick?: (v: number) => string;
  width?: number;
  /** Room for the category labels, px (default: fitted to the longest, at most {@link MAX_LABEL_WIDTH}); equal values line charts up. */
  labelWidth?: number;
}

/** Widest category-label column of a bar chart, px; longer labels are cut with an ellipsis (full text in the tooltip). */
export const MAX_LABEL_WIDTH = 260;
/** Approximate advance of a 12 px system-ui character, px (no font metrics in a static SVG). */
const CHAR_PX = 6.6;

/** Label column width that fits `labels` (plus padding), capped at {@link MAX_LABEL_WIDTH}. */
export function labelWidthFor(labels: readonly string[]): number {
  return Math.min(MAX_LABEL_WIDTH, Math.max(60, Math.ceil(Math.max(0, ...labels.map((l) => l.length)) * CHAR_PX) + 14));
}

function fitLabel(label: string, width: number): string {
  const n = Math.floor((width - 14) / CHAR_PX);
  return label.length <= n ? label : `${label.slice(0, Math.max(1, n - 1))}…`;
}

/**
 * Horizontal grouped bars: one row group per category, one bar per series, value labels at the
 * bar ends, and a value axis with ticks and a label (`.axis-label`) under the bars. Each bar is a
 * `<rect class="bar">` carrying `data-value`.
 */
export function groupedBarChart(a: BarChartArgs): string {
  const w = a.width ?? 720;
  const fmt = a.format ?? ((v: number) => num(v));
  const fmtTick = a.formatTick ?? fmt;
  const left = a.labelWidth ?? labelWidthFor(a.categories);
  const right = 90;
  const barH = 14;
  const groupH = a.series.length * (barH + 2) + 10;
  const top = 32;
  const axisH = 38;
  const legendH = a.series.length > 1 ? a.series.length * 16 + 6 : 0;
  const plotBottom = top + a.categories.length * groupH;
  const h = plotBottom + axisH + legendH + 10;
  const max = a.max ?? niceMax(Math.max(0, ...a.series.flatMap((s) => s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)))));
  const scale = (v: number) => ((w - left - right) * Math.min(max, Math.max(0, v))) / max;
  let body = '';
  for (let i = 0; i <= 4; i++) {
    const x = num(left + scale((max * i) / 4));
    body += `<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${plotBottom + 4}" class="grid"/>`;
    body += `<text x="${x}" y="${plotBottom + 16}" text-anchor="middle" class="tick">${esc(fmtTick((max * i) / 4))}</text>`;
  }
  body += `<line x1="${left}" y1="${plotBottom + 4}" x2="${w - right}" y2="${plotBottom + 4}" class="axis"/>`;
  body += `<text x="${num((left + w - right) / 2)}" y="${plotBottom + 32}" text-anchor="middle" class="axis-label">${esc(a.axisLabel)}</text>`;
  a.categories.forEach((cat, ci) => {
    const gy = top + ci * groupH;
    const shown = fitLabel(cat, left);
    body += `<text x="${left - 8}" y="${num(gy + groupH / 2)}" text-anchor="end" class="label">${shown === cat ? '' : `<title>${esc(cat)}</title>`}${esc(shown)}</text>`;
    a.series.forEach((s, si) => {
      const v = s.values[ci];
      if (v === undefined || !Number.isFinite(v)) return;
      const y = gy + si * (barH + 2);
      const bw = scale(v);
      body += `<rect class="bar" x="${left}" y="${y}" width="${num(bw)}" height="${barH}" fill="${PALETTE[si % PALETTE.length]}" data-series="${esc(s.name)}" data-value="${v}"><title>${esc(`${cat} ${s.name}: ${fmt(v)}`)}</title></rect>`;
      body += `<text x="${num(left + bw + 4)}" y="${y + barH - 3}" class="value">${esc(fmt(v))}</text>`;
    });
    // A row with no bar at all says so rather than looking like a zero.
    const note = a.missing?.[ci];
    if (note && a.series.every((s) => !Number.isFinite(s.values[ci] ?? NaN))) {
      body += `<text x="${left + 6}" y="${num(gy + groupH / 2)}" class="value missing">${esc(note)}</text>`;
    }
  });
  body += `<line x1="${left}" y1="${top - 4}" x2="${left}" y2="${plotBottom + 4}" class="axis"/>`;
  if (legendH) body += legend(a.series.map((s) => s.name), left, plotBottom + axisH + 6);
  return frame(a.id, a.title, w, h, body);
}

/** Options of {@link scatterChart}. */
export interface ScatterArgs {
  id: string;
  title: string;
  points: Array<{ label: string; x: number; y: number }>;
  xLabel: string;
  yLabel: string;
  formatX?: (v: number) => string;
  formatY?: (v: number) => string;
  width?: number;
  height?: number;
}

/** Padded axis range; never dips below 0 for non-negative data (sizes, accuracies, losses). */
function linearAxis(lo: number, hi: number): [number, number] {
  const pad = lo === hi ? (Math.abs(lo) || 1) * 0.05 : (hi - lo) * 0.1;
  return [lo >= 0 ? Math.max(0, lo - pad) : lo - pad, hi + pad];
}

/** Labelled points on linear axes (e.g. accuracy vs gzipped size); each point is a `<circle class="point">`. */
export function scatterChart(a: ScatterArgs): string {
  const w = a.width ?? 720;
  const h = a.height ?? 360;
  const [l, r, t, b] = [70, 30, 32, 48];
  const fx = a.formatX ?? num;
  const fy = a.formatY ?? num;
  const [x0, x1] = linearAxis(Math.min(...a.points.map((p) => p.x)), Math.max(...a.points.map((p) => p.x)));
  const [y0, y1] = linearAxis(Math.min(...a.points.map((p) => p.y)), Math.max(...a.points.map((p) => p.y)));
  const sx = (x: number) => l + ((x - x0) / (x1 - x0)) * (w - l - r);
  const sy = (y: number) => h - b - ((y - y0) / (y1 - y0)) * (h - t - b);
  let body = `<line x1="${l}" y1="${h - b}" x2="${w - r}" y2="${h - b}" class="axis"/><line x1="${l}" y1="${t}" x2="${l}" y2="${h - b}" class="axis"/>`;
  for (let i = 0; i <= 4; i++) {
    const xv = x0 + ((x1 - x0) * i) / 4;
    const yv = y0 + ((y1 - y0) * i) / 4;
    body += `<text x="${num(sx(xv))}" y="${h - b + 14}" text-anchor="middle" class="tick">${esc(fx(xv))}</text>`;
    body += `<text x="${l - 6}" y="${num(sy(yv) + 4)}" text-anchor="end" class="tick">${esc(fy(yv))}</text>`;
  }
  body += `<text x="${(l + w - r) / 2}" y="${h - 8}" text-anchor="middle" class="axis-label">${esc(a.xLabel)}</text>`;
  body += `<text x="14" y="${(t + h - b) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(t + h - b) / 2})" class="axis-label">${esc(a.yLabel)}</text>`;
  a.points.forEach((p, i) => {
    body += `<circle class="point" cx="${num(sx(p.x))}" cy="${num(sy(p.y))}" r="5" fill="${PALETTE[i % PALETTE.length]}" data-x="${p.x}" data-y="${p.y}"><title>${esc(`${p.label}: ${fx(p.x)}, ${fy(p.y)}`)}</title></circle>`;
    body += `<text x="${num(sx(p.x) + 8)}" y="${num(sy(p.y) - 6)}" class="value">${esc(p.label)}</text>`;
  });
  return frame(a.id, a.title, w, h, body);
}

/** Options of {@link lineChart}. */
export interface LineChartArgs {
  id: string;
  title: string;
  series: Array<{ name: string; values: number[] }>;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
}

/** One polyline per series over x = 0..n-1 (e.g. loss per epoch); each is a `<polyline class="line">`. */
export function lineChart(a: LineChartArgs): string {
  const w = a.width ?? 720;
  const h = a.height ?? 320;
  const [l, r, t, b] = [60, 220, 32, 44];
  const all = a.series.flatMap((s) => s.values).filter(Number.isFinite);
  const n = Math.max(2, ...a.series.map((s) => s.values.length));
  const [y0, y1] = linearAxis(Math.min(...all), Math.max(...all));
  const sx = (i: number) => l + (i / (n - 1)) * (w - l - r);
  const sy = (y: number) => h - b - ((y - y0) / (y1 - y0)) * (h - t - b);
  let body = `<line x1="${l}" y1="${h - b}" x2="${w - r}" y2="${h - b}" class="axis"/><line x1="${l}" y1="${t}" x2="${l}" y2="${h - b}" class="axis"/>`;
  for (let i = 0; i <= 4; i++) {
    const yv = y0 + ((y1 - y0) * i) / 4;
    body += `<text x="${l - 6}" y="${num(sy(yv) + 4)}" text-anchor="end" class="tick">${esc(yv.toPrecision(3))}</text>`;
    const xi = Math.round(((n - 1) * i) / 4);
    body += `<text x="${num(sx(xi))}" y="${h - b + 14}" text-anchor="middle" class="tick">${xi + 1}</text>`;
  }
  body += `<text x="${(l + w - r) / 2}" y="${h - 8}" text-anchor="middle" class="axis-label">${esc(a.xLabel)}</text>`;
  body += `<text x="14" y="${(t + h - b) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(t + h - b) / 2})" class="axis-label">${esc(a.yLabel)}</text>`;
  a.series.forEach((s, i) => {
    const pts = s.values.map((v, j) => `${num(sx(j))},${num(sy(v))}`).join(' ');
    body += `<polyline class="line" fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="2" points="${pts}" data-series="${esc(s.name)}"/>`;
  });
  body += legend(a.series.map((s) => s.name), w - r + 12, t + 4);
  return frame(a.id, a.title, w, h, body);
}
