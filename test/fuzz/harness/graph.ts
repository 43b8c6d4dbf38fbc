import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REAL_MODELS } from '../../helpers/fixtures.js';
import { byteMutation, jsonMutation, type ByteMutation, type JsonMutation } from './mutate.js';
import { outputOf, runModelFolderCase } from './tfjs-common.js';
import type { CaseResult, FuzzFormat } from './types.js';

/*
 * tfjs graph model: a real converter output (Keras 3 MNIST CNN, tensorflowjs_converter 4.22),
 * read in place and copied per case. Cases damage model.json as bytes or structure, or the shard.
 */

/** A graph-model case. */
export type GraphCase = { file: 'model.json'; bytes: ByteMutation } | { file: 'model.json'; edit: JsonMutation } | { file: 'shard'; bytes: ByteMutation };

const SOURCE = join(REAL_MODELS, 'keras3-export-mnist-graph');
const SHARD = 'group1-shard1of1.bin';

/** The graph-model format. */
export function graphFormat(): FuzzFormat<GraphCase> {
  let base = '';
  let x: tf.Tensor | undefined;
  let reference: Float32Array = new Float32Array(0);
  let json: unknown;
  return {
    name: 'graph',
    cases: fc.oneof(
      { weight: 2, arbitrary: fc.record({ file: fc.constant('model.json' as const), bytes: byteMutation }) },
      { weight: 4, arbitrary: fc.record({ file: fc.constant('model.json' as const), edit: jsonMutation }) },
      { weight: 2, arbitrary: fc.record({ file: fc.constant('shard' as const), bytes: byteMutation }) },
    ),
    async setup(dir) {
      base = dir;
      for (const f of ['model.json', SHARD]) copyFileSync(join(SOURCE, f), join(dir, f));
      json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
      x = tf.tidy(() => tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 7));
      const { loadModel } = await import('../../../src/model/load.js');
      const m = await loadModel(dir, { command: 'fuzz', accept: ['graph'] });
      reference = outputOf(m, x);
      if (m.kind !== 'onnx') m.model.dispose();
    },
    async run(c, caseDir): Promise<CaseResult> {
      return runModelFolderCase(c, caseDir, { base, json, shards: [SHARD], kind: 'graph', x: x!, reference });
    },
    teardown() {
      x?.dispose();
    },
  };
}
