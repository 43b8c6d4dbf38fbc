import * as tf from '@tensorflow/tfjs';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadImageFolder } from '../../src/data/image-folder.js';
import { loadModel } from '../../src/model/load.js';
import { useBackend } from '../helpers/backend.js';
import { SHARDS, writeLayersOriginal } from '../fuzz/harness/layers.js';
import { outputOf, sameOutputs, stockOutput } from '../fuzz/harness/tfjs-common.js';

/*
 * Every path a model folder names is resolved (symlinks too) and must stay inside the folder:
 * stock tfjs (fed the same manifest by a naive reader) follows a weights symlink out of the folder
 * and scores the other model's weights; the SDK refuses, without telling anything about the file.
 */

const x = () => tf.tensor2d([[0.5, -1, 2, 0.25, -0.75, 1.5]]);

describe('paths stay inside their folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'paths-'));
  const good = join(root, 'good');
  const other = join(root, 'other');
  beforeAll(async () => {
    await useBackend('cpu');
    mkdirSync(good);
    mkdirSync(other);
    (await writeLayersOriginal(good)).dispose();
    // Another model with the same layout, different weights: what a symlink out would load.
    const m = await writeLayersOriginal(other);
    const w = m.getWeights().map((t) => tf.mul(t, -2));
    m.setWeights(w);
    tf.dispose(w);
    await m.save(tf.io.withSaveHandler(async (a) => {
      const data = new Uint8Array(a.weightData as ArrayBuffer);
      writeFileSync(join(other, SHARDS[0]!), data.subarray(0, 64));
      writeFileSync(join(other, SHARDS[1]!), data.subarray(64));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    m.dispose();
  });

  function variant(name: string, link: (dir: string) => void): string {
    const dir = join(root, name);
    mkdirSync(dir);
    for (const f of ['model.json', ...SHARDS]) copyFileSync(join(good, f), join(dir, f));
    link(dir);
    return dir;
  }

  it('a shard symlinked out of the folder is refused (stock tfjs would load the other file), size not revealed', async () => {
    const dir = variant('shard-link', (d) => {
      const f = join(d, SHARDS[1]!);
      rmSync(f);
      symlinkSync(join(other, SHARDS[1]!), f);
    });
    const input = x();
    // The naive reader loads the outside weights: a different output, no error.
    const stock = await stockOutput(join(dir, 'model.json'), 'layers', input);
    const ref = await loadModel(good, { command: 'test', accept: ['layers'] });
    const refOut = outputOf(ref, input);
    if (ref.kind === 'layers') ref.model.dispose();
    expect(stock instanceof Float32Array && !sameOutputs(stock, refOut)).toBe(true);
    const before = tf.memory().numTensors;
    const err = await loadModel(dir, { command: 'test', accept: ['layers'] }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toMatch(new RegExp(`weight file '${SHARDS[1]}' leads \\(through a symlink\\) outside the model folder; refused`));
    expect(msg).not.toContain(String(statSync(join(other, SHARDS[1]!)).size));
    expect(msg).not.toContain(other);
    expect(tf.memory().numTensors).toBe(before);
    input.dispose();
  });

  it('a symlinked sub-folder pointing outside and a ../ path are refused; a link inside the folder is fine', async () => {
    const sub = variant('sub-link', (d) => {
      symlinkSync(other, join(d, 'weights'));
      const json = JSON.parse(readFileSync(join(d, 'model.json'), 'utf8'));
      json.weightsManifest[0].paths = SHARDS.map((s) => `weights/${s}`);
      writeFileSync(join(d, 'model.json'), JSON.stringify(json));
    });
    await expect(loadModel(sub, { command: 'test', accept: ['layers'] })).rejects.toThrow(/weight file 'weights\/group1-shard1of2.bin' leads \(through a symlink\) outside the model folder/);
    const up = variant('dotdot', (d) => {
      const json = JSON.parse(readFileSync(join(d, 'model.json'), 'utf8'));
      json.weightsManifest[0].paths = [`../other/${SHARDS[0]}`, SHARDS[1]];
      writeFileSync(join(d, 'model.json'), JSON.stringify(json));
    });
    await expect(loadModel(up, { command: 'test', accept: ['layers'] })).rejects.toThrow(/weight file '..\/other\/group1-shard1of2.bin' escapes the model folder/);
    const inside = variant('inside-link', (d) => {
      mkdirSync(join(d, 'store'));
      copyFileSync(join(d, SHARDS[0]!), join(d, 'store', 'a.bin'));
      rmSync(join(d, SHARDS[0]!));
      symlinkSync(join(d, 'store', 'a.bin'), join(d, SHARDS[0]!));
    });
    const input = x();
    const m = await loadModel(inside, { command: 'test', accept: ['layers'] });
    const stock = await stockOutput(join(inside, 'model.json'), 'layers', input);
    expect(stock instanceof Float32Array && sameOutputs(outputOf(m, input), stock)).toBe(true);
    if (m.kind === 'layers') m.model.dispose();
    input.dispose();
  });

  it('an image folder does not follow links out of itself', async () => {
    const sharp = (await import('sharp')).default;
    const dir = join(root, 'images');
    for (const c of ['a', 'b']) {
      mkdirSync(join(dir, c), { recursive: true });
      await sharp(Buffer.alloc(16, c === 'a' ? 10 : 200), { raw: { width: 4, height: 4, channels: 1 } }).png().toFile(join(dir, c, '0.png'));
    }
    const secret = join(root, 'secret');
    mkdirSync(secret);
    await sharp(Buffer.alloc(16, 99), { raw: { width: 4, height: 4, channels: 1 } }).png().toFile(join(secret, 's.png'));
    const ok = await loadImageFolder(dir, { imageSize: [4, 4], channels: 1 });
    expect(ok.size).toBe(2);
    symlinkSync(join(secret, 's.png'), join(dir, 'a', 'linked.png'));
    await expect(loadImageFolder(dir, { imageSize: [4, 4], channels: 1 })).rejects.toThrow(/a\/linked\.png: leads \(through a symlink\) outside the image folder/);
  });
});
