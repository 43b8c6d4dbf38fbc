import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FASHION_MNIST_CLASSES,
  fashionMnistDataDir,
  fashionMnistFolderName,
  loadFashionMnist,
  writeFashionMnistImageFolder,
} from '../../src/data/fashion-mnist.js';
import { loadImageFolder } from '../../src/data/image-folder.js';
import type { TensorDataset } from '../../src/data/dataset.js';

const rowCache = new Map<number, { rows: number[][]; sums: number[] }>();

/** The package's own rows for one class via plain JSON.parse (independent of our byte parser). */
function jsonRows(cls: number): { rows: number[][]; sums: number[] } {
  let entry = rowCache.get(cls);
  if (!entry) {
    const parsed = JSON.parse(readFileSync(join(fashionMnistDataDir(), `${cls}.json`), 'utf8')) as { data: number[][] };
    const rows = parsed.data.filter((r) => r.length > 0);
    entry = { rows, sums: rows.map((r) => r.reduce((a, b) => a + b, 0)) };
    rowCache.set(cls, entry);
  }
  return entry;
}

/** Row of the class file equal to `img` (raw 0..255 values), or -1. */
function rowIndex(cls: number, img: ArrayLike<number>): number {
  const { rows, sums } = jsonRows(cls);
  let sum = 0;
  for (let p = 0; p < img.length; p++) sum += img[p]!;
  // The pixel sum is a cheap pre-filter; equal sums are confirmed pixel by pixel.
  for (let r = 0; r < rows.length; r++) {
    if (sums[r] === sum && rows[r]!.every((v, p) => v === img[p])) return r;
  }
  return -1;
}

/** Nearest-centroid test accuracy: a cheap check that labels really belong to their images. */
function nearestCentroidAccuracy(train: TensorDataset, test: TensorDataset): number {
  const d = 784;
  const k = train.numClasses;
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  for (let i = 0; i < train.size; i++) {
    const c = train.labels![i]!;
    counts[c]!++;
    for (let p = 0; p < d; p++) sums[c * d + p] += train.x[i * d + p]!;
  }
  let correct = 0;
  for (let i = 0; i < test.size; i++) {
    let best = -1;
    let bestDist = Infinity;
    for (let c = 0; c < k; c++) {
      let dist = 0;
      for (let p = 0; p < d; p++) dist += (test.x[i * d + p]! - sums[c * d + p]! / counts[c]!) ** 2;
      if (dist < bestDist) [best, bestDist] = [c, dist];
    }
    if (best === test.labels![i]) correct++;
  }
  return correct / test.size;
}

describe('Fashion-MNIST', () => {
  it('loads [28,28,1] inputs in [0,1] with one-hot targets and class names', () => {
    const test = loadFashionMnist({ split: 'test', limit: 600 });
    expect(test.size).toBe(600);
    expect(test.xShape).toEqual([28, 28, 1]);
    expect(test.yShape).toEqual([10]);
    expect(test.classNames).toEqual([...FASHION_MNIST_CLASSES]);
    let min = Infinity;
    let max = -Infinity;
    for (const v of test.x) [min, max] = [Math.min(min, v), Math.max(max, v)];
    expect(min).toBe(0);
    expect(max).toBe(1);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < test.size; i++) {
      const row = Array.from(test.y.subarray(i * 10, i * 10 + 10));
      expect(row.indexOf(1)).toBe(test.labels![i]);
      expect(row.reduce((a, b) => a + b, 0)).toBe(1);
      counts[test.labels![i]!]++;
    }
    // The fixed shuffle mixes the classes, so a prefix holds all of them.
    expect(Math.min(...counts)).toBeGreaterThan(30);
  });

  it('takes test images from rows 6000..6999 of each class file and train images from rows 0..5999', () => {
    const test = loadFashionMnist({ split: 'test', limit: 40, normalize: false });
    const train = loadFashionMnist({ split: 'train', limit: 40, normalize: false, seed: 3 });
    for (const [ds, lo, hi] of [
      [test, 6000, 6999],
      [train, 0, 5999],
    ] as const) {
      for (let i = 0; i < ds.size; i++) {
        const idx = rowIndex(ds.labels![i]!, ds.x.subarray(i * 784, (i + 1) * 784));
        expect(idx).toBeGreaterThanOrEqual(lo);
        expect(idx).toBeLessThanOrEqual(hi);
      }
    }
  });

  it('labels match images: nearest-centroid accuracy is far above chance', () => {
    const train = loadFashionMnist({ split: 'train', limit: 2000 });
    const test = loadFashionMnist({ split: 'test', limit: 500 });
    const acc = nearestCentroidAccuracy(train, test);
    // Nearest centroid reaches roughly 0.68 on Fashion-MNIST; shuffled labels would give ~0.1.
    expect(acc).toBeGreaterThan(0.55);
  });

  it('selects and renumbers classes', () => {
    const shoes = loadFashionMnist({ split: 'test', classes: [9, 5, 7] });
    expect(shoes.size).toBe(3000);
    expect(shoes.numClasses).toBe(3);
    expect(shoes.classNames).toEqual(['Ankle boot', 'Sandal', 'Sneaker']);
    expect(new Set(shoes.labels)).toEqual(new Set([0, 1, 2]));
    expect(() => loadFashionMnist({ classes: [3, 10] })).toThrow(/class must be 0\.\.9, got 10/);
    expect(() => loadFashionMnist({ classes: [3, 3] })).toThrow(/duplicate class/);
  });

  it('exports an image folder that loadImageFolder reads back pixel-exactly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fm-folder-'));
    const classes = [0, 1, 2, 5, 7, 9];
    const res = await writeFashionMnistImageFolder(dir, { classes, perClass: 4, split: 'test' });
    expect(res.files).toBe(24);
    expect(res.classNames).toEqual(classes.map(fashionMnistFolderName));
    expect(res.classNames[0]).toBe('0-t-shirt-top');
    expect(readdirSync(dir).sort()).toEqual(res.classNames);
    expect(readdirSync(join(dir, '9-ankle-boot')).sort()).toEqual([0, 1, 2, 3].map((i) => `test-0000${i}.png`));
    const ds = await loadImageFolder(dir, { imageSize: [28, 28], channels: 1, shuffle: false });
    expect(ds.classNames).toEqual(res.classNames);
    for (const [k, c] of classes.entries()) {
      const { rows } = jsonRows(c);
      for (let i = 0; i < 4; i++) {
        const s = k * 4 + i;
        expect(ds.labels![s]).toBe(k);
        const got = Array.from(ds.x.subarray(s * 784, (s + 1) * 784), (v) => Math.round(v * 255));
        expect(got).toEqual(rows[6000 + i]);
      }
    }
    await expect(writeFashionMnistImageFolder(dir, { classes: [1], perClass: 1001, split: 'test' })).rejects.toThrow(
      /perClass must be an integer in 1\.\.1000/,
    );
  });
});
