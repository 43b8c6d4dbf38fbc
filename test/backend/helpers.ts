import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../../src/backend/index.js';

/** Deterministic uniform [-1, 1) values, so cpu and wasm see identical inputs. */
export function randomValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[i] = (s / 0x100000000) * 2 - 1;
  }
  return out;
}

/** A tensor of deterministic random values. */
export function rand(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed), shape);
}

/** Run `fn` on the pure-JS cpu backend and on wasm (with our kernels); return both results as arrays. */
export async function onBothBackends(fn: () => tf.Tensor[]): Promise<{ cpu: Float32Array[]; wasm: Float32Array[]; shapes: number[][] }> {
  const run = async () => {
    const outs = tf.tidy(fn);
    const data = await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array));
    const shapes = outs.map((t) => t.shape);
    tf.dispose(outs);
    return { data, shapes };
  };
  await setBackend('cpu');
  const cpu = await run();
  await setBackend('wasm');
  const wasm = await run();
  for (let i = 0; i < cpu.shapes.length; i++) {
    if (cpu.shapes[i].join() !== wasm.shapes[i].join()) {
      throw new Error(`output ${i}: cpu shape [${cpu.shapes[i]}] != wasm shape [${wasm.shapes[i]}]`);
    }
  }
  return { cpu: cpu.data, wasm: wasm.data, shapes: cpu.shapes };
}

/** Largest |a-b| / max(1, |a|) over all elements. */
export function maxRelDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(a[i]));
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

/**
 * Compare `f(...inputs)` and its gradients w.r.t. every input (with a random upstream gradient)
 * between cpu and wasm; returns the worst relative difference per output name.
 */
export async function gradDiffs(
  shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor, seed: number, transform: (t: tf.Tensor) => tf.Tensor = (t) => t,
): Promise<Record<string, number>> {
  const res = await onBothBackends(() => {
    const xs = shapes.map((s, i) => transform(rand(s, seed + i)));
    const y = f(...xs);
    const dy = rand(y.shape, seed + 99);
    const grads = tf.grads((...a: tf.Tensor[]) => f(...a))(xs, dy);
    return [y, ...grads];
  });
  const out: Record<string, number> = {};
  res.cpu.forEach((c, i) => { out[i === 0 ? 'forward' : `d${i - 1}`] = maxRelDiff(c, res.wasm[i]); });
  return out;
}
