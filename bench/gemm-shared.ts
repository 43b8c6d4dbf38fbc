/**
 * The wasm GEMM peak and the model FLOP counts B5 relates its samples/s to, so every training line
 * says how far a step is from what this machine's matrix kernel can do.
 */
import * as tf from '@tensorflow/tfjs';

/** One timed GEMM shape. */
export interface GemmShape {
  m: number;
  k: number;
  n: number;
}

/** Square GEMMs large enough to reach XNNPACK's peak, plus the cnn's own conv_2 filter-gradient GEMM. */
export const PEAK_SHAPES: GemmShape[] = [
  { m: 512, k: 512, n: 512 },
  { m: 1024, k: 1024, n: 1024 },
  { m: 128 * 24 * 24, k: 288, n: 64 },
];

/** GFLOP/s of `tf.matMul` per shape (best of `passes` timed calls after one warm-up) on the active backend. */
export async function measureGemm(shapes: GemmShape[] = PEAK_SHAPES, passes = 5): Promise<Array<GemmShape & { gflops: number; bestMs: number }>> {
  const out: Array<GemmShape & { gflops: number; bestMs: number }> = [];
  for (const s of shapes) {
    const a = tf.randomUniform([s.m, s.k], -1, 1, 'float32', 1);
    const b = tf.randomUniform([s.k, s.n], -1, 1, 'float32', 2);
    try {
      let best = Infinity;
      for (let i = 0; i <= passes; i++) {
        const t0 = performance.now();
        const c = tf.matMul(a, b);
        await c.data();
        const ms = performance.now() - t0;
        c.dispose();
        if (i > 0) best = Math.min(best, ms);
      }
      out.push({ ...s, bestMs: best, gflops: (2 * s.m * s.k * s.n) / (best * 1e6) });
    } finally {
      a.dispose();
      b.dispose();
    }
  }
  return out;
}

/** The best GFLOP/s over {@link PEAK_SHAPES}: the machine's measured GEMM peak on this backend. */
export async function gemmPeak(): Promise<number> {
  return Math.max(...(await measureGemm()).map((r) => r.gflops));
}

/**
 * Multiply-add FLOPs of one forward pass per sample (2 per MAC) over Dense and Conv2D layers
 * (nested models included); elementwise work is not counted.
 */
export function forwardFlopsPerSample(model: tf.LayersModel): number {
  let flops = 0;
  for (const layer of model.layers) {
    if (layer instanceof tf.LayersModel) {
      flops += forwardFlopsPerSample(layer);
      continue;
    }
    const cls = layer.getClassName();
    const out = layer.outputShape as number[];
    const kernel = layer.getWeights()[0];
    if (!kernel) continue;
    if (cls === 'Dense') flops += 2 * kernel.shape[0]! * kernel.shape[1]!;
    else if (cls === 'Conv2D') {
      const [kh, kw, cin, cout] = kernel.shape as number[];
      flops += 2 * out[1]! * out[2]! * kh! * kw! * cin! * cout!;
    }
  }
  return flops;
}

/** FLOPs of one training step per sample: forward plus the two backward GEMMs (input and weight gradients), 3x forward. */
export const trainingFlopsPerSample = (model: tf.LayersModel): number => 3 * forwardFlopsPerSample(model);
