import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { benchModels } from '../../src/bench/bench.js';
import { openBenchModel } from '../../src/bench/source.js';
import { loadMnist } from '../../src/data/mnist.js';
import { inputScaling, scaleInputs } from '../../src/data/transform.js';
import { convertibleGraphOps } from '../../src/model/graph-to-layers/index.js';
import { fileHandler } from '../../src/model/io.js';
import { packArtifacts } from '../../src/serialize/index.js';
import { evaluate } from '../../src/train/evaluate.js';
import { useBackend } from '../helpers/backend.js';
import { denseClassifier, denseGraph, REAL, saveGraphFolder, stockGraphModel } from '../model/graph-helpers.js';

const GRAPH = join(REAL, 'jsimluken-mnist', 'web_model2');
let dir: string;
beforeAll(async () => {
  await useBackend();
  dir = mkdtempSync(join(tmpdir(), 'bench-forms-'));
});

const quick = { batches: [1], warmup: 1, repeats: 2, progress: false };

describe('bench opens every model form through the one loader', () => {
  it('a real graph model runs on tfjs and, rebuilt as layers and exported, on onnxruntime, scoring like stock tfjs', async () => {
    const test = scaleInputs(loadMnist({ split: 'test', limit: 300 }), inputScaling({ scale: 1 / 128, offset: -127.5 / 128 }));
    const before = tf.memory().numTensors;
    const report = await benchModels({ models: [GRAPH], runtimes: ['tfjs-default', 'onnx'], data: test, ...quick });
    expect(tf.memory().numTensors).toBe(before);
    const m = report.models[0]!;
    expect(m.kind).toBe('tfjs-graph');
    expect(m.size.files.map((f) => f.name)).toEqual(['model.json', 'group1-shard1of1.bin']);
    expect(m.skipped).toEqual([]);
    expect(m.latency.map((l) => l.runtime)).toContain('onnx');
    const stock = await stockGraphModel(join(GRAPH, 'model.json'));
    const ref = await evaluate(stock, test);
    stock.dispose();
    expect(m.quality?.task === 'classification' && m.quality.accuracy).toBeCloseTo(ref.accuracy!, 10);
  });

  it('a graph container is a container holding a graph; a [-1,28,28] graph takes [28,28,1] data', async () => {
    const c = join(dir, 'g.tfjsc');
    writeFileSync(c, packArtifacts(await fileHandler(GRAPH).load!()));
    const opened = await openBenchModel(c);
    expect(opened.kind).toBe('container');
    expect(opened.files).toEqual([c]);
    expect((await opened.params())?.params).toBe(277962);
    opened.dispose();

    const twin = denseClassifier([28, 28]);
    const g = await saveGraphFolder(await denseGraph(twin, [-1, 28, 28]), join(dir, 'flat28'));
    const test = loadMnist({ split: 'test', limit: 200 });
    const report = await benchModels({ models: [g], runtimes: ['tfjs-default', 'onnx'], data: test, ...quick });
    const ref = await evaluate(twin, test);
    twin.dispose();
    const m = report.models[0]!;
    expect(m.skipped).toEqual([]);
    expect(m.quality?.task === 'classification' && m.quality.accuracy).toBeCloseTo(ref.accuracy!, 10);
  });

  it('a graph whose ops have no layers conversion gets a one-line "unsupported" ONNX reason and still runs on tfjs', async () => {
    expect(convertibleGraphOps()).not.toContain('Cumsum');
    const twin = denseClassifier([28, 28, 1]);
    const g = await saveGraphFolder(await denseGraph(twin, [-1, 28, 28, 1], 'identity', true), join(dir, 'cumsum'));
    twin.dispose();
    const report = await benchModels({ models: [g], runtimes: ['tfjs-default', 'onnx'], inputShape: [28, 28, 1], ...quick });
    const m = report.models[0]!;
    expect(m.latency.map((l) => l.runtime)).not.toContain('onnx');
    expect(m.latency).toHaveLength(1);
    const reason = m.skipped.find((s) => s.runtime === 'onnx')?.reason ?? '';
    expect(reason).toMatch(/^ONNX export of 'cumsum' unsupported: .*Cumsum/);
    expect(reason).not.toMatch(/\n/);
  });
});
