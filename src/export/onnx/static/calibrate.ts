/*
 * Activation range calibration, after onnxruntime's `calibrate.py` (MinMax, Percentile, Entropy).
 * A collector sees every calibration batch of one tensor and returns the range [lo, hi] its
 * quantization grid should cover. Pure TypeScript, no tensors.
 */

/** Calibration methods, as onnxruntime names them. */
export const CALIBRATION_METHODS = ['minmax', 'percentile', 'entropy'] as const;

/** One of {@link CALIBRATION_METHODS}. */
export type CalibrationMethod = (typeof CALIBRATION_METHODS)[number];

/** Options of the histogram calibrators. */
export interface CalibratorArgs {
  /** Histogram bins (percentile: 2048, entropy: 2048). */
  bins?: number;
  /** Percentile kept, in percent (default 99.999, onnxruntime's). */
  percentile?: number;
  /** Entropy: bins of the quantized distribution (default 128). */
  quantizedBins?: number;
}

/** Accumulates one tensor's values over calibration batches. */
export interface RangeCollector {
  collect(values: Float32Array): void;
  /** The range to quantize, `lo <= hi`; [0, 0] when nothing was collected. */
  range(): [number, number];
}

function minMax(values: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** MinMax: the smallest and largest value seen (onnxruntime's default calibrator). */
class MinMaxCollector implements RangeCollector {
  private lo = Infinity;
  private hi = -Infinity;
  collect(values: Float32Array): void {
    const [l, h] = minMax(values);
    this.lo = Math.min(this.lo, l);
    this.hi = Math.max(this.hi, h);
  }
  range(): [number, number] {
    return this.lo <= this.hi ? [this.lo, this.hi] : [0, 0];
  }
}

/**
 * Percentile (symmetric, as onnxruntime's default): a histogram of |x| whose first batch spans
 * [min |x|, max |x|] in `bins` bins and later batches extend with bins of the same width; the
 * threshold is the bin edge where the cumulative share reaches the percentile; the range is
 * [-t, t] clipped to the values actually seen.
 */
class PercentileCollector implements RangeCollector {
  private hist: number[] = [];
  private e0 = 0;
  private width = 0;
  private lo = Infinity;
  private hi = -Infinity;
  constructor(
    private readonly bins: number,
    private readonly percentile: number,
  ) {}

  collect(values: Float32Array): void {
    if (values.length === 0) return;
    const [l, h] = minMax(values);
    this.lo = Math.min(this.lo, l);
    this.hi = Math.max(this.hi, h);
    const abs = Float32Array.from(values, Math.abs);
    const [amin, amax] = minMax(abs);
    if (this.hist.length === 0) {
      this.e0 = amin;
      this.width = (amax - amin) / this.bins;
      this.hist = new Array<number>(this.bins).fill(0);
      if (!(this.width > 0)) {
        // All |x| equal: one bin holds everything (numpy widens the range to +-0.5).
        this.e0 = amin - 0.5;
        this.width = 1 / this.bins;
      }
    } else if (amax > this.e0 + this.width * this.hist.length) {
      const extra = Math.ceil((amax - (this.e0 + this.width * this.hist.length)) / this.width);
      for (let k = 0; k < extra; k++) this.hist.push(0);
    }
    const n = this.hist.length;
    for (let i = 0; i < abs.length; i++) {
      const b = Math.floor((abs[i]! - this.e0) / this.width);
      // Values below the first edge fall outside the histogram (numpy drops them too); the last bin is closed.
      if (b >= 0) this.hist[Math.min(n - 1, b)]!++;
    }
  }

  range(): [number, number] {
    if (this.hist.length === 0) return [0, 0];
    const total = this.hist.reduce((a, b) => a + b, 0);
    const target = this.percentile / 100;
    let cum = 0;
    let idx = this.hist.length;
    for (let i = 0; i < this.hist.length; i++) {
      cum += this.hist[i]! / total;
      if (cum >= target) {
        idx = i;
        break;
      }
    }
    const t = this.e0 + idx * this.width;
    return [Math.max(-t, this.lo), Math.min(t, this.hi)];
  }
}

/**
 * Entropy (KL divergence, TensorRT's method as onnxruntime implements it): a histogram over
 * [-m, m] (m = max |x|, grown symmetrically as batches widen it); every symmetric window of at
 * least `quantizedBins` bins around zero is compared with its `quantizedBins`-level quantization
 * and the window with the smallest KL divergence gives the range (clipped to the values seen).
 * onnxruntime defaults to 128 bins, which leaves one candidate window (the whole range, i.e.
 * MinMax); 2048 bins give the search its room, as TensorRT uses.
 */
class EntropyCollector implements RangeCollector {
  private hist: Float64Array = new Float64Array(0);
  private threshold = 0;
  private lo = Infinity;
  private hi = -Infinity;
  constructor(
    private readonly bins: number,
    private readonly quantizedBins: number,
  ) {}

  private add(values: Float32Array, hist: Float64Array, t: number): void {
    const n = hist.length;
    const w = (2 * t) / n;
    for (let i = 0; i < values.length; i++) {
      const b = t > 0 ? Math.floor((values[i]! + t) / w) : n >> 1;
      if (b >= 0 && b <= n) hist[Math.min(n - 1, b)]!++;
    }
  }

  collect(values: Float32Array): void {
    if (values.length === 0) return;
    const [l, h] = minMax(values);
    this.lo = Math.min(this.lo, l);
    this.hi = Math.max(this.hi, h);
    const t = Math.max(Math.abs(l), Math.abs(h));
    if (this.hist.length === 0) {
      this.hist = new Float64Array(this.bins);
      this.threshold = t;
      this.add(values, this.hist, t);
      return;
    }
    if (t <= this.threshold) {
      this.add(values, this.hist, this.threshold);
      return;
    }
    if (this.threshold === 0) {
      const hist = new Float64Array(this.hist.length);
      this.add(values, hist, t);
      hist[hist.length >> 1]! += this.hist.reduce((a, b) => a + b, 0);
      [this.hist, this.threshold] = [hist, t];
      return;
    }
    // Grow the range by whole old bins on both sides, then merge every `f` bins so the histogram
    // keeps at most about `bins` bins (onnxruntime keeps the old width and lets the bin count grow
    // without bound, which makes the threshold search quadratic in it). Old bins land in new bins
    // exactly because the new edges are old edges.
    const stride = (2 * this.threshold) / this.hist.length;
    const n0 = this.hist.length;
    let m = Math.ceil((t - this.threshold) / stride);
    const f = Math.max(1, Math.ceil((n0 + 2 * m) / this.bins));
    while ((n0 + 2 * m) % f !== 0) m++;
    const hist = new Float64Array((n0 + 2 * m) / f);
    const nt = this.threshold + m * stride;
    for (let k = 0; k < n0; k++) hist[Math.floor((m + k) / f)]! += this.hist[k]!;
    this.add(values, hist, nt);
    [this.hist, this.threshold] = [hist, nt];
  }

  range(): [number, number] {
    const hist = this.hist;
    const n = hist.length;
    if (n === 0) return [0, 0];
    const edge = (i: number) => -this.threshold + (i * 2 * this.threshold) / n;
    const zero = n >> 1;
    const halfQ = this.quantizedBins >> 1;
    let best = Infinity;
    let bestRange: [number, number] = [edge(0), edge(n)];
    for (let i = halfQ; i <= zero; i++) {
      const start = zero - i;
      const end = Math.min(n, zero + i + 1);
      const kl = klDivergence(hist, start, end, this.quantizedBins);
      if (kl < best) [best, bestRange] = [kl, [edge(start), edge(end)]];
    }
    return [Math.max(bestRange[0], this.lo), Math.min(bestRange[1], this.hi)];
  }
}

/** onnxruntime's smooth_distribution: move eps mass onto empty bins so KL stays finite. */
function smooth(p: Float64Array, eps = 1e-4): Float64Array | undefined {
  let zeros = 0;
  for (const v of p) if (v === 0) zeros++;
  const nonzeros = p.length - zeros;
  if (nonzeros === 0) return undefined;
  const eps1 = (eps * zeros) / nonzeros;
  return p.map((v) => (v === 0 ? eps : v - eps1));
}

/**
 * KL(p || q) for the window hist[start, end): p is the window with the outliers folded into its end
 * bins, q its quantization to `levels` bins spread back over p's non-empty bins. (onnxruntime
 * spreads q over every bin of a group and truncates it to integers; the original MXNet/TensorRT
 * method, used here, spreads it over the non-empty bins in floating point.)
 */
function klDivergence(hist: Float64Array, start: number, end: number, levels: number): number {
  const p = hist.slice(start, end);
  for (let i = 0; i < start; i++) p[0]! += hist[i]!;
  for (let i = end; i < hist.length; i++) p[p.length - 1]! += hist[i]!;
  const sliced = hist.subarray(start, end);
  const merged = Math.floor(sliced.length / levels);
  const q = new Float64Array(p.length);
  for (let k = 0; k < levels; k++) {
    const a = k * merged;
    const b = k === levels - 1 ? sliced.length : a + merged;
    let sum = 0;
    let nonzero = 0;
    for (let j = a; j < b; j++) {
      sum += sliced[j]!;
      if (p[j] !== 0) nonzero++;
    }
    if (nonzero) for (let j = a; j < b; j++) if (p[j] !== 0) q[j] = sum / nonzero;
  }
  const ps = smooth(p);
  const qs = smooth(q);
  if (!ps || !qs) return Infinity;
  const sp = ps.reduce((x, y) => x + y, 0);
  const sq = qs.reduce((x, y) => x + y, 0);
  let kl = 0;
  for (let j = 0; j < ps.length; j++) {
    const a = ps[j]! / sp;
    if (a > 0) kl += a * Math.log(a / (qs[j]! / sq));
  }
  return kl;
}

/**
 * A range collector for one tensor.
 *
 * @example
 * const c = createCollector('percentile');
 * for (const batch of batches) c.collect(batch);
 * const [lo, hi] = c.range();
 */
export function createCollector(method: CalibrationMethod, args: CalibratorArgs = {}): RangeCollector {
  switch (method) {
    case 'minmax':
      return new MinMaxCollector();
    case 'percentile': {
      const p = args.percentile ?? 99.999;
      if (!(p > 0 && p <= 100)) throw new Error(`percentile must be in (0, 100], got ${p}`);
      return new PercentileCollector(args.bins ?? 2048, p);
    }
    case 'entropy': {
      const levels = args.quantizedBins ?? 128;
      const bins = args.bins ?? 2048;
      if (!(Number.isInteger(levels) && levels >= 2 && Number.isInteger(bins) && bins >= levels)) {
        throw new Error(`entropy calibration needs integer bins >= quantizedBins >= 2, got bins ${bins}, quantizedBins ${levels}`);
      }
      return new EntropyCollector(bins, levels);
    }
    default:
      throw new Error(`unknown calibrator '${String(method)}': expected one of ${CALIBRATION_METHODS.join(', ')}`);
  }
}
