import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerTrainCommand } from '../../src/cli/commands/train.js';
import { loadDataArg } from '../../src/cli/data-arg.js';
import { loadImageFolder, MAX_IMAGE_PIXELS } from '../../src/data/image-folder.js';
import { encodeNpy, loadNpyDataset, MAX_CLASSES, writeNpy } from '../../src/data/npy.js';
import { parseIdx } from '../../src/data/idx.js';
import { useBackend } from '../helpers/backend.js';
import { runCommands } from '../helpers/cli.js';
import { pngWithSize } from '../fuzz/harness/images.js';

/*
 * Memory is bounded by what the input holds: sizes read from a file are checked (against the file
 * size, the model, or a documented limit) before anything is allocated from them.
 */

const rssMB = () => process.memoryUsage().rss / 2 ** 20;

describe('sizes from files are bounded before allocating', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bounds-'));
  beforeAll(() => useBackend('cpu'));

  it('one corrupted label in a 208-byte y.npy does not size the one-hot targets', () => {
    writeNpy(join(dir, 'x.npy'), new Float32Array(20 * 4), [20, 4]);
    const labels = Int32Array.from({ length: 20 }, (_, i) => i % 10);
    labels[3] = 60_000_000;
    writeNpy(join(dir, 'y.npy'), labels, [20]);
    expect(statSync(join(dir, 'y.npy')).size).toBe(208);
    const before = rssMB();
    expect(() => loadNpyDataset(join(dir, 'x.npy'), join(dir, 'y.npy'))).toThrow(
      new RegExp(`y\\.npy: label 60000000 at sample 3 implies 60000001 classes \\(20 samples\\), over the limit of ${MAX_CLASSES}`),
    );
    expect(rssMB() - before).toBeLessThan(100);
    // With the model's output width (what `--data npy:` passes for a known model): named as outside it.
    expect(() => loadNpyDataset(join(dir, 'x.npy'), join(dir, 'y.npy'), { numClasses: 10 })).toThrow(/label 60000000 at sample 3 is outside 0\.\.9/);
  });

  it('`--data npy:` checks labels against the model output width', async () => {
    const labels = Int32Array.from({ length: 20 }, (_, i) => i % 12);
    writeNpy(join(dir, 'y12.npy'), labels, [20]);
    await expect(loadDataArg(`npy:${join(dir, 'x.npy')},${join(dir, 'y12.npy')}`, { outputShape: [10] })).rejects.toThrow(/y12\.npy: label 10 at sample 10 is outside 0\.\.9/);
    const ok = await loadDataArg(`npy:${join(dir, 'x.npy')},${join(dir, 'y12.npy')}`, { outputShape: [12] });
    expect(ok.train.numClasses).toBe(12);
  });

  it('`train` refuses the corrupted labels in one line, before allocating (the CLI path of the issue)', async () => {
    const before = rssMB();
    await expect(runCommands(registerTrainCommand, ['train', '--arch', 'mlp', '--data', `npy:${join(dir, 'x.npy')},${join(dir, 'y.npy')}`, '--out', join(dir, 'out'), '--no-progress'])).rejects.toThrow(/y\.npy: label 60000000 at sample 3 implies 60000001 classes/);
    expect(rssMB() - before).toBeLessThan(200);
  });

  it('a 123-byte-class PNG whose header claims 5505052x28 is refused from its header', async () => {
    const sharp = (await import('sharp')).default;
    for (const c of ['a', 'b']) {
      mkdirSync(join(dir, 'imgs', c), { recursive: true });
      await sharp(Buffer.alloc(28 * 28, 7), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(dir, 'imgs', c, '0.png'));
    }
    const bomb = pngWithSize(readFileSync(join(dir, 'imgs', 'a', '0.png')), 5505052, 28);
    writeFileSync(join(dir, 'imgs', 'a', '0.png'), bomb);
    // sharp itself would decode it: the header is valid (its CRC was recomputed).
    const meta = await sharp(bomb).metadata();
    expect([meta.width, meta.height]).toEqual([5505052, 28]);
    const before = rssMB();
    await expect(loadImageFolder(join(dir, 'imgs'), { imageSize: [28, 28], channels: 1 })).rejects.toThrow(
      new RegExp(`a/0\\.png: PNG header declares 5505052x28x\\d pixels, more than its ${bomb.length} bytes can hold`),
    );
    expect(rssMB() - before).toBeLessThan(200);
    // JPEG has no such bound from its size: a header claiming 20000x20000 meets the documented pixel limit.
    const jpeg = new Uint8Array(await sharp(Buffer.alloc(28 * 28 * 3, 9), { raw: { width: 28, height: 28, channels: 3 } }).jpeg().toBuffer());
    const sof = jpeg.findIndex((b, i) => b === 0xff && jpeg[i + 1] === 0xc0);
    new DataView(jpeg.buffer).setUint16(sof + 5, 20000);
    new DataView(jpeg.buffer).setUint16(sof + 7, 20000);
    rmSync(join(dir, 'imgs', 'a', '0.png'));
    writeFileSync(join(dir, 'imgs', 'a', '0.jpg'), jpeg);
    await expect(loadImageFolder(join(dir, 'imgs'), { imageSize: [28, 28], channels: 1 })).rejects.toThrow(new RegExp(`a/0\\.jpg: image header declares 20000x20000 = 400000000 pixels, over the limit of ${MAX_IMAGE_PIXELS}`));
  });

  it('.npy and IDX shapes are checked against the file size before allocating', () => {
    const npy = encodeNpy(new Float32Array(4), [4]);
    const text = new TextDecoder('latin1').decode(npy.subarray(10, 10 + new DataView(npy.buffer).getUint16(8, true)));
    const huge = new TextEncoder().encode(text.replace('(4,)', '(4000000000,)').slice(0, text.length));
    const bad = npy.slice();
    bad.set(huge, 10);
    writeFileSync(join(dir, 'huge.npy'), bad);
    expect(() => loadNpyDataset(join(dir, 'huge.npy'), join(dir, 'huge.npy'))).toThrow(/huge\.npy: header declares shape \[4000000000\] of <f4 \(16000000000 data bytes\) but the file has 16 data bytes/);
    const idx = Uint8Array.of(0, 0, 0x08, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3);
    expect(() => parseIdx(idx, 'train-images')).toThrow(/train-images: IDX header declares shape \[60000,28,28\] of uint8 \(47040016 bytes\) but the file has 19 bytes/);
  });

  it('a container declaring more than the decode limit is refused before allocating', async () => {
    const { unpackArtifacts } = await import('../../src/serialize/decoder.js');
    const { packModel } = await import('../../src/serialize/encoder.js');
    const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3 })] });
    const bytes = await packModel(m);
    m.dispose();
    expect(() => unpackArtifacts(bytes, { maxDecodedBytes: 10 })).toThrow(/over the limit of 10 .*nothing was allocated/);
  });
});
