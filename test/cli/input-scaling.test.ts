import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { useBackend } from '../helpers/backend.js';
import { loadMnist } from '../../src/data/mnist.js';
import { inputScaling, scaleInputs } from '../../src/data/transform.js';
import { INPUT_SCALING_KEY } from '../../src/data/scaling-metadata.js';
import { REAL_MODELS } from '../helpers/fixtures.js';

/*
 * Input scaling carried with the model through the CLI: train writes it into model.json, eval
 * reads it back when no flag is given (and says so), a flag overrides it; accuracies match
 * stock tfjs scoring the same files on data scaled by hand. Image folders fit the model input.
 */

const root = join(import.meta.dirname, '..', '..');
const FIXTURES = REAL_MODELS;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), '--quiet', ...args], { cwd: root, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Accuracy of stock tf.loadLayersModel (files read by hand) on MNIST test scaled by `range`. */
async function stockAccuracy(dir: string, range: string, n: number): Promise<number> {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const bin = readFileSync(join(dir, 'weights.bin'));
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) }),
  );
  const ds = scaleInputs(loadMnist({ split: 'test', limit: n }), inputScaling({ range }));
  const pred = tf.tidy(() => (model.predict(tf.tensor(ds.x, [ds.size, ...ds.xShape])) as tf.Tensor).argMax(-1).dataSync());
  model.dispose();
  let ok = 0;
  for (let i = 0; i < ds.size; i++) if (pred[i] === ds.labels![i]) ok++;
  return ok / ds.size;
}

const accuracyOf = (out: string) => Number(/accuracy (\d+\.\d+)%/.exec(out)![1]) / 100;

describe('input scaling travels with the model through the CLI', () => {
  const out = mkdtempSync(join(tmpdir(), 'cli-scaling-'));
  const model = join(out, 'mlp');
  beforeAll(async () => {
    await useBackend();
    const r = cli('train', '--arch', 'mlp', '--epochs', '1', '--limit', '3000', '--test-limit', '200', '--input-range', '-1..1', '--no-progress', '--out', model);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^input scaling -1\.\.1 \(from the command line\)$/m);
  }, 120_000);

  it('train stores the scaling in model.json', () => {
    const json = JSON.parse(readFileSync(join(model, 'model.json'), 'utf8'));
    expect(json.userDefinedMetadata[INPUT_SCALING_KEY]).toEqual({ scale: 1 / 127.5, offset: -1 });
    expect(JSON.parse(readFileSync(join(model, 'report.json'), 'utf8')).inputScaling).toEqual({ scale: 1 / 127.5, offset: -1 });
  });

  it('eval reads it back without a flag, and a flag overrides it; both match stock tfjs', async () => {
    const fromModel = cli('eval', model, '--limit', '500');
    expect(fromModel.code).toBe(0);
    expect(fromModel.out).toMatch(/^input scaling -1\.\.1 \(from the model's metadata\)$/m);
    expect(accuracyOf(fromModel.out)).toBeCloseTo(await stockAccuracy(model, '-1..1', 500), 4);
    expect(accuracyOf(fromModel.out)).toBeGreaterThan(0.7);
    const flag = cli('eval', model, '--limit', '500', '--input-range', '0..1');
    expect(flag.out).toMatch(/^input scaling 0\.\.1 \(from the command line\)$/m);
    expect(accuracyOf(flag.out)).toBeCloseTo(await stockAccuracy(model, '0..1', 500), 4);
    // --json keeps stdout pure JSON (the scaling line goes to stderr).
    const json = cli('eval', model, '--limit', '100', '--json');
    expect(JSON.parse(json.out).samples).toBe(100);
    expect(json.err).toMatch(/from the model's metadata/);
  }, 120_000);

  it('a malformed record fails in one line naming the key, the input untouched', () => {
    const bad = join(out, 'bad');
    cpSync(model, bad, { recursive: true });
    const path = join(bad, 'model.json');
    const json = JSON.parse(readFileSync(path, 'utf8'));
    json.userDefinedMetadata[INPUT_SCALING_KEY] = { scale: 'x', offset: 0 };
    writeFileSync(path, JSON.stringify(json));
    const text = readFileSync(path, 'utf8');
    const r = cli('eval', bad, '--limit', '10');
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/userDefinedMetadata 'tfjsCompress\.inputScaling(\.scale)?'/);
    expect(readFileSync(path, 'utf8')).toBe(text);
  });

  it('distill: the student inherits the teacher\'s scaling', () => {
    const student = join(out, 'student');
    const r = cli('distill', '--teacher', model, '--student', 'zoo:mlp', '--epochs', '1', '--limit', '512', '--test-limit', '100', '--no-progress', '--out', student);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/input scaling -1\.\.1 \(from the model's metadata\)/);
    const json = JSON.parse(readFileSync(join(student, 'model.json'), 'utf8'));
    expect(json.userDefinedMetadata[INPUT_SCALING_KEY]).toEqual({ scale: 1 / 127.5, offset: -1 });
  }, 120_000);

  it('eval and bench decode folder: images at the model input (64x64x1 graph model)', async () => {
    const dir = join(out, 'faces');
    for (let c = 0; c < 7; c++) {
      mkdirSync(join(dir, `c${c}`), { recursive: true });
      for (let j = 0; j < 2; j++) {
        const px = Buffer.alloc(50 * 40 * 3, 30 * c + 10 * j);
        await sharp(px, { raw: { width: 50, height: 40, channels: 3 } }).png().toFile(join(dir, `c${c}`, `${j}.png`));
      }
    }
    const emotion = join(FIXTURES, 'human-emotion-graph');
    const r = cli('eval', emotion, '--data', `folder:${dir}`, '--input-range', '-1..1', '--json');
    expect(r.err).not.toMatch(/expects/);
    expect(r.code).toBe(0);
    const score = JSON.parse(r.out);
    expect(score.samples).toBeGreaterThan(0);
    expect(score.accuracy).toBeGreaterThanOrEqual(0);
    const b = cli('bench', emotion, '--data', `folder:${dir}`, '--runtime', 'tfjs', '--batch', '1', '--repeats', '1', '--warmup', '0', '--no-progress');
    expect(b.code).toBe(0);
    expect(b.err).toMatch(/input scaling 0\.\.1 \(default; no flag and none in the model\)/);
    expect(b.out).not.toMatch(/not measured/);
  }, 120_000);
});
