/**
 * B5 companion `gemm-peak`: the GFLOP/s `tf.matMul` reaches on the default backend (wasm XNNPACK)
 * at 1 and 2 threads on this machine, each in a fresh process (the thread count is fixed when wasm
 * starts). B5 relates every training step to the 2-thread peak.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setBackend } from '../src/backend/index.js';
import { measureGemm } from './gemm-shared.js';
import { summary, writeResult } from './common.js';

const CHILD = 'GEMM_PEAK_CHILD';

async function child(): Promise<void> {
  const b = await setBackend('auto');
  console.log(JSON.stringify({ backend: b.name, threads: b.threads, rows: await measureGemm() }));
}

/** Benchmark entry point (see bench/run.ts). */
export default async function run(): Promise<void> {
  const results: Array<{ threads: number; backend: string; rows: Array<{ m: number; k: number; n: number; gflops: number; bestMs: number }> }> = [];
  for (const threads of [1, 2]) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: { ...process.env, [CHILD]: '1', TFJS_COMPRESS_THREADS: String(threads) },
      encoding: 'utf8',
      timeout: 600_000,
    });
    if (r.status !== 0) throw new Error(`gemm-peak child (${threads} threads) failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
    const parsed = JSON.parse(r.stdout.trim().split('\n').pop()!) as (typeof results)[number];
    results.push({ ...parsed, threads: parsed.threads ?? threads });
  }
  const peak = (t: (typeof results)[number]) => Math.max(...t.rows.map((x) => x.gflops));
  writeResult('gemm-peak', { results });
  const shapes = (t: (typeof results)[number]) => t.rows.map((x) => `${x.m}x${x.k}x${x.n} ${x.gflops.toFixed(1)}`).join(', ');
  summary(
    `B5 gemm-peak (${results[0]!.backend}): ${peak(results[0]!).toFixed(1)} GFLOP/s at 1 thread, ${peak(results[1]!).toFixed(1)} at 2 threads ` +
      `(= ${(peak(results[1]!) / peak(results[0]!)).toFixed(2)}x); per shape, 2 threads: ${shapes(results[1]!)}`,
  );
}

if (process.env[CHILD] === '1') await child();
