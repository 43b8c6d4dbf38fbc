import * as tf from '@tensorflow/tfjs';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/model/load.js';
import { loadLayersModelFromFiles } from '../../src/model/io.js';
import { useBackend } from '../helpers/backend.js';
import { REAL_MODELS } from '../helpers/fixtures.js';
import { SHARDS, writeLayersOriginal } from '../fuzz/harness/layers.js';

/*
 * A failed load leaves no tensor allocated. Stock tfjs builds the model and decodes the weights
 * before it finds they do not match, and throws without freeing either (shown first, so the
 * test can fail); the SDK's loader frees both.
 */

describe('failed loads free what they allocated', () => {
  const root = mkdtempSync(join(tmpdir(), 'leaks-'));
  const bad = join(root, 'renamed');
  beforeAll(async () => {
    await useBackend('cpu');
    mkdirSync(bad);
    (await writeLayersOriginal(bad)).dispose();
    // A weight whose name matches no layer: found only after the model and weights exist.
    const json = JSON.parse(readFileSync(join(bad, 'model.json'), 'utf8'));
    json.weightsManifest[0].weights[1].name = 'nowhere/bias';
    writeFileSync(join(bad, 'model.json'), JSON.stringify(json));
  });

  it('layers model: stock tfjs leaks on the failure, the loader does not (20 failures, count flat)', async () => {
    const json = JSON.parse(readFileSync(join(bad, 'model.json'), 'utf8'));
    const data = Buffer.concat(SHARDS.map((s) => readFileSync(join(bad, s))));
    const artifacts = { modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: new Uint8Array(data).buffer };
    const s0 = tf.memory().numTensors;
    await expect(tf.loadLayersModel({ load: async () => artifacts })).rejects.toThrow(/nowhere\/bias/);
    const stockLeak = tf.memory().numTensors - s0;
    expect(stockLeak).toBeGreaterThan(0);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      await expect(loadModel(bad, { command: 'test', accept: ['layers'] })).rejects.toThrow(/renamed: .*nowhere\/bias/);
      await expect(loadLayersModelFromFiles(bad)).rejects.toThrow(/nowhere\/bias/);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('graph model: a graph refused after tfjs built it (an op it cannot run) is freed', async () => {
    const dir = join(root, 'graph');
    mkdirSync(dir);
    const src = join(REAL_MODELS, 'keras3-export-mnist-graph');
    copyFileSync(join(src, 'group1-shard1of1.bin'), join(dir, 'group1-shard1of1.bin'));
    const json = JSON.parse(readFileSync(join(src, 'model.json'), 'utf8'));
    const pool = json.modelTopology.node.find((n: { op: string }) => n.op === 'MaxPool');
    pool.op = 'MaxPoolNotAnOp';
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      await expect(loadModel(dir, { command: 'test', accept: ['graph'] })).rejects.toThrow(/model\.json: node '.*' uses op 'MaxPoolNotAnOp', which tfjs cannot run/);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
