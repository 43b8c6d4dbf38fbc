import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerQuantizeCommand } from '../../src/cli/commands/quantize.js';
import { DEFAULT_MAX_TENSOR_ERROR, quantizeModel } from '../../src/quantize/index.js';
import { useBackend } from '../helpers/backend.js';
import { runCommands } from '../helpers/cli.js';
import { REAL_MODELS } from '../helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'quantize-guard-'));
const TM = join(REAL_MODELS, 'tm-nail-biting-mobilenet');

/** A Dense kernel [32, 4] whose channels 1-2 are 500x smaller than one outlier in channel 0. */
function outlierModel(outlier: number): tf.LayersModel {
  const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [32], units: 4, name: 'fc', useBias: false })] });
  const v = new Float32Array(128);
  for (let i = 0; i < 128; i++) v[i] = Math.sin(i + 1) * (i % 4 === 0 ? 1 : 0.1);
  v[0] = outlier;
  const t = tf.tensor(v, [32, 4]);
  m.layers[0]!.weights[0]!.write(t);
  t.dispose();
  return m;
}

/** Worst per-channel ||w - q(w)|| / ||w|| of tensor-wide int8 (computed here, not by the SDK). */
function handInt8ChannelError(v: Float32Array, channels: number): number {
  const lo = Math.min(0, ...v);
  const hi = Math.max(0, ...v);
  const scale = Math.fround((hi - lo) / 255);
  const zp = Math.round(-128 - lo / scale);
  const err = new Array(channels).fill(0);
  const norm = new Array(channels).fill(0);
  v.forEach((x, i) => {
    const q = Math.max(-128, Math.min(127, Math.round(x / scale) + zp));
    err[i % channels] += (x - (q - zp) * scale) ** 2;
    norm[i % channels] += x * x;
  });
  return Math.max(...err.map((e, c) => Math.sqrt(e / norm[c])));
}

/** A layers model read from a folder with stock tfjs only (model.json + weights.bin, no SDK loader). */
async function stockLoad(folder: string): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8'));
  const paths: string[] = json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths);
  const data = Buffer.concat(paths.map((p) => readFileSync(join(folder, p))));
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g: { weights: tf.io.WeightsManifestEntry[] }) => g.weights),
      weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
    }),
  );
}

beforeAll(async () => {
  await useBackend();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('reconstruction guard', () => {
  it('a tensor whose small channels a tensor-wide scale wipes out falls back to int8 per channel, by name', async () => {
    const m = outlierModel(50);
    const v = m.weights[0]!.read().dataSync() as Float32Array;
    const expected = handInt8ChannelError(v, 4);
    expect(expected).toBeGreaterThan(DEFAULT_MAX_TENSOR_ERROR);
    const tensors = tf.memory().numTensors;
    for (const mode of ['int8', 'codebook']) {
      const r = await quantizeModel(m, { mode });
      const w = r.weights[0]!;
      expect([w.name, w.mode, r.quantized['fc/kernel']!.kind]).toEqual(['fc/kernel', 'int8-channel', 'affine']);
      expect(w.rejected[0]!.mode).toBe(mode);
      if (mode === 'int8') expect(w.rejected[0]!.error).toBeCloseTo(expected, 5);
      expect(w.channelError).toBeLessThan(0.02);
      r.model.dispose();
    }
    // With the guard off the request is honoured as is.
    const off = await quantizeModel(m, { mode: 'int8', maxTensorError: Infinity });
    expect([off.weights[0]!.mode, off.weights[0]!.rejected]).toEqual(['int8', []]);
    expect(off.weights[0]!.channelError).toBeCloseTo(expected, 5);
    off.model.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    await expect(quantizeModel(m, { mode: 'int8', maxTensorError: 0 })).rejects.toThrow(/^quantize: maxTensorError must be a number > 0/);
    expect(tf.memory().numTensors).toBe(tensors);
    m.dispose();
  });

  it('a value float16 cannot hold keeps the tensor float32: absent from the records, listed in kept, bit-exact in the model', async () => {
    const m = outlierModel(1e6);
    const r = await quantizeModel(m, { mode: 'float16' });
    expect(r.quantized['fc/kernel']).toBeUndefined();
    expect(r.weights).toHaveLength(0);
    expect(r.kept.map((k) => [k.name, k.mode, k.rejected[0]!.mode, k.rejected[0]!.error])).toEqual([['fc/kernel', 'float32', 'float16', Infinity]]);
    const a = m.weights[0]!.read().dataSync() as Float32Array;
    const b = r.model.weights[0]!.read().dataSync() as Float32Array;
    expect(new Uint32Array(b.buffer)).toEqual(new Uint32Array(a.buffer));
    r.model.dispose();
    m.dispose();
  });

  it('TM MobileNetV2 --mode codebook: names the tensors kept at higher precision, prints the seeded agreement, and its outputs follow stock tfjs', async () => {
    const register = (p: import('commander').Command) => registerQuantizeCommand(p);
    const guarded = join(dir, 'tm-codebook');
    const text = await runCommands(register, ['quantize', '--model', TM, '--mode', 'codebook', '--input-range', '-1..1', '--out', guarded]);
    const agree = /output agreement on 64 seeded inputs: argmax (\d+)\/64/.exec(text);
    expect(Number(agree?.[1])).toBeGreaterThanOrEqual(60);
    const line = text.split('\n').find((l) => l.startsWith('reconstruction check'))!;
    expect(line).toMatch(/tensors kept at higher precision than codebook: .*expanded_conv_depthwise\/depthwise_kernel -> int8-channel/);
    const unguarded = join(dir, 'tm-codebook-off');
    await runCommands(register, ['quantize', '--model', TM, '--mode', 'codebook', '--max-tensor-error', 'off', '--probe', '0', '--out', unguarded]);
    // Independent check: stock tfjs on the original files vs the written folders, 64 seeded images in TM's x/127 - 1.
    const original = await stockLoad(TM);
    const [g, u] = [await stockLoad(guarded), await stockLoad(unguarded)];
    const x = tf.tidy(() => tf.sub(tf.div(tf.floor(tf.randomUniform([64, 224, 224, 3], 0, 256, 'float32', 5)), 127), 1));
    const figures = (m: tf.LayersModel) =>
      tf.tidy(() => {
        const [ya, yb] = [original.predict(x) as tf.Tensor, m.predict(x) as tf.Tensor];
        const agreeCount = tf.sum(tf.cast(tf.equal(tf.argMax(ya, 1), tf.argMax(yb, 1)), 'int32')).dataSync()[0]!;
        return { agree: agreeCount, rel: tf.div(tf.norm(tf.sub(ya, yb)), tf.norm(ya)).dataSync()[0]! };
      });
    const fg = figures(g);
    const fu = figures(u);
    expect(fg.agree).toBeGreaterThanOrEqual(60);
    // The guard keeps the outputs closer than the unguarded codebook (measured 3.7e-3 vs 1.4e-2).
    expect(fg.rel).toBeLessThan(fu.rel);
    // The depthwise kernel kept at higher precision is within half a per-channel int8 step of the original.
    const name = 'expanded_conv_depthwise/depthwise_kernel';
    const w0 = original.weights.find((w) => w.originalName === name)!.read().dataSync();
    const w1 = g.weights.find((w) => w.originalName === name)!.read().dataSync();
    const c = 16;
    for (let ch = 0; ch < c; ch++) {
      let lo = 0;
      let hi = 0;
      for (let i = ch; i < w0.length; i += c) [lo, hi] = [Math.min(lo, w0[i]!), Math.max(hi, w0[i]!)];
      for (let i = ch; i < w0.length; i += c) expect(Math.abs(w0[i]! - w1[i]!)).toBeLessThanOrEqual((hi - lo) / 255 / 2 + 1e-6);
    }
    tf.dispose(x);
    [original, g, u].forEach((m) => m.dispose());
  }, 120_000);
});
