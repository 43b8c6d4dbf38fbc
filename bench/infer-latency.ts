/**
 * B6 infer-latency: p50/p95 latency of the zoo models `mlp` (784-800-800-10) and `cnn`
 * (conv32-conv64-pool-dense128-dense10) at batch 1 and 32 on every tfjs backend available, on
 * onnxruntime-node (the model exported with src/export), and on PyTorch
 * (shared/peers/torch_peer.py --task infer), all measured in this run on this machine.
 * Both sides take the best of PASSES timed passes after a warm-up (a pass = `repeats` calls; ms/sample
 * = the pass's mean call latency / batch), and the peer must run at its best (2 threads, optimized BLAS).
 * Writes bench/results/infer-latency.json.
 */
import { requireTorchPeer, type TorchPeerResult } from '../scripts/peers.js';
import { setBackend } from '../src/backend/index.js';
import { measureColdStart, measureLatency, openBenchModel, type ColdStart, type LatencyResult, type RuntimeName } from '../src/bench/index.js';
import { ratio, summary, writeResult } from './common.js';

const MODELS = ['mlp', 'cnn'] as const;
const BATCHES = [1, 32];
const THREADS = 2; // the machine has 2 cores; both ORT and torch get both
const PASSES = 3; // timed passes on both sides; the best one counts

/** Timed calls per runtime and batch; the pure-JS cpu backend is ~50x slower, so it gets fewer. */
function repeatsFor(runtime: RuntimeName, batch: number): number {
  if (runtime === 'tfjs-cpu') return batch > 1 ? 3 : 20;
  return batch > 1 ? 40 : 200;
}

/** Run the PyTorch inference peer, or return why it could not run. */
function torchInfer(model: string, batch: number, samples: number): TorchPeerResult | string {
  return requireTorchPeer(['--task', 'infer', '--model', model, '--threads', String(THREADS), '--batch', String(batch), '--samples', String(samples), '--repeats', String(PASSES)]);
}

interface Row {
  model: string;
  batch: number;
  runtime: RuntimeName | 'torch';
  p50Ms?: number;
  p95Ms?: number;
  meanMs?: number;
  msPerSample?: number;
  samplesPerSec?: number;
  repeats?: number;
  note?: string;
}

/** Run B6 and write bench/results/infer-latency.json. */
export default async function run(): Promise<void> {
  const info = await setBackend('auto');
  const defaultRt = `tfjs-${info.name}` as RuntimeName;
  const runtimes: RuntimeName[] = [defaultRt, ...(['tfjs-wasm', 'tfjs-cpu'] as RuntimeName[]).filter((r) => r !== defaultRt), 'onnx'];
  const rows: Row[] = [];
  const cold: Array<ColdStart & { model: string }> = [];
  const skipped: Array<{ model: string; runtime: string; reason: string }> = [];
  const lines: string[] = [];

  for (const name of MODELS) {
    const model = await openBenchModel(`zoo:${name}`);
    try {
      const results = new Map<string, LatencyResult>();
      for (const runtime of runtimes) {
        const why = await model.unsupported(runtime);
        if (why) {
          skipped.push({ model: name, runtime, reason: why });
          console.log(`  ${name} ${runtime}: not measured (${why})`);
          continue;
        }
        const { runner, cold: c } = await measureColdStart(() => model.open(runtime, { threads: THREADS }));
        cold.push({ model: name, ...c });
        try {
          for (const batch of BATCHES) {
            const repeats = repeatsFor(runtime, batch);
            let r = await measureLatency(runner, { batch, repeats, warmup: runtime === 'tfjs-cpu' ? 1 : Math.max(3, Math.round(repeats / 10)) });
            for (let pass = 1; pass < PASSES; pass++) {
              const again = await measureLatency(runner, { batch, repeats, warmup: 0 });
              if (again.meanMs < r.meanMs) r = again;
            }
            results.set(`${runtime}@${batch}`, r);
            rows.push({ model: name, batch, runtime, p50Ms: r.p50Ms, p95Ms: r.p95Ms, meanMs: r.meanMs, msPerSample: r.msPerSample, samplesPerSec: r.samplesPerSec, repeats });
            console.log(`  ${name} b${batch} ${runtime}: p50 ${r.p50Ms.toFixed(3)} ms, p95 ${r.p95Ms.toFixed(3)} ms, ${r.msPerSample.toFixed(4)} ms/sample`);
          }
        } finally {
          runner.dispose();
        }
      }
      for (const batch of BATCHES) {
        const calls = repeatsFor('onnx', batch);
        const t = torchInfer(name, batch, batch * calls);
        const torchMs = typeof t === 'string' ? undefined : (t.seconds * 1000) / (batch * calls);
        if (typeof t === 'string') skipped.push({ model: name, runtime: 'torch', reason: t });
        else rows.push({ model: name, batch, runtime: 'torch', meanMs: torchMs! * batch, msPerSample: torchMs, samplesPerSec: t.samples_per_s, repeats: calls, note: `torch ${t.version}, ${t.threads} threads, ${t.blas}, best of ${PASSES} timed passes after one warm-up pass` });
        const onnx = results.get(`onnx@${batch}`);
        const head = onnx
          ? `onnx ${onnx.msPerSample.toFixed(3)} ms/sample (p50 ${onnx.p50Ms.toFixed(3)}, p95 ${onnx.p95Ms.toFixed(3)} ms/call)`
          : `onnx not measured (${skipped.find((s) => s.model === name && s.runtime === 'onnx')?.reason ?? 'unknown'})`;
        const vsTorch = torchMs !== undefined
          ? ` vs torch ${torchMs.toFixed(3)} = ${ratio(torchMs, onnx?.msPerSample)} (goal 1.0x)`
          : ` (torch peer missing: ${t as string})`;
        const tfjsParts = runtimes.filter((r) => r !== 'onnx').map((rt) => {
          const r = results.get(`${rt}@${batch}`);
          return r ? `${rt} ${r.msPerSample.toFixed(3)} ms/sample (p50 ${r.p50Ms.toFixed(2)}, p95 ${r.p95Ms.toFixed(2)} ms) = ${ratio(torchMs, r.msPerSample)} of torch` : `${rt} not measured`;
        });
        lines.push(summary(`B6 infer-latency ${name} b${batch}: ${head}${vsTorch}; ${tfjsParts.join('; ')}`));
      }
    } finally {
      model.dispose();
    }
  }
  const path = writeResult('infer-latency', {
    id: 'B6',
    models: MODELS,
    batches: BATCHES,
    threads: THREADS,
    passes: PASSES,
    ratioDefinition: 'torch ms/sample divided by ours (> 1 means we are faster); ms/sample = mean call latency / batch',
    weights: 'untrained zoo models (seed 0): latency does not depend on the weight values',
    rows,
    coldStart: cold,
    skipped,
    summary: lines,
  });
  console.log(`wrote ${path}`);
}
