/**
 * B10 int8-deploy: fp32 ONNX vs weight-only int8 ONNX (DequantizeLinear on the weights, float
 * compute) vs static int8 ONNX (QDQ, calibrated on training data, integer kernels) on
 * onnxruntime-node, for the zoo `cnn`, `keras-kd-teacher`, `mobilenet-mini` (trained on MNIST
 * here, cached in .cache/) and the real fixture jsimluken-mnist (a BN conv net trained on MNIST,
 * input scaling from its SOURCE.md). Per model: p50 latency at batch 1 and 32 (the three variants
 * timed in alternating rounds in one session each), file bytes and gzipped bytes, accuracy on the
 * real MNIST test set, the ONNX checker, and onnxruntime's profiler per op type for fp32 and
 * static int8 at batch 32 (what the time goes to). Writes bench/results/int8-deploy.json.
 *
 * Env: INT8_TRAIN (training samples, default 12000), INT8_TEST (test images, default 10000),
 * INT8_ROUNDS (alternating timing rounds, default 12), INT8_THREADS (onnxruntime intra-op
 * threads, default 1), INT8_CALIBRATOR (minmax | percentile | entropy, default minmax),
 * INT8_MODELS (comma list), INT8_RETRAIN=1 ignores the cached trained models.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { peerScript } from '../scripts/peers.js';
import { setBackend } from '../src/backend/index.js';
import { loadDataArg } from '../src/cli/data-arg.js';
import type { TensorDataset } from '../src/data/dataset.js';
import { inputScaling, type InputScaling } from '../src/data/transform.js';
import { exportOnnx, exportOnnxStaticInt8, type CalibrationMethod, type StaticInt8Report } from '../src/export/index.js';
import { loadLayersModel } from '../src/model/load.js';
import { saveLayersModel } from '../src/model/io.js';
import { buildZooModel } from '../src/model/zoo.js';
import { train } from '../src/train/index.js';
import { gzipSize } from '../src/util/gzip.js';
import { envInt, summary, writeResult } from './common.js';
import { scalingFromSource } from './real-models-shared.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURE = join(root, '..', 'shared', 'fixtures', 'real-models', 'jsimluken-mnist');
const VARIANTS = ['fp32', 'int8-weights', 'int8-static'] as const;
type Variant = (typeof VARIANTS)[number];
const EPOCHS: Record<string, number> = { cnn: 2, 'keras-kd-teacher': 1, 'mobilenet-mini': 3 };

interface Subject {
  name: string;
  model: tf.LayersModel;
  scaling?: InputScaling;
  source: string;
}

/** A zoo model trained on MNIST (cached in .cache/int8-deploy/<name> so a re-run skips training). */
async function trainedZoo(name: string, trainN: number): Promise<Subject> {
  const cache = join(root, '.cache', 'int8-deploy', `${name}-${trainN}`);
  if (existsSync(join(cache, 'model.json')) && process.env.INT8_RETRAIN !== '1') {
    return { name, model: (await loadLayersModel(cache, { command: 'bench' })).model, source: `zoo:${name} trained on ${trainN} MNIST images (cached)` };
  }
  const model = buildZooModel(name, { seed: 1 });
  const { train: data } = await loadDataArg('mnist', { limit: trainN, testLimit: 1 });
  const t0 = performance.now();
  await train(model, data, { epochs: EPOCHS[name] ?? 1, batchSize: 64 });
  console.log(`  trained ${name}: ${EPOCHS[name] ?? 1} epoch(s) on ${trainN} images in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  mkdirSync(dirname(cache), { recursive: true });
  await saveLayersModel(model, cache);
  return { name, model, source: `zoo:${name} trained ${EPOCHS[name] ?? 1} epoch(s) on ${trainN} MNIST images` };
}

/** The real fixture: jsimluken's BN conv net (layers model), with the input scaling its SOURCE.md states. */
async function fixture(): Promise<Subject> {
  const src = scalingFromSource(readFileSync(join(FIXTURE, 'SOURCE.md'), 'utf8'));
  if (!src) throw new Error(`${FIXTURE}/SOURCE.md: no input scaling found`);
  const model = (await loadLayersModel(join(FIXTURE, 'web_model'), { command: 'bench' })).model;
  return { name: 'jsimluken-mnist', model, scaling: inputScaling({ scale: src.scale, offset: src.offset }), source: `../shared/fixtures/real-models/jsimluken-mnist/web_model, input ${src.expression}` };
}

const tensorOf = (ds: TensorDataset, shape: number[]) => tf.tensor(ds.x, [ds.size, ...shape]);
const labelsOf = (ds: TensorDataset) => ds.labels ?? (tf.tidy(() => tf.tensor(ds.y, [ds.size, ...ds.yShape]).argMax(-1).dataSync()) as Int32Array);

async function session(bytes: Uint8Array, threads: number, extra: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', ...extra });
}

async function accuracy(s: ort.InferenceSession, x: Float32Array, shape: number[], labels: ArrayLike<number>): Promise<number> {
  const per = shape.reduce((a, b) => a * b, 1);
  let ok = 0;
  for (let i = 0; i < labels.length; i += 256) {
    const n = Math.min(256, labels.length - i);
    const out = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x.slice(i * per, (i + n) * per), [n, ...shape]) });
    const y = out[s.outputNames[0]!]!.data as Float32Array;
    const k = y.length / n;
    for (let j = 0; j < n; j++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (y[j * k + c]! > y[j * k + best]!) best = c;
      if (best === labels[i + j]) ok++;
    }
  }
  return ok / labels.length;
}

const p50 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

interface ProfileEntry {
  op: string;
  us: number;
  share: number;
}

/** onnxruntime's profiler at batch 32: median kernel microseconds per run by node, and their sums by op type, sorted. */
async function profile(bytes: Uint8Array, threads: number, feed: ort.Tensor, runs: number): Promise<{ byOp: ProfileEntry[]; byNode: ProfileEntry[] }> {
  const dir = mkdtempSync(join(os.tmpdir(), 'b10-prof-'));
  try {
    const s = await session(bytes, threads, { enableProfiling: true, profileFilePrefix: join(dir, 'p') });
    for (let i = 0; i < runs; i++) await s.run({ [s.inputNames[0]!]: feed });
    s.endProfiling();
    await s.release();
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) return { byOp: [], byNode: [] };
    const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
    // Median per node over the runs (one stray slow run on a shared machine would dominate a mean).
    const runsOf = new Map<string, number[]>();
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
      const node = `${e.name.slice(0, -'_kernel_time'.length)} (${e.args?.op_name ?? '?'})`;
      runsOf.set(node, [...(runsOf.get(node) ?? []), e.dur]);
    }
    const byNode = new Map([...runsOf].map(([k, d]) => [k, p50(d)] as const));
    const byOp = new Map<string, number>();
    for (const [k, us] of byNode) {
      const op = k.slice(k.lastIndexOf('(') + 1, -1);
      byOp.set(op, (byOp.get(op) ?? 0) + us);
    }
    const total = [...byOp.values()].reduce((a, b) => a + b, 0);
    const list = (m: Map<string, number>) => [...m].map(([op, us]) => ({ op, us: Math.round(us * 10) / 10, share: us / total })).sort((a, b) => b.us - a.us);
    return { byOp: list(byOp), byNode: list(byNode) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function onnxCheck(files: string[]): boolean[] {
  const r = spawnSync('/usr/bin/python3', [process.env.ONNX_CHECK ?? peerScript('onnx_check.py'), ...files], { encoding: 'utf8' });
  const recs = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { ok: boolean });
  if (recs.length !== files.length) throw new Error(`onnx_check failed to run: ${r.stderr || r.error?.message}`);
  return recs.map((x) => x.ok);
}

const profileText = (p: ProfileEntry[], n = 6) => p.slice(0, n).map((e) => `${e.op} ${(e.us / 1000).toFixed(3)} ms (${(e.share * 100).toFixed(0)}%)`).join(', ');

/** Run B10 and write bench/results/int8-deploy.json. */
export default async function run(): Promise<void> {
  await setBackend('auto');
  const trainN = envInt('INT8_TRAIN', 12000);
  const testN = envInt('INT8_TEST', 10000);
  const rounds = envInt('INT8_ROUNDS', 12);
  const threads = envInt('INT8_THREADS', 1);
  const calibrator = (process.env.INT8_CALIBRATOR ?? 'minmax') as CalibrationMethod;
  const wanted = (process.env.INT8_MODELS ?? 'cnn,keras-kd-teacher,mobilenet-mini,jsimluken-mnist').split(',');
  const tmp = mkdtempSync(join(os.tmpdir(), 'b10-'));
  const rows: Record<string, unknown>[] = [];
  const lines: string[] = [];
  try {
    for (const name of wanted) {
      const subj = name === 'jsimluken-mnist' ? await fixture() : await trainedZoo(name, trainN);
      const model = subj.model;
      const shape = model.inputs[0]!.shape.slice(1) as number[];
      // Calibration (512) and sensitivity (1000) samples come from the TRAIN split; accuracy from the test split.
      const { train: trainDs, test: testDs } = await loadDataArg('mnist', { limit: 1512, testLimit: testN, scaling: subj.scaling });
      const cal = tensorOf(trainDs.take(512), shape);
      const held = trainDs.select(Array.from({ length: trainDs.size - 512 }, (_, i) => 512 + i));
      const valX = tensorOf(held, shape);
      const testX = tensorOf(testDs, shape);
      const testLabels = labelsOf(testDs);
      const probe = testX.slice([0], [64]);
      try {
        const fp32 = await exportOnnx(model, { verify: { inputs: probe } });
        const w8 = await exportOnnx(model, { weights: 'int8', verify: { inputs: probe } });
        const t0 = performance.now();
        const s8 = await exportOnnxStaticInt8(model, { calibration: [cal], calibrator, perChannel: true, validation: { xs: [valX], labels: labelsOf(held) } });
        const exportSeconds = (performance.now() - t0) / 1000;
        const bytes: Record<Variant, Uint8Array> = { fp32: fp32.bytes, 'int8-weights': w8.bytes, 'int8-static': s8.bytes };
        const files = VARIANTS.map((v) => join(tmp, `${name}-${v}.onnx`));
        VARIANTS.forEach((v, i) => writeFileSync(files[i]!, bytes[v]));
        const checks = onnxCheck(files);
        const sessions = Object.fromEntries(await Promise.all(VARIANTS.map(async (v) => [v, await session(bytes[v], threads)] as const))) as Record<Variant, ort.InferenceSession>;
        const xAll = Float32Array.from(testX.dataSync());
        const acc = {} as Record<Variant, number>;
        for (const v of VARIANTS) acc[v] = await accuracy(sessions[v], xAll, shape, testLabels);
        // Latency: the three variants alternate within every round, both batch sizes, real test images.
        const per = shape.reduce((a, b) => a * b, 1);
        const feeds = Object.fromEntries([1, 32].map((b) => [b, new ort.Tensor('float32', xAll.slice(0, b * per), [b, ...shape])])) as Record<number, ort.Tensor>;
        const times: Record<string, number[]> = {};
        for (let r = -1; r < rounds; r++) {
          for (const v of VARIANTS) {
            for (const b of [1, 32]) {
              const calls = b === 1 ? 20 : 4;
              for (let c = 0; c < calls; c++) {
                const a = performance.now();
                await sessions[v].run({ [sessions[v].inputNames[0]!]: feeds[b]! });
                // Round -1 is warm-up.
                if (r >= 0) (times[`${v}@${b}`] ??= []).push(performance.now() - a);
              }
            }
          }
        }
        await Promise.all(VARIANTS.map((v) => sessions[v].release()));
        const lat = (v: Variant, b: number) => p50(times[`${v}@${b}`]!);
        const prof = { fp32: await profile(bytes.fp32, threads, feeds[32]!, 30), 'int8-static': await profile(bytes['int8-static'], threads, feeds[32]!, 30) };
        const size = (v: Variant) => ({ bytes: bytes[v].length, gzipBytes: gzipSize(bytes[v]) });
        const speed1 = lat('fp32', 1) / lat('int8-static', 1);
        const speed32 = lat('fp32', 32) / lat('int8-static', 32);
        const drop = (acc.fp32 - acc['int8-static']) * 100;
        const goal = speed32 >= 2 && drop <= 0.5;
        const r8 = s8.report as StaticInt8Report;
        rows.push({
          model: name,
          source: subj.source,
          params: model.countParams(),
          latencyP50Ms: Object.fromEntries(VARIANTS.map((v) => [v, { b1: lat(v, 1), b32: lat(v, 32) }])),
          samplesTimed: Object.fromEntries(Object.entries(times).map(([k, t]) => [k, t.length])),
          accuracy: acc,
          sizes: Object.fromEntries(VARIANTS.map((v) => [v, size(v)])),
          onnxCheck: Object.fromEntries(VARIANTS.map((v, i) => [v, checks[i]])),
          speedupB1: speed1,
          speedupB32: speed32,
          accuracyDropPp: drop,
          goalMet: goal,
          static: {
            exportSeconds,
            calibrator,
            perChannel: true,
            quantizedNodes: r8.quantizedNodes.length,
            floatNodes: r8.floatNodes,
            foldedBatchNorms: r8.foldedBatchNorms,
            foldedActivations: r8.foldedActivations,
            runtimeOpCounts: r8.runtimeOpCounts,
            sensitivity: r8.sensitivity && { ...r8.sensitivity, steps: r8.sensitivity.steps.length },
            kernelCheck: r8.kernelCheck,
          },
          profileB32Us: prof,
        });
        const pct = (a: number) => `${(a * 100).toFixed(2)}%`;
        const kb = (v: Variant) => `${(size(v).bytes / 1024).toFixed(0)}/${(size(v).gzipBytes / 1024).toFixed(0)} KiB`;
        const line = summary(
          `B10 int8-deploy ${name}: static int8 p50 b1 ${lat('int8-static', 1).toFixed(3)} ms vs fp32 ${lat('fp32', 1).toFixed(3)} ms = ${speed1.toFixed(2)}x, ` +
            `b32 ${lat('int8-static', 32).toFixed(2)} ms vs ${lat('fp32', 32).toFixed(2)} ms = ${speed32.toFixed(2)}x (weight-only int8 b32 ${lat('int8-weights', 32).toFixed(2)} ms); ` +
            `acc ${pct(acc.fp32)} -> ${pct(acc['int8-static'])} (drop ${drop.toFixed(2)} pp; weight-only ${pct(acc['int8-weights'])}); ` +
            `bytes/gzip fp32 ${kb('fp32')}, weight-only ${kb('int8-weights')}, static ${kb('int8-static')}; ` +
            `onnx_check ${checks.every(Boolean) ? 'ok' : 'FAIL'}; goal >= 2x b32 at <= 0.5 pp: ${goal ? 'met' : 'NOT met'}`,
        );
        lines.push(line);
        console.log(`  profile b32 fp32 by op: ${profileText(prof.fp32.byOp)}`);
        console.log(`  profile b32 int8-static by op: ${profileText(prof['int8-static'].byOp)}`);
        if (!goal) {
          // What is left: the nodes the time goes to, on both sides.
          console.log(`  profile b32 fp32 by node: ${profileText(prof.fp32.byNode, 8)}`);
          console.log(`  profile b32 int8-static by node: ${profileText(prof['int8-static'].byNode, 8)}`);
        }
        if (r8.floatNodes.length) console.log(`  kept float by the sensitivity pass: ${r8.floatNodes.map((n) => n.name).join(', ')}`);
        writeResult('int8-deploy', {
          id: 'B10',
          rounds,
          threads,
          testImages: testN,
          calibration: '512 MNIST training images; sensitivity on the next 1000 training images; accuracy on the MNIST test set',
          latency: 'p50 of per-call wall time, onnxruntime-node CPU provider, ORT_ENABLE_ALL, the three variants alternating in every round',
          rows,
          summary: lines,
        });
      } finally {
        [cal, valX, testX, probe].forEach((t) => t.dispose());
        model.dispose();
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  run().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
