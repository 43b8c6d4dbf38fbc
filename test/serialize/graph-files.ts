import * as tf from '@tensorflow/tfjs';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Real graph fixtures (read-only) and the JSON file of each. */
export { REAL_MODELS as FIXTURES } from '../helpers/fixtures.js';
export const GRAPH_FIXTURES: { name: string; json: string }[] = [
  { name: 'jsimluken-mnist/web_model2', json: 'model.json' },
  { name: 'keras3-export-mnist-graph', json: 'model.json' },
  { name: 'human-emotion-graph', json: 'emotion.json' },
  { name: 'tfjs-automl-flowers-graph', json: 'model.json' },
  { name: 'tfjs-mobilenet-segmentation-graph', json: 'model.json' },
  { name: 'tfjs-examples-prefetch-embedding-graph', json: 'model.json' },
];

/**
 * Read a graph model folder with plain fs (not the SDK's loader): model.json plus its shards in
 * manifest order, as stock tfjs's http/file handlers would hand them to `loadGraphModel`.
 */
export function readGraphFolder(jsonPath: string): tf.io.ModelArtifacts {
  const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as tf.io.ModelJSON;
  const parts: Uint8Array[] = [];
  const specs: tf.io.WeightsManifestEntry[] = [];
  for (const g of json.weightsManifest) {
    for (const p of g.paths) parts.push(new Uint8Array(readFileSync(join(dirname(jsonPath), p))));
    specs.push(...g.weights);
  }
  const data = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { ...json, weightSpecs: specs, weightData: data.buffer } as tf.io.ModelArtifacts;
}

/** Stock `tf.loadGraphModel` on in-memory artifacts. */
export async function stockLoad(artifacts: tf.io.ModelArtifacts): Promise<GraphModel> {
  return loadGraphModel(tf.io.fromMemory(artifacts));
}

/** Seeded inputs for every graph input: uniform [0,1) floats, or int32 ids below `maxId`; batch 2 where free. */
export function graphInputs(graph: GraphModel, seed = 1, maxId = 100): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  graph.inputs.forEach((inp, i) => {
    const shape = (inp.shape ?? [2]).map((d) => (d < 0 ? 2 : d));
    out[inp.name] = inp.dtype === 'int32' ? tf.randomUniform(shape, 0, maxId, 'int32', seed + i) : tf.randomUniform(shape, 0, 1, 'float32', seed + i);
  });
  return out;
}

/** Every output of `graph` on `inputs` as float32 words (bit patterns), tensors disposed. */
export function outputWords(graph: GraphModel, inputs: tf.NamedTensorMap): Uint32Array[] {
  const outs = graph.execute(inputs, graph.outputNodes);
  const list = Array.isArray(outs) ? outs : [outs];
  const words = list.map((t) => new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer));
  tf.dispose(list);
  return words;
}
