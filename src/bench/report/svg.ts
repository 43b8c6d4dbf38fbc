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
  /** Formats a value for its label, e.g. bytes or ms. */
  format?: (v: number) => string;
  width?: number;
}

/**
 * Horizontal grouped bars: one row group per category, one bar per series, value labels at the
 * bar ends. Each bar is a `<rect class="bar">` carrying `data-value`.
 */
export function groupedBarChart(a: BarChartArgs): string {
  const w = a.width ?? 720;
  const fmt = a.format ?? ((v: number) => num(v));
  const left = 170;
  const right = 90;
  const barH = 14;
  const groupH = a.series.length * (barH + 2) + 10;
  const top = 32;
  const legendH = a.series.length > 1 ? a.series.length * 16 + 6 : 0;
  const h = top + a.categories.length * groupH + legendH + 10;
  const max = niceMax(Math.max(0, ...a.series.flatMap((s) => s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)))));
  const scale = (v: number) => ((w - left - right) * Math.max(0, v)) / max;
  let body = '';
  a.categories.forEach((cat, ci) => {
    const gy = top + ci * groupH;
    body += `<text x="${left - 8}" y="${num(gy + groupH / 2)}" text-anchor="end" class="label">${esc(cat)}</text>`;
    a.series.forEach((s, si) => {
      const v = s.values[ci];
      if (v === undefined || !Number.isFinite(v)) return;
      const y = gy + si * (barH + 2);
      const bw = scale(v);
      body += `<rect class="bar" x="${left}" y="${y}" width="${num(bw)}" height="${barH}" fill="${PALETTE[si % PALETTE.length]}" data-series="${esc(s.name)}" data-value="${v}"><title>${esc(`${cat} ${s.name}: ${fmt(v)}`)}</title></rect>`;
      body += `<text x="${num(left + bw + 4)}" y="${y + barH - 3}" class="value">${esc(fmt(v))}</text>`;
    });
  });
  body += `<line x1="${left}" y1="${top - 4}" x2="${left}" y2="${top + a.categories.length * groupH}" class="axis"/>`;
  if (legendH) body += legend(a.series.map((s) => s.name), left, top + a.categories.length * groupH + 6);
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
  body += `<text x="${(l + w - r) / 2}" y="${h - 8}" text-anchor="middle" class="label">${esc(a.xLabel)}</text>`;
  body += `<text x="14" y="${(t + h - b) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(t + h - b) / 2})" class="label">${esc(a.yLabel)}</text>`;
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
  body += `<text x="${(l + w - r) / 2}" y="${h - 8}" text-anchor="middle" class="label">${esc(a.xLabel)}</text>`;
  body += `<text x="14" y="${(t + h - b) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(t + h - b) / 2})" class="label">${esc(a.yLabel)}</text>`;
  a.series.forEach((s, i) => {
    const pts = s.values.map((v, j) => `${num(sx(j))},${num(sy(v))}`).join(' ');
    body += `<polyline class="line" fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="2" points="${pts}" data-series="${esc(s.name)}"/>`;
  });
  body += legend(a.series.map((s) => s.name), w - r + 12, t + 4);
  return frame(a.id, a.title, w, h, body);
}
