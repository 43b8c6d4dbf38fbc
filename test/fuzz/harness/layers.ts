import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { byteMutation, jsonMutation, type ByteMutation, type JsonMutation } from './mutate.js';
import { runModelFolderCase } from './tfjs-common.js';
import type { CaseResult, FuzzFormat } from './types.js';

/*
 * tfjs layers model: a model.json and two weight shards (a small Dense network built here), the
 * files tfjs's own save writes. Cases damage model.json as bytes or as structure, or a shard.
 */

/** A layers-model case. */
export type LayersCase =
  | { file: 'model.json'; bytes: ByteMutation }
  | { file: 'model.json'; edit: JsonMutation }
  | { file: 'shard'; shard: 0 | 1; bytes: ByteMutation };

export const SHARDS = ['group1-shard1of2.bin', 'group1-shard2of2.bin'];

/** Build and save the original: Dense 6->5 relu, Dense 5->3 softmax, weights split over two shards. */
export async function writeLayersOriginal(dir: string): Promise<tf.LayersModel> {
  const model = tf.sequential({
    name: 'fuzzed',
    layers: [
      tf.layers.dense({ inputShape: [6], units: 5, activation: 'relu', kernelInitializer: tf.initializers.randomNormal({ seed: 1 }), biasInitializer: tf.initializers.randomNormal({ seed: 2 }) }),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.randomNormal({ seed: 3 }), biasInitializer: 'ones' }),
    ],
  });
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = new Uint8Array(a.weightData as ArrayBuffer);
      const cut = 64; // inside the first kernel: a shard boundary mid-tensor, as tfjs writes 4 MB shards
      writeFileSync(join(dir, SHARDS[0]!), data.subarray(0, cut));
      writeFileSync(join(dir, SHARDS[1]!), data.subarray(cut));
      const json = { format: 'layers-model', generatedBy: 'fuzz', convertedBy: null, modelTopology: a.modelTopology, weightsManifest: [{ paths: SHARDS, weights: a.weightSpecs }] };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return model;
}

/** The layers-model format. */
export function layersFormat(): FuzzFormat<LayersCase> {
  let base = '';
  let x: tf.Tensor | undefined;
  let reference: Float32Array = new Float32Array(0);
  let json: unknown;
  return {
    name: 'layers',
    cases: fc.oneof(
      { weight: 2, arbitrary: fc.record({ file: fc.constant('model.json' as const), bytes: byteMutation }) },
      { weight: 4, arbitrary: fc.record({ file: fc.constant('model.json' as const), edit: jsonMutation }) },
      { weight: 2, arbitrary: fc.record({ file: fc.constant('shard' as const), shard: fc.constantFrom(0 as const, 1 as const), bytes: byteMutation }) },
    ),
    async setup(dir) {
      base = dir;
      const model = await writeLayersOriginal(dir);
      x = tf.tensor2d([[0.5, -1, 2, 0.25, -0.75, 1.5], [1, 1, -1, 0, 3, -2]]);
      reference = (model.predict(x) as tf.Tensor).dataSync().slice() as Float32Array;
      tf.dispose(model.predict(x) as tf.Tensor);
      model.dispose();
      json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    },
    async run(c, caseDir): Promise<CaseResult> {
      return runModelFolderCase(c, caseDir, { base, json, shards: SHARDS, kind: 'layers', x: x!, reference });
    },
    teardown() {
      x?.dispose();
    },
  };
}
