import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { quantizeGraphModel } from '../../src/quantize/index.js';
import { useBackend } from '../helpers/backend.js';
import { FIXTURES, GRAPH_FIXTURES, graphInputs, readGraphFolder, stockLoad } from '../serialize/graph-files.js';

/** Every output of a graph as float32 values. */
function outputs(g: Awaited<ReturnType<typeof stockLoad>>, inputs: tf.NamedTensorMap): Float32Array[] {
  return tf.tidy(() => ([g.execute(inputs, g.outputNodes)].flat() as tf.Tensor[]).map((t) => Float32Array.from(t.dataSync() as Float32Array)));
}

beforeAll(async () => {
  await useBackend();
});

describe('tfjs-format quantization of every real graph fixture', () => {
  it.each(GRAPH_FIXTURES)('$name: float16 and uint8 files load in stock tfjs; int32 constants kept; float16 outputs stay close', async ({ name, json }) => {
    const source = readGraphFolder(join(FIXTURES, name, json));
    const graph = await stockLoad(source);
    const inputs = graphInputs(graph);
    const ref = outputs(graph, inputs);
    const numTensors = tf.memory().numTensors;
    for (const mode of ['float16', 'uint8'] as const) {
      const r = await quantizeGraphModel(graph, { mode });
      expect(tf.memory().numTensors).toBe(numTensors);
      expect(r.weights.length).toBeGreaterThan(0);
      const specs = r.tfjs!.weightSpecs!;
      source.weightSpecs!.forEach((s, i) => {
        expect(specs[i]!.name).toBe(s.name);
        if (s.dtype === 'int32') expect(specs[i]!.quantization).toBeUndefined();
      });
      // Tensors the reconstruction guard moved to a finer mode (uint8 -> uint16 -> float16) stay in the converter's format.
      expect(specs.filter((s) => s.quantization)).toHaveLength(r.weights.length);
      expect(specs.filter((s) => s.quantization?.dtype === mode)).toHaveLength(r.weights.filter((w) => w.mode === mode).length);
      for (const w of r.weights.filter((w) => w.mode !== mode)) expect(w.rejected.map((x) => x.mode)).toContain(mode);
      const q = await stockLoad(r.tfjs!);
      const got = outputs(q, inputs);
      q.dispose();
      got.forEach((o, k) => {
        let diff = 0;
        for (let i = 0; i < o.length; i++) diff = Math.max(diff, Math.abs(o[i]! - ref[k]![i]!));
        expect(Number.isFinite(diff)).toBe(true);
        // Half precision keeps ~3 significant digits per weight: outputs (probabilities here) move by < 1e-2.
        if (mode === 'float16') expect(diff).toBeLessThan(1e-2);
      });
    }
    tf.dispose(Object.values(inputs));
    graph.dispose();
  }, 60_000);
});
