import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureFiles, paramStats, paramStatsFromWeights } from '../../src/bench/size.js';
import { tfjsArtifactFiles } from '../../src/bench/source.js';
import { setBackend } from '../../src/backend/index.js';
import { saveLayersModel } from '../../src/model/io.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-size-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tinyModel(): tf.LayersModel {
  const input = tf.input({ shape: [4], name: 'in' });
  const h = tf.layers.dense({ units: 3, name: 'd1' }).apply(input) as tf.SymbolicTensor;
  const flat = tf.layers.activation({ activation: 'relu', name: 'act' }).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, useBias: false, name: 'd2' }).apply(flat) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

describe('size measurements', () => {
  beforeAll(async () => {
    await setBackend('cpu');
  });

  it('file sizes match fs.statSync and gzip sizes match node:zlib at level 9', async () => {
    const model = tinyModel();
    await saveLayersModel(model, join(dir, 'tiny'));
    model.dispose();
    const random = new Uint8Array(50_000).map((_, i) => (i * 2654435761) >>> 24); // poorly compressible
    writeFileSync(join(dir, 'random.bin'), random);
    writeFileSync(join(dir, 'zeros.bin'), new Uint8Array(100_000));
    const paths = [...tfjsArtifactFiles(join(dir, 'tiny')), join(dir, 'random.bin'), join(dir, 'zeros.bin')];
    expect(paths.map((p) => p.split('/').pop())).toEqual(['model.json', 'weights.bin', 'random.bin', 'zeros.bin']);
    const s = measureFiles(paths);
    let total = 0;
    let totalGz = 0;
    for (const f of s.files) {
      const data = readFileSync(f.path);
      expect(f.bytes).toBe(statSync(f.path).size);
      const ref = gzipSync(data, { level: 9 });
      // Same deflate algorithm; only the 10-byte header / 8-byte trailer could legitimately differ.
      expect(Math.abs(f.gzipBytes - ref.length)).toBeLessThanOrEqual(18);
      expect(gunzipSync(ref).equals(data)).toBe(true);
      total += f.bytes;
      totalGz += f.gzipBytes;
    }
    expect(s.totalBytes).toBe(total);
    expect(s.totalGzipBytes).toBe(totalGz);
    expect(s.files.find((f) => f.name === 'zeros.bin')!.gzipBytes).toBeLessThan(200);
  });

  it('names a missing file', () => {
    expect(() => measureFiles([join(dir, 'nope.bin')])).toThrow(/nope\.bin does not exist/);
  });

  it('counts parameters, non-zeros and sparsity per layer', () => {
    const model = tinyModel();
    // d1: kernel 4x3 (12) + bias 3; d2: kernel 3x2 (6), no bias. Set known zero counts.
    const k1 = new Float32Array(12).map((_, i) => (i % 3 === 0 ? 0 : i + 1)); // 4 zeros
    const b1 = new Float32Array([0, 0, 1]); // 2 zeros
    const k2 = new Float32Array([0, 0, 0, 0, 0, 5]); // 5 zeros
    model.getLayer('d1').setWeights([tf.tensor(k1, [4, 3]), tf.tensor(b1, [3])]);
    model.getLayer('d2').setWeights([tf.tensor(k2, [3, 2])]);
    const p = paramStats(model);
    expect(p.layers.map((l) => l.name)).toEqual(['d1', 'd2']);
    expect(p.layers[0]).toMatchObject({ className: 'Dense', params: 15, nonZero: 9, bytes: 60 });
    expect(p.layers[0]!.sparsity).toBeCloseTo(6 / 15, 12);
    expect(p.layers[1]).toMatchObject({ params: 6, nonZero: 1, bytes: 24 });
    expect(p).toMatchObject({ params: 21, nonZero: 10, bytes: 84 });
    expect(p.sparsity).toBeCloseTo(11 / 21, 12);
    model.dispose();
  });

  it('groups named weights by layer prefix', () => {
    const w = {
      'dense/kernel': tf.tensor([0, 1, 2, 0], [2, 2]),
      'dense/bias': tf.tensor([0, 3]),
      'conv/kernel': tf.tensor([1, 1, 1]),
      'shape/const': tf.tensor([1, 2], [2], 'int32'),
    };
    const p = paramStatsFromWeights(w);
    expect(p.layers.map((l) => [l.name, l.params, l.nonZero])).toEqual([
      ['dense', 6, 3],
      ['conv', 3, 3],
    ]);
    tf.dispose(Object.values(w));
  });
});
