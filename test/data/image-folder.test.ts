import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { listImageFolder, loadImageFolder } from '../../src/data/image-folder.js';
import type { TensorDataset } from '../../src/data/dataset.js';

/** Solid-colour image; `alpha` adds a 4th channel. */
async function solid(path: string, rgb: [number, number, number], format: 'png' | 'jpeg', alpha?: number): Promise<void> {
  const [w, h] = [6, 5];
  const ch = alpha === undefined ? 3 : 4;
  const px = Buffer.alloc(w * h * ch);
  for (let i = 0; i < w * h; i++) {
    px.set(alpha === undefined ? rgb : [...rgb, alpha], i * ch);
  }
  const img = sharp(px, { raw: { width: w, height: h, channels: ch } });
  await (format === 'png' ? img.png() : img.jpeg({ quality: 100, chromaSubsampling: '4:4:4' })).toFile(path);
}

// Every image gets a unique colour so it can be identified after shuffling:
// red encodes the class folder, green the image index.
const CLASSES = ['cat', 'Dog', 'bird']; // codepoint order: Dog < bird < cat
const PER_CLASS = [4, 3, 3];
const colour = (c: number, j: number): [number, number, number] => [40 + 60 * c, 20 + 30 * j, 200];

let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'imgfolder-'));
  for (let c = 0; c < CLASSES.length; c++) {
    const dir = join(root, CLASSES[c]!);
    mkdirSync(dir);
    for (let j = 0; j < PER_CLASS[c]!; j++) {
      // Mix formats: a JPEG, an RGBA PNG (alpha must be dropped, not composited), a nested subfolder.
      if (c === 1 && j === 0) await solid(join(dir, `img${j}.jpg`), colour(c, j), 'jpeg');
      else if (c === 2 && j === 1) await solid(join(dir, `img${j}.PNG`), colour(c, j), 'png', 30);
      else if (c === 0 && j === 3) {
        mkdirSync(join(dir, 'nested'));
        await solid(join(dir, 'nested', `img${j}.png`), colour(c, j), 'png');
      } else await solid(join(dir, `img${j}.png`), colour(c, j), 'png');
    }
  }
  // Files Keras would ignore.
  writeFileSync(join(root, 'cat', 'notes.txt'), 'not an image');
  writeFileSync(join(root, 'cat', '.hidden.png'), 'not an image either');
  writeFileSync(join(root, 'README.md'), 'top-level files are not classes');
});

/** Recover (folder class, image index) of each sample from its pixel colour. */
function identify(ds: TensorDataset): Array<[number, number]> {
  const size = ds.xShape.reduce((a, b) => a * b, 1);
  return Array.from({ length: ds.size }, (_, i) => {
    const r = Math.round(ds.x[i * size]! * 255);
    const g = Math.round(ds.x[i * size + 1]! * 255);
    return [Math.round((r - 40) / 60), Math.round((g - 20) / 30)] as [number, number];
  });
}

describe('loadImageFolder', () => {
  it('uses sorted subfolder names as classes and decodes PNG/JPEG to [0, 1] RGB', async () => {
    const ds = await loadImageFolder(root, { imageSize: [5, 6], shuffle: false });
    expect(ds.classNames).toEqual(['Dog', 'bird', 'cat']);
    expect(ds.size).toBe(10);
    expect(ds.xShape).toEqual([5, 6, 3]);
    expect(ds.yShape).toEqual([3]);
    const size = 5 * 6 * 3;
    const ids = identify(ds);
    for (let i = 0; i < ds.size; i++) {
      const [c, j] = ids[i]!;
      const expectedLabel = ['Dog', 'bird', 'cat'].indexOf(CLASSES[c]!);
      expect(ds.labels![i]).toBe(expectedLabel);
      expect(Array.from(ds.y.subarray(i * 3, i * 3 + 3))).toEqual([0, 1, 2].map((k) => (k === expectedLabel ? 1 : 0)));
      const jpeg = c === 1 && j === 0;
      for (let p = 0; p < 30; p++) {
        for (let k = 0; k < 3; k++) {
          const v = ds.x[i * size + p * 3 + k]!;
          // PNG is lossless; the quality-100 JPEG of a flat colour is within a couple of levels.
          if (jpeg) expect(Math.abs(v * 255 - colour(c, j)[k]!)).toBeLessThanOrEqual(3);
          else expect(v).toBeCloseTo(colour(c, j)[k]! / 255, 6);
        }
      }
    }
    // Unshuffled order: by class, then by sorted entry name within a class ('nested' after 'img2.png').
    expect(ids.map(([c, j]) => `${c}/${j}`)).toEqual(['1/0', '1/1', '1/2', '2/0', '2/1', '2/2', '0/0', '0/1', '0/2', '0/3']);
  });

  it('resizes with a bilinear (triangle) filter and stretches to imageSize', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imgresize-'));
    mkdirSync(join(dir, 'a'));
    // 8x8, left half white, right half black.
    const px = Buffer.alloc(64);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 4; x++) px[y * 8 + x] = 255;
    await sharp(px, { raw: { width: 8, height: 8, channels: 1 } }).png().toFile(join(dir, 'a', 'edge.png'));
    const ds = await loadImageFolder(dir, { imageSize: [4, 4], channels: 1 });
    expect(ds.xShape).toEqual([4, 4, 1]);
    // Hand-computed 2x triangle filter: output column k centres on input 2k+1 with weights
    // 0.75 for the two nearest pixels and 0.25 for the next ones (edges clamped), / 2.
    const row = [1, (0.75 + 0.75 + 0.25) / 2, 0.25 / 2, 0];
    for (let y = 0; y < 4; y++) {
      Array.from(ds.x.subarray(y * 4, y * 4 + 4)).forEach((v, x) => expect(Math.abs(v - row[x]!)).toBeLessThanOrEqual(1 / 255));
    }
    // Non-square target: stretched, not cropped (the left column stays white, the right black).
    const wide = await loadImageFolder(dir, { imageSize: [2, 8], channels: 3 });
    expect(wide.xShape).toEqual([2, 8, 3]);
    expect(wide.x[0]).toBeCloseTo(1, 6);
    expect(wide.x[7 * 3]).toBeCloseTo(0, 6);
  });

  it('converts to grayscale for channels 1 and replicates gray to RGB for channels 3', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imggray-'));
    mkdirSync(join(dir, 'g'));
    await sharp(Buffer.alloc(16, 77), { raw: { width: 4, height: 4, channels: 1 } }).png().toFile(join(dir, 'g', 'gray.png'));
    await solid(join(dir, 'g', 'rgbgray.png'), [150, 150, 150], 'png', 255);
    const one = await loadImageFolder(dir, { imageSize: [4, 4], channels: 1, shuffle: false });
    expect(one.xShape).toEqual([4, 4, 1]);
    expect(Array.from(one.x.subarray(0, 16)).every((v) => Math.abs(v - 77 / 255) < 1e-6)).toBe(true);
    expect(Array.from(one.x.subarray(16)).every((v) => Math.abs(v - 150 / 255) < 1e-6)).toBe(true);
    const three = await loadImageFolder(dir, { imageSize: [4, 4], channels: 3, shuffle: false });
    expect(Array.from(three.x.subarray(0, 48)).every((v) => Math.abs(v - 77 / 255) < 1e-6)).toBe(true);
  });

  it('splits with a seed: disjoint, complete, repeatable, floor(split * N) validation files', async () => {
    const args = { imageSize: [5, 6] as [number, number], validationSplit: 0.25, seed: 7 };
    const [train, val] = await loadImageFolder(root, { ...args, subset: 'both' });
    expect(train.size).toBe(8); // 10 - floor(2.5)
    expect(val.size).toBe(2);
    expect(train.classNames).toEqual(['Dog', 'bird', 'cat']);
    const key = ([c, j]: [number, number]): string => `${c}/${j}`;
    const all = [...identify(train), ...identify(val)].map(key);
    expect(new Set(all).size).toBe(10);
    // Separate calls with the same seed reproduce the same partition and order.
    const train2 = await loadImageFolder(root, { ...args, subset: 'training' });
    const val2 = await loadImageFolder(root, { ...args, subset: 'validation' });
    expect(identify(train2).map(key)).toEqual(identify(train).map(key));
    expect(identify(val2).map(key)).toEqual(identify(val).map(key));
    expect(Array.from(val2.labels!)).toEqual(Array.from(val.labels!));
    // Another seed gives another order.
    const other = await loadImageFolder(root, { ...args, seed: 8, subset: 'training' });
    expect(identify(other).map(key)).not.toEqual(identify(train).map(key));
  });

  it('honours classNames (subset and order) and limitPerClass', async () => {
    const ds = await loadImageFolder(root, { imageSize: [5, 6], classNames: ['cat', 'Dog'], limitPerClass: 2, shuffle: false });
    expect(ds.classNames).toEqual(['cat', 'Dog']);
    expect(ds.numClasses).toBe(2);
    expect(Array.from(ds.labels!)).toEqual([0, 0, 1, 1]);
    expect(identify(ds).map(([c]) => c)).toEqual([0, 0, 1, 1]);
    const listing = listImageFolder(root);
    expect(listing.files.length).toBe(10);
    expect(listing.files.some((f) => f.endsWith('.txt') || f.includes('.hidden'))).toBe(false);
  });

  it('gives clear errors for bad folders and files', async () => {
    const size: [number, number] = [4, 4];
    await expect(loadImageFolder(join(root, 'nope'), { imageSize: size })).rejects.toThrow(/image folder .*nope does not exist/);
    const flat = mkdtempSync(join(tmpdir(), 'imgflat-'));
    await solid(join(flat, 'a.png'), [1, 2, 3], 'png');
    await expect(loadImageFolder(flat, { imageSize: size })).rejects.toThrow(/no class subfolders found/);
    await expect(loadImageFolder(join(flat, 'a.png'), { imageSize: size })).rejects.toThrow(/is not a directory/);

    const bad = mkdtempSync(join(tmpdir(), 'imgbad-'));
    mkdirSync(join(bad, 'x'));
    mkdirSync(join(bad, 'y'));
    await solid(join(bad, 'x', 'good.png'), [1, 2, 3], 'png');
    writeFileSync(join(bad, 'y', 'broken.jpg'), 'this is not a jpeg');
    await expect(loadImageFolder(bad, { imageSize: size })).rejects.toThrow(/broken\.jpg: cannot decode image/);

    const empty = mkdtempSync(join(tmpdir(), 'imgempty-'));
    mkdirSync(join(empty, 'full'));
    mkdirSync(join(empty, 'void'));
    await solid(join(empty, 'full', 'a.png'), [1, 2, 3], 'png');
    writeFileSync(join(empty, 'void', 'readme.txt'), 'no images here');
    await expect(loadImageFolder(empty, { imageSize: size })).rejects.toThrow(/void: class folder has no images/);

    await expect(loadImageFolder(root, { imageSize: size, classNames: ['cat', 'cow'] })).rejects.toThrow(
      /class 'cow' from classNames has no subfolder/,
    );
    await expect(loadImageFolder(root, { imageSize: size, validationSplit: 0.2 })).rejects.toThrow(
      /validationSplit and subset must be given together/,
    );
    await expect(loadImageFolder(root, { imageSize: size, validationSplit: 1.5, subset: 'training' })).rejects.toThrow(
      /validationSplit must be in \(0, 1\)/,
    );
    await expect(loadImageFolder(root, { imageSize: [0, 4] })).rejects.toThrow(/imageSize must be \[height, width\]/);
    await expect(loadImageFolder(root, { imageSize: size, channels: 2 as 1 })).rejects.toThrow(/channels must be 1 or 3/);
    await expect(loadImageFolder(root, { imageSize: size, validationSplit: 0.01, subset: 'validation' })).rejects.toThrow(
      /leaves no validation images/,
    );
  });
});
