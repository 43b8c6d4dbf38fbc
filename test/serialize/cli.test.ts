import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/select.js';
import { registerPackCommand } from '../../src/cli/commands/pack.js';
import { registerQuantizeCommand } from '../../src/cli/commands/quantize.js';
import { loadLayersModel } from '../../src/model/load.js';
import { quantizedWeightsFromJson, dequantize } from '../../src/quantize/index.js';
import { loadContainer, readContainer, saveContainer } from '../../src/serialize/index.js';
import { buildZooModel } from '../../src/model/zoo.js';
import { writeFileSync } from 'node:fs';
import { runCommands } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tfjsc-cli-'));

/** Run CLI commands in-process and return what they printed. */
const run = (...args: string[]) => runCommands((p) => { registerQuantizeCommand(p); registerPackCommand(p); }, args);

function words(m: tf.LayersModel): Uint32Array[] {
  return m.getWeights().map((t) => new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
}

beforeAll(async () => {
  await setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CLI: quantize, pack, unpack', () => {
  it('quantize writes the deployment model + record; pack uses the record; unpack restores it bit for bit', async () => {
    const q = join(dir, 'q');
    const out1 = await run('quantize', '--model', 'zoo:lenet5', '--mode', 'int8-channel', '--out', q);
    expect(out1).toMatch(/before \(tfjs fp32\): +raw \d+ B .*gzip \d+ B/);
    expect(out1).toMatch(/after +\(packed container\): +raw \d+ B/);
    const record = quantizedWeightsFromJson(JSON.parse(readFileSync(join(q, 'quantization.json'), 'utf8')));
    const deployed = (await loadLayersModel(q, { command: 'test' })).model;
    const kernel = deployed.weights.find((w) => w.originalName === 'dense_1/kernel')!;
    expect(new Uint32Array((kernel.read().dataSync() as Float32Array).slice().buffer)).toEqual(new Uint32Array(dequantize(record['dense_1/kernel']!).buffer));

    const file = join(dir, 'q.tfjsc');
    const out2 = await run('pack', q, '--out', file);
    expect(out2).toMatch(/after +\(container\): raw \d+ B/);
    expect(out2).toMatch(/with quantization record/);
    const kinds = readContainer(new Uint8Array(readFileSync(file))).manifest.tensors.map((t) => t.values.kind);
    expect(kinds).toContain('affine');
    expect(statSync(file).size * 3).toBeLessThan(statSync(join(q, 'weights.bin')).size);

    const u = join(dir, 'u');
    const out3 = await run('unpack', file, '--out', u);
    expect(out3).toMatch(/before \(container\)/);
    expect(words((await loadLayersModel(u, { command: 'test' })).model)).toEqual(words(deployed));
  });

  it('errors are clear and nothing is written', async () => {
    const out = join(dir, 'never');
    await expect(run('quantize', '--model', 'zoo:lenet5', '--mode', 'int8', '--max-accuracy-drop', '1', '--out', out)).rejects.toThrow(/--max-accuracy-drop needs --data/);
    await expect(run('quantize', '--model', 'zoo:lenet5', '--mode', 'int4', '--out', out)).rejects.toThrow(/unknown quantization mode 'int4'/);
    expect(existsSync(out)).toBe(false);
    await expect(run('unpack', join(dir, 'missing.tfjsc'), '--out', out)).rejects.toThrow(/cannot read container/);
  });

  it('node helpers save and load a container file; errors name the file', async () => {
    const m = buildZooModel('tfmot-cnn', { seed: 3 });
    const file = join(dir, 'm.tfjsc');
    const bytes = await saveContainer(m, file);
    expect(statSync(file).size).toBe(bytes.length);
    const back = await loadContainer(file);
    expect(words(back)).toEqual(words(m));
    const broken = bytes.slice();
    broken[broken.length - 1]! ^= 0xff;
    writeFileSync(join(dir, 'bad.tfjsc'), broken);
    await expect(loadContainer(join(dir, 'bad.tfjsc'))).rejects.toThrow(/bad\.tfjsc: checksum mismatch in tensor 'logits\/bias'|bad\.tfjsc: checksum mismatch in tensor/);
  });
});
