import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '../helpers/backend.js';
import { TensorDataset } from '../../src/data/dataset.js';
import { inputScaling, scaleInputs, formatInputScaling, DEFAULT_INPUT_SCALING } from '../../src/data/transform.js';
import {
  chooseInputScaling,
  INPUT_SCALING_KEY,
  inputScalingFromMetadata,
  inputScalingSpecSchema,
  setModelInputScaling,
  withInputScaling,
} from '../../src/data/scaling-metadata.js';
import { inputScalingFlags, inputScalingOf } from '../../src/cli/data-arg.js';
import { saveLayersModel } from '../../src/model/io.js';
import { modelDataFacts, storedInputScaling } from '../../src/model/describe.js';
import { loadModel } from '../../src/model/load.js';
import { packArtifacts } from '../../src/serialize/index.js';
import { REAL_MODELS } from '../helpers/fixtures.js';

/** Two RGB pixels, raw values given, stored as the datasets store them (raw / 255). */
function rgb(raw: number[]): TensorDataset {
  return new TensorDataset(Float32Array.from(raw, (v) => v / 255), [1, raw.length / 3, 3], new Float32Array([1]), [1]);
}

function tinyModel(): tf.LayersModel {
  const m = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
  return m;
}

describe('per-channel input scaling and the imagenet preset', () => {
  beforeAll(() => useBackend());

  it('imagenet and mean/std give the hand-computed (raw - mean) / std per channel', () => {
    const raw = [0, 128, 255, 200, 10, 90];
    const ds = rgb(raw);
    const mean = [123.675, 116.28, 103.53];
    const std = [58.395, 57.12, 57.375];
    const out = scaleInputs(ds, inputScaling({ range: 'imagenet' })).x;
    raw.forEach((v, i) => expect(out[i]).toBeCloseTo((v - mean[i % 3]!) / std[i % 3]!, 5));
    const custom = scaleInputs(ds, inputScaling({ mean: [100, 0, 50], std: [2, 1, 4] })).x;
    raw.forEach((v, i) => expect(custom[i]).toBeCloseTo((v - [100, 0, 50][i % 3]!) / [2, 1, 4][i % 3]!, 4));
    // One mean/std applies to every channel; the input is never modified.
    const before = ds.x.slice();
    const one = scaleInputs(ds, inputScaling({ mean: [127.5], std: [127.5] })).x;
    raw.forEach((v, i) => expect(one[i]).toBeCloseTo(v / 127.5 - 1, 5));
    expect(ds.x).toEqual(before);
  });

  it('bad per-channel settings name the field and the fix', () => {
    expect(() => inputScaling({ mean: [1, 2], std: [1] })).toThrow('input std has 1 values but input mean has 2; give one per channel');
    expect(() => inputScaling({ mean: [1] })).toThrow('input mean and input std must be given together');
    expect(() => inputScaling({ mean: [1], std: [0] })).toThrow('input std must be numbers > 0, got [0]');
    expect(() => inputScaling({ mean: [1], std: [1], scale: 2 })).toThrow(/cannot be combined with an input scale or offset/);
    expect(() => inputScaling({ range: 'imagenet', mean: [1], std: [1] })).toThrow(/cannot be combined/);
    const gray = new TensorDataset(new Float32Array(4), [2, 2, 1], new Float32Array([1]), [1]);
    expect(() => scaleInputs(gray, inputScaling({ range: 'imagenet' }))).toThrow(
      'input scaling has 3 channel means but the inputs [2, 2, 1] have 1 channels (last axis)',
    );
    expect(() => inputScalingFlags({ inputMean: [1, 2], inputStd: [1] })).toThrow(/^--input-mean --input-std: input std has 1 values/);
  });

  it('flags: none given is undefined (so the model metadata can decide), the default is 0..1', () => {
    expect(inputScalingFlags({})).toBeUndefined();
    expect(inputScalingOf({})).toEqual(DEFAULT_INPUT_SCALING);
    expect(inputScalingFlags({ inputMean: [1, 2, 3], inputStd: [4, 5, 6] })).toEqual({ mean: [1, 2, 3], std: [4, 5, 6] });
    expect(formatInputScaling(inputScaling({ range: 'imagenet' }))).toBe('imagenet');
    expect(formatInputScaling({ scale: 1 / 128, offset: -127.5 / 128 })).toBe('x * 0.0078125 + -0.996094');
  });

  it('precedence is flag > model metadata > default, and says which was used', () => {
    const model = inputScaling({ range: '-1..1' });
    const flag = inputScaling({ range: '0..255' });
    expect(chooseInputScaling({ given: flag, model })).toMatchObject({ scaling: flag, source: 'flag' });
    expect(chooseInputScaling({ model })).toMatchObject({ scaling: model, source: 'model', text: "input scaling -1..1 (from the model's metadata)" });
    expect(chooseInputScaling({})).toMatchObject({ scaling: DEFAULT_INPUT_SCALING, source: 'default' });
    expect(chooseInputScaling({ given: flag, givenBy: 'recipe' }).text).toBe('input scaling 0..255 (from the recipe)');
  });
});

describe('input scaling carried in userDefinedMetadata', () => {
  beforeAll(() => useBackend());

  it('round-trips through model.json: saved by us, read back by stock tf.loadLayersModel', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scaling-meta-'));
    const m = tinyModel();
    m.setUserDefinedMetadata({ other: { kept: true } });
    setModelInputScaling(m, inputScaling({ range: 'imagenet' }));
    await saveLayersModel(m, dir);
    m.dispose();
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(json.userDefinedMetadata[INPUT_SCALING_KEY]).toEqual({ mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] });
    expect(json.userDefinedMetadata.other).toEqual({ kept: true });
    // Stock tfjs, from memory: no code of ours on the load path.
    const bin = readFileSync(join(dir, 'weights.bin'));
    const stock = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest[0].weights,
        weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
        userDefinedMetadata: json.userDefinedMetadata,
      }),
    );
    expect(inputScalingFromMetadata(stock)).toEqual(inputScaling({ range: 'imagenet' }));
    stock.dispose();
    expect(storedInputScaling(dir)).toEqual(inputScaling({ range: 'imagenet' }));
  });

  it('a container keeps it too, and artifacts without it give undefined', async () => {
    const m = tinyModel();
    setModelInputScaling(m, { scale: 1 / 127, offset: -1 });
    let artifacts!: tf.io.ModelArtifacts;
    await m.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    m.dispose();
    const file = join(mkdtempSync(join(tmpdir(), 'scaling-c-')), 'm.tfjsc');
    writeFileSync(file, packArtifacts(artifacts));
    expect(storedInputScaling(file)).toEqual({ scale: 1 / 127, offset: -1 });
    expect(inputScalingFromMetadata({ userDefinedMetadata: undefined })).toBeUndefined();
    expect(inputScalingFromMetadata(undefined)).toBeUndefined();
  });

  it('a malformed record is one line naming the key and what was expected', () => {
    const bad = { userDefinedMetadata: { [INPUT_SCALING_KEY]: { mean: [1, 2], std: [1, -3] } } };
    expect(() => inputScalingFromMetadata(bad, 'm/model.json')).toThrow(
      /^m\/model\.json: userDefinedMetadata 'tfjsCompress\.inputScaling\.std\.1': expected a number > 0/,
    );
    const odd = { userDefinedMetadata: { [INPUT_SCALING_KEY]: 'fast' } };
    expect(() => inputScalingFromMetadata(odd)).toThrow(/expected \{ scale, offset \} or \{ mean/);
    expect(() => withInputScaling({}, { scale: 0, offset: 0 })).toThrow();
    expect(withInputScaling({ a: 1 }, { scale: 2, offset: 0 })).toEqual({ a: 1, [INPUT_SCALING_KEY]: { scale: 2, offset: 0 } });
  });

  it('the recipe spec takes a preset name or a record, and names the presets when wrong', () => {
    expect(inputScalingSpecSchema.parse('-1..1')).toEqual({ scale: 1 / 127.5, offset: -1 });
    expect(inputScalingSpecSchema.parse({ mean: [1], std: [2] })).toEqual({ mean: [1], std: [2] });
    const r = inputScalingSpecSchema.safeParse('0..2');
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toMatch(/0\.\.1, 0\.\.255, -1\.\.1, imagenet/);
  });

  it('graph models: read from artifacts.userDefinedMetadata (GraphModel.metadata), with the input shape', async () => {
    const src = `${REAL_MODELS}/keras3-export-mnist-graph`;
    const dir = mkdtempSync(join(tmpdir(), 'scaling-graph-'));
    cpSync(src, dir, { recursive: true });
    const path = join(dir, 'model.json');
    const json = JSON.parse(readFileSync(path, 'utf8'));
    json.userDefinedMetadata = withInputScaling(json.userDefinedMetadata, inputScaling({ range: '0..255' }));
    writeFileSync(path, JSON.stringify(json));
    expect(storedInputScaling(dir)).toEqual({ scale: 1, offset: 0 });
    const m = await loadModel(dir, { command: 'test', accept: ['graph'] });
    const facts = modelDataFacts(m);
    expect(facts.inputScaling).toEqual({ scale: 1, offset: 0 });
    expect(facts.inputShape?.filter((d) => d !== 1)).toEqual([28, 28]);
    if (m.kind !== 'onnx') m.model.dispose();
  });
});
