import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadMnist } from '../../src/data/mnist.js';
import { train, loadCheckpoint, makeOptimizer } from '../../src/train/index.js';
import type { TrainArgs, TrainCallback } from '../../src/train/index.js';
import { PruningCallback, PolynomialDecay } from '../../src/prune/index.js';
import { setWriteFaultHook, type WriteBoundary } from '../../src/util/atomic.js';
import { useBackend } from '../helpers/backend.js';

const data = loadMnist({ split: 'train', limit: 256 });
const EPOCHS = 3;
const STEPS = EPOCHS * data.batchCount(32);
const tmp = mkdtempSync(join(tmpdir(), 'atomic-ckpt-'));

function tinyMlp(seed: number): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed * 10 + k });
  const m = tf.sequential({ name: 'tiny' });
  m.add(tf.layers.flatten({ inputShape: [28, 28, 1] }));
  m.add(tf.layers.dense({ units: 32, activation: 'relu', kernelInitializer: init(1), name: 'hidden' }));
  m.add(tf.layers.dense({ units: 10, kernelInitializer: init(2), name: 'logits' }));
  return m;
}

/** Masks that keep changing until the last step, so a mask from the wrong epoch would show. */
const pruning = (m: tf.LayersModel) =>
  new PruningCallback(m, {
    configList: [{ opTypes: ['Dense'], sparsity: 0.7 }],
    schedule: (s) => new PolynomialDecay({ initialSparsity: 0.1, finalSparsity: s, beginStep: 0, endStep: STEPS - 1, frequency: 3 }),
  });

const args: TrainArgs = { epochs: EPOCHS, batchSize: 32, seed: 3 };
const bytesOf = (ts: tf.Tensor[]) => Buffer.concat(ts.map((t) => Buffer.from((t.dataSync() as Float32Array).slice().buffer)));

/** The process "dies" at boundary number `at` of the run's checkpoint writes (the writer does no cleanup for it). */
class Killed extends Error {}
function killAt(at: number): WriteBoundary[] {
  const seen: WriteBoundary[] = [];
  setWriteFaultHook((b) => {
    seen.push(b);
    if (seen.length - 1 === at) throw new Killed(`killed at ${b.kind} ${b.path}`);
  });
  return seen;
}

describe('a checkpoint is written as one unit: killed at every file boundary, the next run resumes a consistent epoch', () => {
  // Reference: weights and masks after each epoch of an uninterrupted run, and its final weights.
  const perEpoch: Buffer[] = [];
  const masksPerEpoch: Buffer[] = [];
  let finalWeights: Buffer;
  let boundaries: WriteBoundary[] = [];

  beforeAll(async () => {
    await useBackend();
    const model = tinyMlp(1);
    const cb = pruning(model);
    const record: TrainCallback = {
      onEpochEnd: () => {
        perEpoch.push(bytesOf(model.weights.map((w) => w.read())));
        masksPerEpoch.push(bytesOf(Object.values(cb.masks).flatMap((ws) => Object.values(ws))));
      },
    };
    boundaries = killAt(-1); // count only
    await train(model, data, { ...args, checkpointDir: join(tmp, 'reference'), callbacks: [cb, record] });
    setWriteFaultHook(undefined);
    finalWeights = bytesOf(model.weights.map((w) => w.read()));
    cb.dispose();
    model.dispose();
  });
  afterEach(() => setWriteFaultHook(undefined));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('has the expected boundaries: per save, each file of the new generation, its folder rename, the pointer, then removal of the old generation', () => {
    const norm = (b: WriteBoundary) => `${b.kind} ${relative(join(tmp, 'reference'), b.path).replace(/[0-9a-f]{8}/, 'X')}`;
    const save = (g: number) => [
      `file .gen-${g}.tmp-X/weights.bin`, `rename .gen-${g}.tmp-X/weights.bin`,
      `file .gen-${g}.tmp-X/optimizer.bin`, `rename .gen-${g}.tmp-X/optimizer.bin`,
      `file .gen-${g}.tmp-X/callbacks.bin`, `rename .gen-${g}.tmp-X/callbacks.bin`,
      `ready gen-${g}`, `swap-in gen-${g}`,
      'file checkpoint.json', 'rename checkpoint.json',
      ...(g > 1 ? [`cleanup gen-${g - 1}`] : []),
    ];
    expect(boundaries.map(norm)).toEqual([...save(1), ...save(2), ...save(3)]);
  });

  it('every kill point: the checkpoint left is the previous complete epoch or the new one (weights and masks), and resuming ends bit-identical', async () => {
    // Which save (= epoch being saved) each boundary belongs to.
    let saves = 0;
    const saveOf = boundaries.map((b) => (b.kind === 'file' && b.path.endsWith('weights.bin') ? ++saves : saves));
    const resumedEpochs = new Set<string>();
    for (let at = 0; at < boundaries.length; at++) {
      const dir = join(tmp, `kill-${at}`);
      const model = tinyMlp(1);
      const cb = pruning(model);
      killAt(at);
      await expect(train(model, data, { ...args, checkpointDir: dir, callbacks: [cb] }), `kill ${at}`).rejects.toBeInstanceOf(Killed);
      setWriteFaultHook(undefined);
      cb.dispose();
      model.dispose();

      // What a fresh process finds: a whole epoch, either the one before the save or the one being saved.
      const saving = saveOf[at]!;
      const probe = tinyMlp(77);
      const opt = makeOptimizer('adam', 1e-3);
      const fingerprint = existsSync(join(dir, 'checkpoint.json')) ? JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')).fingerprint : '';
      const restored = await loadCheckpoint(dir, probe, opt, fingerprint);
      const epoch = restored?.state.epoch ?? 0;
      expect([saving - 1, saving], `kill ${at} (${boundaries[at]!.kind}) left epoch ${epoch}`).toContain(epoch);
      resumedEpochs.add(`${boundaries[at]!.kind}:${epoch === saving ? 'new' : 'old'}`);
      if (restored) {
        expect(bytesOf(probe.weights.map((w) => w.read())).equals(perEpoch[epoch - 1]!), `kill ${at}: weights of epoch ${epoch}`).toBe(true);
        const masks = Object.values(restored.callbacks)[0]!.tensors!;
        expect(bytesOf(Object.values(masks)).equals(masksPerEpoch[epoch - 1]!), `kill ${at}: masks of epoch ${epoch}`).toBe(true);
        for (const s of Object.values(restored.callbacks)) tf.dispose(Object.values(s.tensors ?? {}));
      }
      opt.dispose();
      probe.dispose();

      // The next run resumes from there and ends exactly where the uninterrupted run ended, leaving no debris.
      const again = tinyMlp(1); // a re-run of the same job: same initial weights, which the checkpoint (if any) overwrites
      const cb2 = pruning(again);
      const r = await train(again, data, { ...args, checkpointDir: dir, callbacks: [cb2] });
      cb2.dispose();
      expect(r.resumedFromEpoch).toBe(epoch);
      expect(bytesOf(again.weights.map((w) => w.read())).equals(finalWeights), `kill ${at}: final weights`).toBe(true);
      again.dispose();
      expect(readdirSync(dir).sort(), `kill ${at}: leftovers`).toEqual(['checkpoint.json', `gen-${readGeneration(dir)}`]);
      rmSync(dir, { recursive: true, force: true });
    }
    // Kills up to the pointer's rename keep the previous epoch; after it (removing the old generation), the new one.
    expect([...resumedEpochs].sort()).toEqual(['cleanup:new', 'file:old', 'ready:old', 'rename:old', 'swap-in:old']);
  });

  it('a damaged generation file is refused by name instead of resumed', async () => {
    const dir = join(tmp, 'damaged');
    const model = tinyMlp(1);
    await train(model, data, { ...args, epochs: 1, checkpointDir: dir });
    const state = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'));
    const f = join(dir, state.files.optimizer.path);
    const b = readFileSync(f);
    b[b.length - 1] ^= 1;
    (await import('node:fs')).writeFileSync(f, b);
    const other = tinyMlp(1);
    const tensors = tf.memory().numTensors;
    await expect(train(other, data, { ...args, checkpointDir: dir })).rejects.toThrow(/checkpoint\.json: gen-1\/optimizer\.bin does not match its recorded size\/sha256 \(damaged\); delete .* to start afresh/);
    expect(tf.memory().numTensors).toBe(tensors);
    model.dispose();
    other.dispose();
  });
});

function readGeneration(dir: string): number {
  return JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')).generation;
}
