import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerConvertCommand } from '../../src/cli/commands/convert.js';
import { loadMnist } from '../../src/data/mnist.js';
import { fileHandler } from '../../src/model/io.js';
import { packArtifacts } from '../../src/serialize/index.js';
import { useBackend } from '../helpers/backend.js';
import { runCommands } from '../helpers/cli.js';
import { REAL, stockGraphModel, stockLayersModel } from '../model/graph-helpers.js';

const convert = (...args: string[]) => runCommands(registerConvertCommand, ['convert', ...args]);
let tmp: string;
beforeAll(async () => {
  await useBackend();
  tmp = mkdtempSync(join(tmpdir(), 'tfjs-compress-convert-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** 16 real MNIST digits scaled as jsimluken-mnist was trained: (x - 127.5) / 128. */
function digits(): tf.Tensor {
  const ds = loadMnist({ split: 'test', limit: 16 });
  return tf.tidy(() => ds.toTensors().xs.mul(255).sub(127.5).div(128));
}

describe('tfjs-compress convert', () => {
  it('writes a Keras .h5 file as a layers model that stock tfjs loads, equal to the converter\'s own output', async () => {
    const out = join(tmp, 'from-h5');
    const printed = await convert(join(REAL, 'jsimluken-mnist', 'tiny_mnist.h5'), '--out', out);
    expect(printed).toMatch(/layers model from Keras HDF5 file .*278,410 params/);
    const ours = await tf.loadLayersModel(fileHandler(out));
    const converter = await stockLayersModel(join(REAL, 'jsimluken-mnist', 'web_model', 'model.json'));
    const x = digits();
    const a = ours.predict(x) as tf.Tensor;
    const b = converter.predict(x) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThanOrEqual(1e-6);
    tf.dispose([x, a, b]);
    ours.dispose();
    converter.dispose();
  });

  it('rebuilds a graph model packed in a container, matching stock tf.loadGraphModel on the original files', async () => {
    const dir = join(REAL, 'keras3-export-mnist-graph');
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    const weightData = new Uint8Array(readFileSync(join(dir, 'group1-shard1of1.bin'))).buffer;
    const packed = join(tmp, 'graph.tfjsc');
    writeFileSync(packed, packArtifacts({ modelTopology: json.modelTopology, format: json.format, weightSpecs: json.weightsManifest[0]!.weights, weightData }));
    const out = join(tmp, 'from-container');
    expect(await convert(packed, '--out', out)).toMatch(/parity .* ok/);
    const layers = await tf.loadLayersModel(fileHandler(out));
    const graph = await stockGraphModel(join(dir, 'model.json'));
    const x = tf.tidy(() => loadMnist({ split: 'test', limit: 16 }).toTensors().xs);
    const a = layers.predict(x) as tf.Tensor;
    const b = graph.execute(x) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThanOrEqual(1e-5);
    tf.dispose([x, a, b]);
    layers.dispose();
    graph.dispose();
  });

  it('refuses an ONNX file and its own folder as output, in one line', async () => {
    const onnx = join(tmp, 'm.onnx');
    writeFileSync(onnx, new Uint8Array([8, 7]));
    await expect(convert(onnx, '--out', join(tmp, 'x'))).rejects.toThrow(/^convert takes .*; '.*m\.onnx' is an ONNX model$/);
    const dir = join(REAL, 'jsimluken-mnist', 'web_model');
    await expect(convert(dir, '--out', dir)).rejects.toThrow(/is the input model's own folder/);
  });
});
