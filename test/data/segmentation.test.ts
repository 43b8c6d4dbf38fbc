import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mnistDataDir } from '../../src/data/mnist.js';
import { loadMnistSegmentation, MNIST_SEGMENTATION_CLASSES } from '../../src/data/segmentation.js';

/** Per-pixel class ids of the first `n` test images, computed by numpy straight from the IDX bytes. */
function numpyMasks(n: number, threshold: number): number[] {
  const code = `import numpy as np, json
d = ${JSON.stringify(mnistDataDir())}
img = np.fromfile(d + '/t10k-images-idx3-ubyte', dtype=np.uint8, offset=16).reshape(-1, 28, 28)[:${n}]
lab = np.fromfile(d + '/t10k-labels-idx1-ubyte', dtype=np.uint8, offset=8)[:${n}]
x = img.astype(np.float32) / np.float32(255)
mask = np.where(x > ${threshold}, lab[:, None, None].astype(np.int64) + 1, 0)
print(json.dumps(mask.ravel().tolist()))`;
  const r = spawnSync('/usr/bin/python3', ['-c', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as number[];
}

describe('loadMnistSegmentation', () => {
  const seg = loadMnistSegmentation({ split: 'test', limit: 4 });

  it('has [28,28,1] inputs and one-hot [28,28,11] masks', () => {
    expect(seg.size).toBe(4);
    expect(seg.xShape).toEqual([28, 28, 1]);
    expect(seg.yShape).toEqual([28, 28, 11]);
    expect(seg.classNames).toEqual([...MNIST_SEGMENTATION_CLASSES]);
    expect(Array.from(seg.labels!)).toEqual([7, 2, 1, 0]); // the well-known first MNIST test labels
    for (let k = 0; k < seg.size * 784; k++) {
      let sum = 0;
      for (let c = 0; c < 11; c++) sum += seg.y[k * 11 + c]!;
      expect(sum).toBe(1);
    }
  });

  it('hand-checks the first test image (a 7)', () => {
    const classAt = (i: number, r: number, c: number): number => {
      const base = ((i * 28 + r) * 28 + c) * 11;
      return Array.from(seg.y.subarray(base, base + 11)).indexOf(1);
    };
    // Corners are background.
    expect(classAt(0, 0, 0)).toBe(0);
    expect(classAt(0, 27, 27)).toBe(0);
    // Row 8 of the first test image is the top bar of the 7: pixels 6..20 are above 127 (checked
    // by eye on a printout of the IDX bytes), so they are class 7 + 1 = 8 and the rest background.
    const row8 = Array.from({ length: 28 }, (_, c) => classAt(0, 8, c));
    expect(row8).toEqual(Array.from({ length: 28 }, (_, c) => (c >= 6 && c <= 20 ? 8 : 0)));
    let ink = 0;
    for (let p = 0; p < 784; p++) if (classAt(0, Math.floor(p / 28), p % 28) === 8) ink++;
    expect(ink).toBe(71); // pixels > 127 in that image
    // Image 3 is a 0: its ink is class 1.
    const inkOf3 = Array.from({ length: 784 }, (_, p) => classAt(3, Math.floor(p / 28), p % 28)).filter((k) => k !== 0);
    expect(new Set(inkOf3)).toEqual(new Set([1]));
  });

  // 0.3 avoids pixel values whose float32 value sits exactly on the threshold (51/255 == 0.2).
  it('matches masks computed independently by numpy, for two thresholds', () => {
    const ink: number[] = [];
    for (const threshold of [0.5, 0.3]) {
      const ds = threshold === 0.5 ? seg : loadMnistSegmentation({ split: 'test', limit: 4, threshold });
      const ref = numpyMasks(4, threshold);
      const got = Array.from({ length: 4 * 784 }, (_, k) => Array.from(ds.y.subarray(k * 11, k * 11 + 11)).indexOf(1));
      expect(got).toEqual(ref);
      ink.push(got.filter((k) => k > 0).length);
    }
    // A lower threshold marks more pixels as ink.
    expect(ink[1]).toBeGreaterThan(ink[0]!);
  });

  it('rejects a bad threshold', () => {
    expect(() => loadMnistSegmentation({ limit: 1, threshold: 1.5 })).toThrow(/threshold must be in \[0, 1\), got 1.5/);
  });
});
