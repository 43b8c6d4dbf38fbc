import { sizeOf, type CodebookTensor } from './types.js';

/** Options for {@link quantizeCodebook}. */
export interface CodebookArgs {
  /** Index width b in 2..8: at most 2^b shared non-zero values. Default 5 (Deep Compression's FC setting). */
  bits?: number;
  /** Maximum Lloyd iterations (default 1000; each costs only O(k log n)). */
  maxIterations?: number;
}

/** First position in sorted `a` whose value is >= x. */
function lowerBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Cluster of v: the number of midpoints <= v (consistent with the prefix-sum ranges below). */
function nearest(mids: Float64Array, v: number): number {
  let lo = 0;
  let hi = mids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (mids[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function midpoints(c: Float64Array): Float64Array {
  const m = new Float64Array(Math.max(0, c.length - 1));
  for (let j = 0; j < m.length; j++) m[j] = (c[j]! + c[j + 1]!) / 2;
  return m;
}

/**
 * 1-D k-means with linear initialisation (centroids evenly spaced between min and max, as in
 * Deep Compression, which keeps the large, rare weights represented). Works on sorted values with
 * prefix sums, so one iteration costs O(k log n). Returns ascending centroids; empty clusters are dropped.
 */
export function kmeans1d(values: ArrayLike<number>, k: number, maxIterations = 1000): Float64Array {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return new Float64Array(0);
  const lo = sorted[0]!;
  const hi = sorted[n - 1]!;
  if (k <= 1 || lo === hi) return Float64Array.of(k <= 1 ? sorted.reduce((a, b) => a + b, 0) / n : lo);
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + sorted[i]!;
  let c = new Float64Array(k);
  for (let j = 0; j < k; j++) c[j] = lo + ((hi - lo) * j) / (k - 1);
  for (let it = 0; it < maxIterations; it++) {
    const mids = midpoints(c);
    const next = new Float64Array(k);
    let start = 0;
    let moved = false;
    for (let j = 0; j < k; j++) {
      const end = j < k - 1 ? lowerBound(sorted, mids[j]!) : n;
      // An empty cluster keeps its centroid (dropped at the end).
      next[j] = end > start ? (prefix[end]! - prefix[start]!) / (end - start) : c[j]!;
      if (next[j] !== c[j]) moved = true;
      start = Math.max(start, end);
    }
    c = next;
    if (!moved) break;
  }
  // Drop empty clusters so no index slot is wasted.
  const mids = midpoints(c);
  const used = new Uint8Array(k);
  let start = 0;
  for (let j = 0; j < k; j++) {
    const end = j < k - 1 ? lowerBound(sorted, mids[j]!) : n;
    if (end > start) used[j] = 1;
    start = Math.max(start, end);
  }
  return c.filter((_, j) => used[j] === 1);
}

/** Assign every element to its nearest centroid (ties go up); zeros get -1. */
export function assignToCentroids(values: Float32Array, centroids: Float32Array): Int16Array {
  const c = Float64Array.from(centroids);
  const mids = midpoints(c);
  const out = new Int16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out[i] = v === 0 ? -1 : nearest(mids, v);
  }
  return out;
}

/**
 * Weight sharing by k-means (Deep Compression): the non-zero elements are clustered into at most
 * 2^bits shared values; zeros are left out of the clustering and stay exactly zero, so pruning
 * sparsity survives. Centroids are float32 and never zero unless a cluster mean is exactly 0.
 *
 * @example
 * const t = quantizeCodebook(kernel, [784, 300], { bits: 5 }); // <= 32 shared values + zeros
 */
export function quantizeCodebook(values: Float32Array, shape: number[], args: CodebookArgs = {}): CodebookTensor {
  const bits = args.bits ?? 5;
  if (!(Number.isInteger(bits) && bits >= 2 && bits <= 8)) {
    throw new Error(`codebook quantization: bits must be an integer in 2..8, got ${bits}`);
  }
  if (values.length !== sizeOf(shape)) {
    throw new Error(`codebook quantization: ${values.length} values do not match shape [${shape.join(', ')}]`);
  }
  const nonzero: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new Error(`codebook quantization: element ${i} is ${v}, expected a finite number`);
    if (v !== 0) nonzero.push(v);
  }
  const centroids = Float32Array.from(kmeans1d(nonzero, 2 ** bits, args.maxIterations ?? 1000));
  return { kind: 'codebook', shape: [...shape], bits, centroids, assignments: assignToCentroids(values, centroids) };
}
