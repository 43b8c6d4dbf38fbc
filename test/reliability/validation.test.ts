import * as tf from '@tensorflow/tfjs';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/model/load.js';
import { readContainer } from '../../src/serialize/decoder.js';
import { assembleContainer, packModel } from '../../src/serialize/encoder.js';
import { useBackend } from '../helpers/backend.js';
import { REAL_MODELS } from '../helpers/fixtures.js';
import { writeLayersOriginal } from '../fuzz/harness/layers.js';

/*
 * Every structural error names the file and the field. The cases are the ones the fuzzing
 * found accepted or unclear (a missing `values.shuffle` decoded to other weights; `spec.shape.reduce
 * is not a function`; a dangling graph input; `Maximum call stack size exceeded`).
 */

const load = (spec: string) => loadModel(spec, { command: 'test', accept: ['layers', 'graph'] });

describe('structural validation names the file and the field', () => {
  const root = mkdtempSync(join(tmpdir(), 'validation-'));
  beforeAll(() => useBackend('cpu'));

  it('container: a missing or non-boolean values.shuffle is refused (it decoded to other weights)', async () => {
    const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [8], units: 8, kernelInitializer: tf.initializers.randomNormal({ seed: 4 }) })] });
    const bytes = await packModel(m);
    m.dispose();
    const { manifest, payload } = readContainer(bytes);
    const i = manifest.tensors.findIndex((t) => t.values.kind === 'f32' || t.values.kind === 'f16');
    expect(i).toBeGreaterThanOrEqual(0);
    const name = manifest.tensors[i]!.name;
    for (const [value, why] of [[undefined, 'is missing'], ['yes', 'is invalid \\("yes"\\)'], [1, 'is invalid \\(1\\)']] as const) {
      const edited = structuredClone(manifest);
      if (value === undefined) delete edited.tensors[i]!.values.shuffle;
      else edited.tensors[i]!.values.shuffle = value;
      const file = join(root, `shuffle-${String(value)}.tfjsc`);
      writeFileSync(file, assembleContainer(edited, payload));
      await expect(load(file)).rejects.toThrow(new RegExp(`shuffle-${String(value)}\\.tfjsc: tensor '${name}': value encoding '\\w+' field 'values\\.shuffle' ${why}`));
    }
  });

  it('layers model.json: a mistyped weight shape, layer name or dtype names the field', async () => {
    const dir = join(root, 'layers');
    mkdirSync(dir);
    (await writeLayersOriginal(dir)).dispose();
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const cases: Array<[(j: typeof json) => void, RegExp]> = [
      [(j) => (j.weightsManifest[0].weights[0].shape = 'x'), /model\.json: field 'weightsManifest\[0\]\.weights\[0\]\.shape': expected an array of non-negative integers/],
      [(j) => (j.modelTopology.config.layers[0].config.name = true), /model\.json: field 'modelTopology\.config\.layers\[0\]\.config\.name': expected a layer name \(string\)/],
      [(j) => (j.modelTopology.config.layers[1].config.units = 2 ** 40), /field 'modelTopology\.config\.layers\[1\]\.config\.units': expected a positive integer <= 16777216/],
      [(j) => j.weightsManifest[0].weights.push(j.weightsManifest[0].weights[0]), /field 'weightsManifest\[0\]\.weights\[4\]\.name': weight 'dense_Dense\d+\/kernel' appears twice/],
      [(j) => (j.modelTopology.config.layers[0].config.extra = JSON.parse('['.repeat(1000) + ']'.repeat(1000))), /model\.json: nested more than 200 levels deep/],
    ];
    for (const [edit, re] of cases) {
      const j = structuredClone(json);
      edit(j);
      writeFileSync(join(dir, 'model.json'), JSON.stringify(j));
      await expect(load(dir)).rejects.toThrow(re);
    }
  });

  it('graph model.json: a dangling input or a malformed attribute names the node and field', async () => {
    const dir = join(root, 'graph');
    mkdirSync(dir);
    const src = join(REAL_MODELS, 'keras3-export-mnist-graph');
    copyFileSync(join(src, 'group1-shard1of1.bin'), join(dir, 'group1-shard1of1.bin'));
    const json = JSON.parse(readFileSync(join(src, 'model.json'), 'utf8'));
    const k = json.modelTopology.node.findIndex((n: { input?: string[] }) => n.input?.length);
    const dangling = structuredClone(json);
    dangling.modelTopology.node[k].input[0] = 'no/such/node';
    writeFileSync(join(dir, 'model.json'), JSON.stringify(dangling));
    await expect(load(dir)).rejects.toThrow(new RegExp(`model\\.json: field 'modelTopology\\.node\\[${k}\\]\\.input\\[0\\]': 'no/such/node' names no node of the graph`));
    const pool = json.modelTopology.node.findIndex((n: { op: string }) => n.op === 'MaxPool');
    const attr = structuredClone(json);
    attr.modelTopology.node[pool].attr.ksize = {};
    writeFileSync(join(dir, 'model.json'), JSON.stringify(attr));
    await expect(load(dir)).rejects.toThrow(new RegExp(`field 'modelTopology\\.node\\[${pool}\\]\\.attr\\.ksize': empty attribute value`));
  });
});
