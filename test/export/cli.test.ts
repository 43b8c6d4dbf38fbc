import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../helpers/backend.js';
import { runExportCli } from './cli-helpers.js';
import { onnxCheck } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'export-cli-'));

const run = runExportCli;

beforeAll(async () => {
  await useBackend();
});

describe('tfjs-compress export', () => {
  it('onnx: prints bytes, gzipped bytes and the onnxruntime parity on MNIST', async () => {
    const out = join(dir, 'cnn.onnx');
    const text = await run(['--model', 'zoo:tfmot-cnn', '--format', 'onnx', '--quantize', 'int8', '--samples', '16', '--out', out]);
    expect(text).toMatch(/ONNX opset 13 \(IR 8\).*weights int8/);
    expect(text).toMatch(/bytes [\d,]+, gzipped [\d,]+/);
    expect(text).toMatch(/parity \(onnxruntime-node vs tfjs, 16 MNIST test images\): max\|diff\| \S+ <= 0.0001 ok/);
    const check = onnxCheck([out]);
    expect(check.status, check.out).toBe(0);
  });

  it('tfjs: writes model.json + shards and reports the reload parity', async () => {
    const out = join(dir, 'web');
    const text = await run(['--model', 'zoo:lenet300', '--format', 'tfjs', '--quantize', 'uint16', '--samples', '8', '--out', out]);
    expect(readdirSync(out).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
    expect(text).toMatch(/6\/6 weights uint16/);
    expect(text).toMatch(/parity \(stock tf.loadLayersModel vs original, 8 MNIST test images\): max\|diff\| \S+ \(quantization error\)/);
  });

  it('rejects mismatched options with clear errors and writes nothing', async () => {
    const out = join(dir, 'bad.onnx');
    await expect(run(['--model', 'zoo:mlp', '--format', 'onnx', '--quantize', 'uint8', '--out', out])).rejects.toThrow(
      /--quantize 'uint8' is not available for --format onnx: expected float16 or int8/,
    );
    await expect(run(['--model', 'zoo:mlp', '--format', 'keras', '--out', out])).rejects.toThrow(/unknown --format 'keras'/);
    await expect(run(['--model', 'zoo:mlp', '--format', 'onnx', '--opset', '12', '--out', out])).rejects.toThrow(/opset must be an integer from 13 to 17/);
    expect(existsSync(out)).toBe(false);
  });
});
