import { peerScript } from '../../scripts/peers.js';
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

/**
 * Load a tfjs layers-model folder with stock tfjs only: read model.json and the shards listed in its
 * manifest, and hand them to tf.io.fromMemory. No exporter code is on the decoding path.
 */
export async function loadWithStockTfjs(dir: string): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const specs: tf.io.WeightsManifestEntry[] = [];
  const bufs: Buffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) bufs.push(readFileSync(join(dir, p)));
  }
  const all = Buffer.concat(bufs);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
}

/** Run the ONNX project's checker (independent Python validator) on files; returns its exit code and output. */
export function onnxCheck(files: string[]): { status: number; out: string } {
  const script = process.env.ONNX_CHECK ?? peerScript('onnx_check.py');
  // A missing checker must fail loudly: skipping it would let an invalid .onnx file pass.
  if (!existsSync(script)) throw new Error(`onnx_check.py not found at ${script}: put ../shared/peers beside the repository or set PEERS_DIR / ONNX_CHECK`);
  const r = spawnSync('/usr/bin/python3', [script, ...files], { encoding: 'utf8' });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** Max |a - b| of two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * Dispose a model and every nested model in it. Stock tfjs 4.22 deserialises a nested Sequential
 * whose first layer has a batch_input_shape with refCount 2, so `model.dispose()` alone leaves its
 * weights alive (tm-nail-biting-mobilenet's head keeps 3 tensors).
 */
export function disposeModel(model: tf.LayersModel): void {
  const nested: tf.LayersModel[] = [];
  const walk = (m: tf.LayersModel) => m.layers.forEach((l) => l instanceof tf.LayersModel && (nested.push(l), walk(l)));
  walk(model);
  model.dispose();
  const refs = (m: tf.LayersModel) => (m as unknown as { _refCount: number })._refCount;
  for (const m of nested) while (refs(m) > 0) m.dispose();
}
