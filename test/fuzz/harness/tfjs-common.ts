import * as tf from '@tensorflow/tfjs';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadModel, type LoadedModel } from '../../../src/model/load.js';
import { oneLine } from '../../../src/util/errors.js';
import { classifyMessage, UNCLEAR_PATTERNS } from './classify.js';
import { applyBytes, applyJson, stringifyDeep, type ByteMutation, type JsonMutation } from './mutate.js';
import type { CaseResult } from './types.js';

/*
 * Loading a (mutated) tfjs model the way every command does (the one loader), running it on a
 * fixed input and comparing with the original's output; plus stock tfjs reading the same files
 * with no checks of its own, as the independent judge of whether a changed file is still a
 * valid model (then a different output is the file's meaning, not garbage).
 */

/** Output of a loaded layers or graph model on `x` (values; the model is not disposed). */
export function outputOf(m: LoadedModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => {
    if (m.kind === 'layers') {
      const y = m.model.predict(x);
      return (Array.isArray(y) ? y[0]! : y).dataSync() as Float32Array;
    }
    if (m.kind === 'graph') {
      const y = m.model.execute(x);
      return (Array.isArray(y) ? y[0]! : y).dataSync() as Float32Array;
    }
    throw new Error('not a tfjs model');
  }).slice();
}

/** Equal element for element (NaN equals NaN: a NaN weight is still the same weight). */
export function sameOutputs(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i] || (Number.isNaN(v) && Number.isNaN(b[i]!)));
}

/** Stock tfjs on a model.json + shards: shards concatenated as listed, nothing checked by us. */
export async function stockOutput(jsonPath: string, kind: 'layers' | 'graph', x: tf.Tensor): Promise<Float32Array | RunError> {
  const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as tf.io.ModelJSON;
  const shards = json.weightsManifest.flatMap((g) => g.paths.map((p) => new Uint8Array(readFileSync(join(dirname(jsonPath), p)))));
  const total = shards.reduce((s, b) => s + b.length, 0);
  const all = new Uint8Array(total);
  let o = 0;
  for (const b of shards) all.set(b, o), (o += b.length);
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology,
    format: json.format,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: all.buffer,
    signature: json.signature,
    userDefinedMetadata: json.userDefinedMetadata,
  };
  const handler = { load: async () => artifacts };
  let model: tf.LayersModel | import('@tensorflow/tfjs-converter').GraphModel;
  if (kind === 'layers') model = await tf.loadLayersModel(handler);
  else model = await (await import('@tensorflow/tfjs-converter')).loadGraphModel(handler);
  try {
    const loaded = kind === 'layers'
      ? ({ kind: 'layers', format: 'layers-model', location: { spec: jsonPath, format: 'layers-model' }, model } as LoadedModel)
      : ({ kind: 'graph', format: 'graph-model', location: { spec: jsonPath, format: 'graph-model' }, model } as LoadedModel);
    try {
      return outputOf(loaded, x);
    } catch (err) {
      return new RunError((err as Error).message);
    }
  } finally {
    model.dispose();
  }
}

/** Stock tfjs loaded the files but could not run them on the original's input. */
export class RunError extends Error {}

/** Free whatever stock tfjs left behind when it failed (it leaks on failure; the judge must not count). */
export async function quietly<T>(fn: () => Promise<T>): Promise<T | Error> {
  const { releaseOnFailure } = await import('../../../src/model/validate/no-leak.js');
  try {
    return await releaseOnFailure(fn);
  } catch (err) {
    return err as Error;
  }
}

/** Arguments of {@link judgeLoad}. */
export interface JudgeArgs {
  /** The model argument to load (folder or file). */
  spec: string;
  /** Reference output of the unmutated model on `x`. */
  reference: Float32Array;
  x: tf.Tensor;
  /** Names a clean error message must mention (file names, folder). */
  names: string[];
  /** Decide what a success with a different output means: garbage unless the change was undetectable. */
  onDifferent: (ours: Float32Array | Error) => Promise<CaseResult>;
}

/** Load `spec` with the one loader, run it, compare; errors are classified by their message. */
export async function judgeLoad(a: JudgeArgs): Promise<CaseResult> {
  let m: LoadedModel;
  try {
    m = await loadModel(a.spec, { command: 'fuzz', accept: ['layers', 'graph'] });
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    return { verdict: classifyMessage(message, a.names), message };
  }
  let ours: Float32Array | Error;
  try {
    ours = outputOf(m, a.x);
  } catch (err) {
    // Loaded but cannot take the original's input: a valid different model (stock tfjs agrees) or garbage.
    ours = err as Error;
  } finally {
    if (m.kind !== 'onnx') m.model.dispose();
  }
  if (!(ours instanceof Error) && sameOutputs(ours, a.reference)) return { verdict: 'clean' };
  return a.onDifferent(ours);
}

/**
 * The judge for model.json edits: stock tfjs on the same files. When it loads them to the same
 * outputs as ours, the file is a valid model with another meaning: undetectable, not garbage.
 * When both load and both fail to run the original's input with the same message, the damage is
 * one only execution reveals (tfjs graphs resolve ops lazily): judged by that message alone.
 */
export async function stockAgrees(jsonPath: string, kind: 'layers' | 'graph', x: tf.Tensor, ours: Float32Array | Error): Promise<CaseResult> {
  const stock = await quietly(() => stockOutput(jsonPath, kind, x));
  if (stock instanceof RunError && ours instanceof Error) {
    const same = oneLine(stock.message) === oneLine(ours.message);
    if (!same) return { verdict: 'garbage', message: `ours fails to run with '${ours.message.slice(0, 150)}', stock with '${stock.message.slice(0, 150)}'` };
    return { verdict: UNCLEAR_PATTERNS.some((p) => p.test(oneLine(ours.message))) ? 'unclear' : 'clean', undetectable: true, message: `loads; running fails: ${ours.message}` };
  }
  if (stock instanceof Error) return { verdict: 'garbage', message: `stock tfjs refuses the files (${stock.message.slice(0, 200)}) but they loaded${ours instanceof Error ? ` and fail to run: ${ours.message.slice(0, 150)}` : ''}` };
  if (ours instanceof Float32Array && sameOutputs(stock, ours)) return { verdict: 'clean', undetectable: true };
  return { verdict: 'garbage', message: `outputs differ from stock tfjs on the same files${ours instanceof Error ? ` (ours fails to run: ${ours.message.slice(0, 200)})` : ''}` };
}

/** A model-folder case: model.json damaged as bytes or structure, or one shard as bytes. */
export type ModelFolderCase = { file: 'model.json'; bytes: ByteMutation } | { file: 'model.json'; edit: JsonMutation } | { file: 'shard'; shard?: number; bytes: ByteMutation };

/** What {@link runModelFolderCase} needs: the original folder, its parsed model.json, shards, input and output. */
export interface ModelFolder {
  base: string;
  json: unknown;
  shards: string[];
  kind: 'layers' | 'graph';
  x: tf.Tensor;
  reference: Float32Array;
}

/**
 * Copy the original folder into `caseDir`, apply the case, load it with the one loader and judge:
 * a shard of another length that loads is garbage, a same-length shard change is undetectable,
 * a model.json change is judged by stock tfjs ({@link stockAgrees}).
 */
export async function runModelFolderCase(c: ModelFolderCase, caseDir: string, f: ModelFolder): Promise<CaseResult> {
  for (const name of ['model.json', ...f.shards]) copyFileSync(join(f.base, name), join(caseDir, name));
  let shardLengthChanged = false;
  let edit = '';
  if (c.file === 'model.json' && 'bytes' in c) writeFileSync(join(caseDir, 'model.json'), applyBytes(readFileSync(join(f.base, 'model.json')), c.bytes));
  else if (c.file === 'model.json') {
    const edited = applyJson(f.json, c.edit);
    edit = edited.path;
    writeFileSync(join(caseDir, 'model.json'), stringifyDeep(edited.doc));
  } else {
    const shard = f.shards[c.shard ?? 0]!;
    const orig = readFileSync(join(f.base, shard));
    const mutated = applyBytes(orig, c.bytes);
    shardLengthChanged = mutated.length !== orig.length;
    writeFileSync(join(caseDir, shard), mutated);
  }
  const r = await judgeLoad({
    spec: caseDir,
    reference: f.reference,
    x: f.x,
    names: [caseDir, 'model.json', ...f.shards],
    onDifferent: async (ours) => {
      // A same-length change inside a shard has no checksum to catch it; a length change must be caught.
      if (c.file === 'shard') return shardLengthChanged ? { verdict: 'garbage', message: 'a shard of another length loaded' } : { verdict: 'clean', undetectable: true };
      return stockAgrees(join(caseDir, 'model.json'), f.kind, f.x, ours);
    },
  });
  return edit ? { ...r, message: `[${edit}] ${r.message ?? ''}` } : r;
}
