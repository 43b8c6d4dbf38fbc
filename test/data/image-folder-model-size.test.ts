import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import sharp from 'sharp';
import { loadDataArg } from '../../src/cli/data-arg.js';
import { imageInputOf } from '../../src/model/input-shape.js';

/*
 * `folder:` data is decoded at the model's input [H, W, C], not always 28x28x1: a solid colour
 * checked by hand, a textured image checked against sharp's own resize of the same file.
 */

let root: string;
const W = 40;
const H = 30;

/** A textured RGB image: every pixel differs, so resizing is really exercised. */
function texture(seed: number): Buffer {
  const px = Buffer.alloc(W * H * 3);
  for (let i = 0; i < W * H; i++) {
    const x = i % W;
    const y = Math.floor(i / W);
    px[i * 3] = (x * 6 + seed * 40) % 256;
    px[i * 3 + 1] = (y * 8 + seed * 15) % 256;
    px[i * 3 + 2] = ((x * y) / 3 + seed) % 256;
  }
  return px;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'imgfolder-size-'));
  for (const cls of ['a', 'b']) mkdirSync(join(root, cls));
  const raw = { raw: { width: W, height: H, channels: 3 as const } };
  // Class a: solid colours (one grey, one RGB), so values can be checked by hand.
  await sharp(Buffer.alloc(W * H * 3, 77), raw).png().toFile(join(root, 'a', 'grey.png'));
  const red = Buffer.alloc(W * H * 3);
  for (let i = 0; i < W * H; i++) red.set([200, 30, 90], i * 3);
  await sharp(red, raw).png().toFile(join(root, 'a', 'solid.png'));
  // Class b: textures.
  for (let k = 0; k < 3; k++) await sharp(texture(k), raw).png().toFile(join(root, 'b', `t${k}.png`));
});

/** Every image of the folder, training and held-out splits together, keyed by pixel content. */
async function loadAll(inputShape: number[]) {
  const { train, test } = await loadDataArg(`folder:${root}`, { inputShape });
  return [train, test];
}

describe('image folders are decoded at the model input size', () => {
  it('maps a model input shape to image size and channels', () => {
    expect(imageInputOf([224, 224, 3])).toEqual({ imageSize: [224, 224], channels: 3 });
    expect(imageInputOf([64, 64, 1])).toEqual({ imageSize: [64, 64], channels: 1 });
    expect(imageInputOf([28, 28])).toEqual({ imageSize: [28, 28], channels: 1 });
    expect(imageInputOf([100])).toBeUndefined();
    expect(imageInputOf([null, 28, 1])).toBeUndefined();
    expect(imageInputOf([8, 8, 4])).toBeUndefined();
  });

  it('64x64x1: solid colours give the hand-computed grey values', async () => {
    const sets = await loadAll([64, 64, 1]);
    for (const ds of sets) expect(ds.xShape).toEqual([64, 64, 1]);
    const per = 64 * 64;
    const images = sets.flatMap((ds) => Array.from({ length: ds.size }, (_, i) => ds.x.subarray(i * per, (i + 1) * per)));
    expect(images).toHaveLength(5);
    // A grey (77, 77, 77) stays 77 in any greyscale conversion; every pixel, after resizing.
    const grey = images.filter((im) => im.every((v) => Math.abs(v - 77 / 255) < 1e-6));
    expect(grey).toHaveLength(1);
    // sharp (libvips) greys in linear light: Rec.709 luma of the linearised sRGB values, re-encoded.
    const lin = (v: number) => ((v / 255 + 0.055) / 1.055) ** 2.4;
    const y = 0.2126 * lin(200) + 0.7152 * lin(30) + 0.0722 * lin(90);
    const luma = (1.055 * y ** (1 / 2.4) - 0.055) * 255; // 104.4
    const red = images.filter((im) => im.every((v) => Math.abs(v * 255 - luma) <= 1.5 && v === im[0]));
    expect(red).toHaveLength(1);
  });

  it('224x224x3: solid RGB exact, textures equal to sharp resizing the same file', async () => {
    const sets = await loadAll([224, 224, 3]);
    const per = 224 * 224 * 3;
    const images = sets.flatMap((ds) => Array.from({ length: ds.size }, (_, i) => ds.x.subarray(i * per, (i + 1) * per)));
    expect(sets[0]!.xShape).toEqual([224, 224, 3]);
    const solid = images.filter((im) => im.every((v, i) => Math.abs(v * 255 - [200, 30, 90][i % 3]!) < 1e-3));
    expect(solid).toHaveLength(1);
    for (let k = 0; k < 3; k++) {
      const ref = await sharp(join(root, 'b', `t${k}.png`))
        .resize(224, 224, { fit: 'fill', kernel: 'linear', fastShrinkOnLoad: false })
        .raw()
        .toBuffer();
      const match = images.filter((im) => im.every((v, i) => Math.abs(v * 255 - ref[i]!) < 1e-3));
      expect(match, `texture t${k}`).toHaveLength(1);
    }
  });

  it('without a model shape the old default 28x28x1 stays', async () => {
    const { train } = await loadDataArg(`folder:${root}`);
    expect(train.xShape).toEqual([28, 28, 1]);
  });

  it('importing the SDK does not load sharp (its native binary loads on first decode)', () => {
    // Watch native addons being opened: sharp's is @img/sharp-<platform>/lib/sharp-*.node.
    const probe = (after: string) =>
      `(async () => { const open = process.dlopen; let hit = false; process.dlopen = function (m, f, ...r) { if (String(f).includes('sharp')) hit = true; return open.call(this, m, f, ...r); }; ${after}; console.log(hit ? 'loaded' : 'not-loaded'); })()`;
    const run = (after: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--input-type=commonjs', '-e', probe(after)], {
        cwd: join(import.meta.dirname, '..', '..'),
        encoding: 'utf8',
        timeout: 60_000,
      }).stdout.trim();
    expect(run("await import('./src/index.ts')")).toBe('not-loaded');
    // The probe itself works: decoding loads it.
    expect(run("await (await import('./src/data/image-folder.ts')).loadSharp()")).toBe('loaded');
  });
});
