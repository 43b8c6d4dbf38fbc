import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/select.js';
import { buildZooModel } from '../../src/model/zoo.js';
import { quantizeModel } from '../../src/quantize/index.js';
import {
  HEADER_BYTES,
  assembleContainer,
  containerStats,
  fromContainer,
  packModel,
  readContainer,
  unpackModel,
  type ContainerManifest,
} from '../../src/serialize/index.js';
import { crc32 } from '../../src/serialize/crc32.js';
import { deflateBytes } from '../../src/serialize/deflate.js';

function words(model: tf.LayersModel): Map<string, Uint32Array> {
  return new Map(model.weights.map((w) => [w.originalName, new Uint32Array((w.read().dataSync() as Float32Array).slice().buffer)]));
}

function expectSameWeights(a: tf.LayersModel, b: tf.LayersModel): void {
  const wa = words(a);
  const wb = words(b);
  expect([...wb.keys()]).toEqual([...wa.keys()]);
  for (const [name, v] of wa) expect(wb.get(name), name).toEqual(v);
}

/** Split a container into its manifest and payload section so tests can craft variants. */
function dissect(bytes: Uint8Array): { manifest: ContainerManifest; payload: Uint8Array } {
  const c = readContainer(bytes);
  return { manifest: structuredClone(c.manifest), payload: c.payload.slice() };
}

let model: tf.LayersModel;
let bytes: Uint8Array;

beforeAll(async () => {
  await setBackend('cpu');
  // Conv, pooling, dense and BatchNorm (moving statistics are weights too).
  const input = tf.input({ shape: [12, 12, 1] });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', name: 'conv', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn', movingVarianceInitializer: tf.initializers.constant({ value: 1.7 }) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten({ name: 'flat' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 10, name: 'head', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }), biasInitializer: tf.initializers.randomNormal({ seed: 3 }) }).apply(x) as tf.SymbolicTensor;
  model = tf.model({ inputs: input, outputs: x });
  bytes = await packModel(model);
});

describe('model round trip', () => {
  it('unpackModel and tf.loadLayersModel(fromContainer(...)) give bit-identical weights and outputs', async () => {
    const tensors = tf.memory().numTensors;
    const a = await unpackModel(bytes);
    const b = await tf.loadLayersModel(fromContainer(bytes.slice().buffer));
    expectSameWeights(model, a);
    expectSameWeights(model, b);
    const input = tf.randomUniform([3, 12, 12, 1], 0, 1, 'float32', 5);
    const [p0, p1] = [model.predict(input) as tf.Tensor, a.predict(input) as tf.Tensor];
    expect(p1.dataSync()).toEqual(p0.dataSync());
    tf.dispose([input, p0, p1]);
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('keeps the model topology (layer names, classes, config)', async () => {
    const a = await unpackModel(bytes);
    expect(a.layers.map((l) => `${l.getClassName()}:${l.name}`)).toEqual(model.layers.map((l) => `${l.getClassName()}:${l.name}`));
    expect(JSON.stringify(a.toJSON(null, false))).toBe(JSON.stringify(model.toJSON(null, false)));
    a.dispose();
  });

  it('stats add up to the file size', () => {
    const s = containerStats(bytes);
    expect(s.overheadBytes + s.tensors.reduce((a, t) => a + t.storedBytes, 0)).toBe(s.fileBytes);
    expect(s.denseWeightBytes).toBe(model.countParams() * 4);
  });

  for (const mode of ['float16', 'int8', 'uint8-channel', 'codebook']) {
    it(`${mode}: the quantized container decodes to exactly the deployment model and is smaller`, async () => {
      const r = await quantizeModel(model, { mode, bits: 4, kernelsOnly: false });
      const packed = await packModel(r.model, { quantized: r.quantized });
      const back = await unpackModel(packed);
      expectSameWeights(r.model, back);
      expect(packed.length).toBeLessThan(bytes.length * (mode === 'float16' ? 0.65 : 0.45));
      // The big kernel is stored in a quantized form, not as float32.
      const head = readContainer(packed).manifest.tensors.find((t) => t.name === 'head/kernel')!;
      expect(head.values.kind).toBe(mode === 'float16' ? 'f16' : mode === 'uint8-channel' ? 'affine' : head.values.kind === 'affine' ? 'affine' : 'codebook');
      back.dispose();
      r.model.dispose();
    });
  }
});

describe('corrupted and hostile files', () => {
  it('a flipped bit in a tensor payload is a checksum error naming that tensor', async () => {
    const { manifest } = dissect(bytes);
    const head = manifest.tensors.find((t) => t.name === 'head/kernel')!;
    const start = bytes.length - readContainer(bytes).payload.length;
    const bad = bytes.slice();
    bad[start + head.offset + Math.floor(head.length / 2)]! ^= 0x10;
    await expect(unpackModel(bad)).rejects.toThrow(/checksum mismatch in tensor 'head\/kernel'/);
  });

  it('a truncated file names the first incomplete tensor', async () => {
    const { manifest } = dissect(bytes);
    const last = manifest.tensors[manifest.tensors.length - 1]!;
    await expect(unpackModel(bytes.slice(0, bytes.length - 3))).rejects.toThrow(new RegExp(`container truncated: tensor '${last.name.replace('/', '\\/')}'`));
    expect(() => readContainer(bytes.slice(0, HEADER_BYTES + 5))).toThrow(/container truncated: the manifest/);
    expect(() => readContainer(bytes.slice(0, 10))).toThrow(/shorter than the 28-byte header/);
  });

  it('manifest damage, bad magic, unknown version and unknown encodings give clear errors', () => {
    const bad = bytes.slice();
    bad[HEADER_BYTES + 3]! ^= 1;
    expect(() => readContainer(bad)).toThrow(/manifest checksum mismatch/);
    const magic = bytes.slice();
    magic[1] = 0x58;
    expect(() => readContainer(magic)).toThrow(/bad magic/);
    const v2 = bytes.slice();
    v2[8] = 2;
    expect(() => readContainer(v2)).toThrow(/unsupported container version 2 \(this reader supports version 1\)/);
    const { manifest, payload } = dissect(bytes);
    manifest.tensors[1]!.values = { ...manifest.tensors[1]!.values, kind: 'zstd' };
    expect(() => readContainer(assembleContainer(manifest, payload))).toThrow(new RegExp(`tensor '${manifest.tensors[1]!.name}': unknown value encoding 'zstd'`));
    const m2 = dissect(bytes).manifest;
    m2.tensors[0]!.layout = 'rle';
    expect(() => readContainer(assembleContainer(m2, payload))).toThrow(/unknown layout 'rle'/);
    expect(() => readContainer(Uint8Array.from([...bytes, 0]))).toThrow(/1 unexpected trailing bytes/);
  });

  it('declared sizes over the limit are refused before anything is allocated', () => {
    const { manifest, payload } = dissect(bytes);
    const t = manifest.tensors[0]!;
    // 2^30 float32 elements = 4 GiB: must be refused from the manifest alone.
    t.shape = [32768, 32768];
    t.nnz = 0;
    t.layout = 'delta';
    t.values = { kind: 'f32', shuffle: false };
    t.posBytes = 0;
    t.rawLength = 0;
    t.compression = 'deflate';
    const crafted = assembleContainer(manifest, payload);
    const heapBefore = process.memoryUsage().arrayBuffers;
    expect(() => readContainer(crafted)).toThrow(/declares \d+ decoded bytes, over the limit of 1073741824/);
    expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(64 * 1024 * 1024);
    // A small limit applies to ordinary files too.
    expect(() => readContainer(bytes, { maxDecodedBytes: 100 })).toThrow(/over the limit of 100/);
  });

  it('a deflate bomb cannot inflate past the declared size', async () => {
    const { manifest, payload } = dissect(bytes);
    const t = manifest.tensors.find((e) => e.compression === 'deflate')!;
    const bomb = deflateBytes(new Uint8Array(8 * 1024 * 1024), 1); // 8 MiB of zeros in ~8 KiB
    const before = payload.subarray(0, t.offset);
    const after = payload.subarray(t.offset + t.length);
    const shift = bomb.length - t.length;
    for (const e of manifest.tensors) if (e.offset > t.offset) e.offset += shift;
    t.length = bomb.length;
    t.crc32 = crc32(bomb);
    const crafted = assembleContainer(manifest, Uint8Array.from([...before, ...bomb, ...after]));
    await expect(unpackModel(crafted)).rejects.toThrow(new RegExp(`tensor '${t.name.replace('/', '\\/')}': compressed data inflates to more than the declared ${t.rawLength} bytes`));
  });
});

describe('format documentation', () => {
  it('docs/container-format.md reproduces the manifest dictionary exactly', async () => {
    const { readFileSync } = await import('node:fs');
    const { MANIFEST_DICTIONARY_LINES } = await import('../../src/serialize/dictionary.js');
    const doc = readFileSync(new URL('../../docs/container-format.md', import.meta.url), 'utf8');
    const block = doc.split('## Appendix A')[1]!.split('```text\n')[1]!.split('\n```')[0]!;
    expect(block.split('\n')).toEqual([...MANIFEST_DICTIONARY_LINES]);
  });
});
