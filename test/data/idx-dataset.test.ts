import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIdx, readIdx } from '../../src/data/idx.js';
import { loadIdxDataset, loadMnist, mnistDataDir } from '../../src/data/mnist.js';
import { TensorDataset, oneHot, permutation } from '../../src/data/dataset.js';
import { useBackend } from '../helpers/backend.js';

function idxBytes(type: number, shape: number[], body: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * shape.length);
  head[2] = type;
  head[3] = shape.length;
  const dv = new DataView(head.buffer);
  shape.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

describe('IDX parsing', () => {
  it('reads uint8 and big-endian int32/float32 payloads', () => {
    const u8 = parseIdx(idxBytes(0x08, [2, 3], Uint8Array.from([1, 2, 3, 4, 5, 255])));
    expect(u8.shape).toEqual([2, 3]);
    expect(Array.from(u8.data)).toEqual([1, 2, 3, 4, 5, 255]);
    const body = new Uint8Array(8);
    new DataView(body.buffer).setInt32(0, -7, false);
    new DataView(body.buffer).setInt32(4, 123456, false);
    expect(Array.from(parseIdx(idxBytes(0x0c, [2], body)).data)).toEqual([-7, 123456]);
    const fbody = new Uint8Array(4);
    new DataView(fbody.buffer).setFloat32(0, 1.5, false);
    expect(Array.from(parseIdx(idxBytes(0x0d, [1], fbody)).data)).toEqual([1.5]);
  });

  it('a corrupted int32 label names the label file and allocates nothing for it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idx-'));
    const images = join(dir, 'images-idx3');
    const labels = join(dir, 'labels-idx1');
    writeFileSync(images, idxBytes(0x08, [3, 2, 2], new Uint8Array(12)));
    const body = new Uint8Array(12);
    [1, 60_000_000, 2].forEach((v, i) => new DataView(body.buffer).setInt32(4 * i, v, false));
    writeFileSync(labels, idxBytes(0x0c, [3], body));
    const rssBefore = process.memoryUsage().rss;
    expect(() => loadIdxDataset(images, labels)).toThrow(`${labels}: label 60000000 at sample 1 implies 60000001 classes`);
    expect(() => loadIdxDataset(images, labels, { numClasses: 10 })).toThrow(`${labels}: label 60000000 at sample 1 is outside 0..9`);
    // 3 x 60,000,001 one-hot floats would be 720 MB.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 2 ** 20);
  });

  it('names the file and the size mismatch for truncated data', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idx-'));
    const p = join(dir, 'bad-idx');
    writeFileSync(p, idxBytes(0x08, [10, 28, 28], new Uint8Array(100)));
    expect(() => readIdx(p)).toThrow(/bad-idx: IDX header declares shape \[10,28,28\]/);
    expect(() => parseIdx(Uint8Array.from([1, 2, 3, 4]), 'x.idx')).toThrow(/x.idx: not an IDX file/);
    expect(() => readIdx(join(dir, 'missing'))).toThrow(/cannot read IDX file .*missing/);
  });

  it('loads the real MNIST files with the published sizes and first labels', () => {
    const labels = readIdx(join(mnistDataDir(), 't10k-labels-idx1-ubyte'));
    expect(labels.shape).toEqual([10000]);
    // The first test labels of MNIST are well known: 7 2 1 0 4 1 4 9 5 9.
    expect(Array.from(labels.data.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    const train = readIdx(join(mnistDataDir(), 'train-images-idx3-ubyte'));
    expect(train.shape).toEqual([60000, 28, 28]);
    const test = loadMnist({ split: 'test', limit: 50 });
    expect(test.size).toBe(50);
    expect(test.xShape).toEqual([28, 28, 1]);
    let max = 0;
    for (const v of test.x) max = Math.max(max, v);
    expect(max).toBeCloseTo(1, 5);
    expect(Array.from(test.y.subarray(0, 10))).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
  });
});

describe('TensorDataset', () => {
  const n = 10;
  const x = Float32Array.from({ length: n * 2 }, (_, i) => i);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  const ds = new TensorDataset(x, [2], oneHot(labels, 3), [3], labels);

  it('shuffles repeatably per seed and epoch, covering every sample once', async () => {
    await useBackend();
    const order = (seed: number, epoch: number) => {
      const seen: number[] = [];
      for (const b of ds.batches({ batchSize: 3, shuffle: true, seed, epoch })) {
        seen.push(...b.indices);
        expect(b.xs.shape[0]).toBe(b.indices.length);
        // each row of xs is the sample its index names
        const rows = b.xs.arraySync() as number[][];
        rows.forEach((r, i) => expect(r).toEqual([b.indices[i]! * 2, b.indices[i]! * 2 + 1]));
        tf.dispose([b.xs, b.ys]);
      }
      return seen;
    };
    const a = order(1, 0);
    expect(order(1, 0)).toEqual(a);
    expect(order(1, 1)).not.toEqual(a);
    expect([...a].sort((p, q) => p - q)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('splits, takes and selects consistently', () => {
    const [tr, va] = ds.split(0.3, 7);
    expect(tr.size + va.size).toBe(n);
    expect(va.size).toBe(3);
    expect(ds.take(4).size).toBe(4);
    const s = ds.select([9, 0]);
    expect(Array.from(s.x)).toEqual([18, 19, 0, 1]);
    expect(Array.from(s.labels!)).toEqual([0, 0]);
    expect(permutation(5, 3)).toEqual(permutation(5, 3));
  });

  it('rejects inconsistent shapes and bad labels with clear messages', () => {
    expect(() => new TensorDataset(new Float32Array(5), [2], new Float32Array(3), [1])).toThrow(/do not split into samples/);
    expect(() => oneHot([0, 5], 3)).toThrow(/label 5 at sample 1 is outside 0..2/);
    expect(() => ds.split(1.5)).toThrow(/fraction must be in/);
  });

  it('works as a tf.data dataset', async () => {
    await useBackend();
    const it = await ds.toTfData({ batchSize: 4 }).iterator();
    const first = await it.next();
    expect((first.value as { xs: tf.Tensor }).xs.shape).toEqual([4, 2]);
    tf.dispose(first.value as tf.TensorContainer);
  });
});
