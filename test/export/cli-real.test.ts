import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../helpers/backend.js';
import { runExportCli } from './cli-helpers.js';
import { disposeModel, loadWithStockTfjs, maxAbsDiff, onnxCheck } from './helpers.js';
import { REAL_MODELS } from '../helpers/fixtures.js';

/* `tfjs-compress export` on the real fixtures: Keras files, recurrent models, converted graph models, refusals. */

const FIXTURES = REAL_MODELS;
const dir = mkdtempSync(join(tmpdir(), 'export-cli-real-'));

const run = runExportCli;

beforeAll(async () => {
  await useBackend();
});

describe('tfjs-compress export on real models', () => {
  it('a Keras 2 .h5 file exports to ONNX (NCHW) with parity on real MNIST', async () => {
    const out = join(dir, 'tiny.onnx');
    const text = await run(['--model', join(FIXTURES, 'jsimluken-mnist/tiny_mnist.h5'), '--format', 'onnx', '--nchw', '--samples', '16', '--out', out]);
    expect(text).toMatch(/ONNX opset 13 \(IR 8\), \d+ nodes, weights float32, NCHW/);
    expect(text).toMatch(/parity \(onnxruntime-node vs tfjs, 16 MNIST test images\): max\|diff\| \S+ <= 0.0001 ok/);
    const check = onnxCheck([out]);
    expect(check.status, check.out).toBe(0);
  });

  it('--input-* flags scale the MNIST parity images and travel with the export (model.json, ONNX metadata_props)', async () => {
    const web = join(dir, 'scaled-web');
    const scaling = ['--input-scale', '0.0078125', '--input-offset', '-0.99609375'];
    const text = await run(['--model', join(FIXTURES, 'jsimluken-mnist/web_model'), '--format', 'tfjs', ...scaling, '--samples', '8', '--out', web]);
    expect(text).toMatch(/8 MNIST test images, input scaling x \* 0.0078125 \+ -0.996094 \(from the command line\)/);
    const meta = JSON.parse(readFileSync(join(web, 'model.json'), 'utf8')).userDefinedMetadata;
    expect(meta['tfjsCompress.inputScaling']).toEqual({ scale: 0.0078125, offset: -0.99609375 });
    // A later export reads it back from the model without flags, and ONNX users find it in metadata_props.
    const onnx = join(dir, 'scaled.onnx');
    expect(await run(['--model', web, '--format', 'onnx', '--samples', '8', '--out', onnx])).toMatch(/8 MNIST test images, input scaling .* \(from the model's metadata\)/);
    const check = onnxCheck([onnx]);
    expect(check.status, check.out).toBe(0);
    // onnxruntime-node has no metadata API: protobuf stores the key and value strings verbatim.
    const bytes = readFileSync(onnx).toString('latin1');
    expect(bytes).toContain('tfjsCompress.inputScaling');
    expect(bytes).toContain('{"scale":0.0078125,"offset":-0.99609375}');
  });

  it('the LSTM text generator exports to ONNX and to uint8 tfjs files stock tfjs reloads', async () => {
    const onnx = join(dir, 'lstm.onnx');
    expect(await run(['--model', join(FIXTURES, 'reiinakano-lstm-textgen'), '--format', 'onnx', '--samples', '8', '--out', onnx])).toMatch(/<= 0.0001 ok/);
    const web = join(dir, 'lstm-web');
    const text = await run(['--model', join(FIXTURES, 'reiinakano-lstm-textgen'), '--format', 'tfjs', '--quantize', 'uint8', '--samples', '8', '--out', web]);
    expect(text).toMatch(/5\/5 weights uint8/);
    const m = await loadWithStockTfjs(web);
    expect(m.layers.map((l) => l.getClassName())).toEqual(['LSTM', 'Dense', 'Activation']);
    disposeModel(m);
  });

  it('a converted graph model keeps its provenance metadata in the tfjs export', async () => {
    const web = join(dir, 'graph-web');
    const text = await run(['--model', join(FIXTURES, 'jsimluken-mnist/web_model2'), '--format', 'tfjs', '--samples', '8', '--out', web]);
    expect(text).toMatch(/graph -> layers: .* ok/);
    expect(text).toMatch(/20 weights float32/);
    const json = JSON.parse(readFileSync(join(web, 'model.json'), 'utf8'));
    expect(json.userDefinedMetadata.convertedFromGraphModel.parityMaxAbsDiff).toBeLessThan(1e-4);
    // The layers twin has identical weights: the rebuilt model must agree with it.
    const a = await loadWithStockTfjs(web);
    const b = await loadWithStockTfjs(join(FIXTURES, 'jsimluken-mnist/web_model'));
    const x = tf.randomUniform([4, 28, 28, 1], -1, 1, 'float32', 5);
    const d = tf.tidy(() => maxAbsDiff((a.predict(x) as tf.Tensor).dataSync(), (b.predict(x) as tf.Tensor).dataSync()));
    expect(d).toBeLessThan(1e-5);
    x.dispose();
    disposeModel(a);
    disposeModel(b);
  });

  it('refuses in one line what it cannot export, writing nothing', async () => {
    const onnx = join(dir, 'lstm.onnx');
    const out = join(dir, 'never');
    const expectOneLine = async (args: string[], msg: RegExp) => {
      const err = await run([...args, '--out', out]).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(msg);
      expect(err!.message).not.toContain('\n');
    };
    await expectOneLine(['--model', onnx, '--format', 'tfjs'], /^export takes .*'.*lstm\.onnx' is an ONNX model$/);
    await expectOneLine(['--model', join(FIXTURES, 'missing.h5'), '--format', 'onnx'], /model not found: .*missing\.h5 does not exist/);
    expect(existsSync(out)).toBe(false);
    // The input is never the output: a layers-model folder, or the ONNX file itself.
    const web = join(FIXTURES, 'tfjs-e2e-embedding-gru');
    await expect(run(['--model', web, '--format', 'tfjs', '--out', web])).rejects.toThrow(/--out .* would overwrite the input model .*; choose another folder/);
    const h5 = join(FIXTURES, 'jsimluken-mnist/tiny_mnist.h5');
    await expect(run(['--model', h5, '--format', 'onnx', '--out', h5])).rejects.toThrow(/would overwrite the input model .*; choose another file/);
  });
});
