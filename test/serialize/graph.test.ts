import * as tf from '@tensorflow/tfjs';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerPackCommand } from '../../src/cli/commands/pack.js';
import { fromContainer, isGraphArtifacts, readContainer, unpackArtifacts, unpackModel } from '../../src/serialize/index.js';
import { useBackend } from '../helpers/backend.js';
import { FIXTURES, GRAPH_FIXTURES, graphInputs, outputWords, readGraphFolder, stockLoad } from './graph-files.js';
import { runCommands } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tfjsc-graph-'));

/** Run CLI commands in-process and return what they printed. */
const run = (...args: string[]) => runCommands((p) => { registerPackCommand(p); }, args);

/** Every file under a folder with its size (to prove the inputs are never modified). */
function snapshot(path: string): Record<string, number> {
  return Object.fromEntries(readdirSync(path).map((f) => [f, statSync(join(path, f)).mtimeMs + statSync(join(path, f)).size]));
}

beforeAll(async () => {
  await useBackend();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pack / unpack of graph models (real fixtures)', () => {
  it.each(GRAPH_FIXTURES)('$name: container and unpacked folder load in stock tfjs with bit-identical outputs', async ({ name, json }) => {
    const src = join(FIXTURES, name);
    const before = snapshot(src);
    const original = await stockLoad(readGraphFolder(join(src, json)));
    const inputs = graphInputs(original);
    const expected = outputWords(original, inputs);
    const file = join(dir, `${name.replace(/\//g, '_')}.tfjsc`);
    expect(await run('pack', src, '--out', file)).toMatch(/wrote .* \(graph model\)/);
    const bytes = new Uint8Array(readFileSync(file));
    const manifest = readContainer(bytes).manifest;
    expect(manifest.model.format).toBe('graph-model');
    expect(Array.isArray((manifest.model.modelTopology as { node?: unknown }).node)).toBe(true);
    const origJson = JSON.parse(readFileSync(join(src, json), 'utf8'));
    expect(manifest.model.signature).toEqual(origJson.signature);
    expect(manifest.model.userDefinedMetadata).toEqual(origJson.userDefinedMetadata);

    const numTensors = tf.memory().numTensors;
    const fromBytes = await loadGraphModel(fromContainer(bytes));
    expect(outputWords(fromBytes, inputs)).toEqual(expected);
    fromBytes.dispose();
    expect(tf.memory().numTensors).toBe(numTensors);

    const out = join(dir, `${name.replace(/\//g, '_')}-unpacked`);
    expect(await run('unpack', file, '--out', out)).toMatch(/\(graph model\)/);
    const unpacked = await stockLoad(readGraphFolder(join(out, 'model.json')));
    expect(outputWords(unpacked, inputs)).toEqual(expected);
    unpacked.dispose();
    original.dispose();
    tf.dispose(Object.values(inputs));
    expect(snapshot(src)).toEqual(before);
  }, 60_000);

  it('a graph container is refused by the layers decoder in one line; the artifacts say graph', async () => {
    const file = join(dir, 'keras3-export-mnist-graph.tfjsc');
    const bytes = new Uint8Array(readFileSync(file));
    expect(isGraphArtifacts(unpackArtifacts(bytes))).toBe(true);
    await expect(unpackModel(bytes)).rejects.toThrow(/holds a graph model: load it with tf\.loadGraphModel/);
  });

  it('refuses what is not a tfjs model, naming it', async () => {
    const onnx = join(dir, 'model.onnx');
    writeFileSync(onnx, new Uint8Array([8, 7]));
    await expect(run('pack', onnx, '--out', join(dir, 'x.tfjsc'))).rejects.toThrow(/^pack takes tfjs layers models .*model\.onnx' is an? ONNX model$/);
    expect(existsSync(join(dir, 'x.tfjsc'))).toBe(false);
  });
});
