import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/select.js';
import { buildZooModel } from '../../src/model/zoo.js';
import { quantizeModel } from '../../src/quantize/index.js';
import { packModel } from '../../src/serialize/encoder.js';
import * as browser from '../../src/serialize/browser.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// tfjs-core: type-only imports of the runtime (src/runtime) that browser.ts re-exports.
const ALLOWED_PACKAGES = new Set(['@tensorflow/tfjs', '@tensorflow/tfjs-core', 'pako']);

/** Follow static imports from `entry`; returns every local source file and every package imported. */
function importGraph(entry: string): { files: Map<string, string>; packages: Set<string> } {
  const files = new Map<string, string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    // Comments are ignored (TSDoc examples may mention imports).
    const src = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    files.set(file, src);
    for (const m of src.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec);
    }
  };
  visit(entry);
  return { files, packages };
}

describe('browser decode path', () => {
  let packed: Uint8Array;
  let reference: tf.LayersModel;

  beforeAll(async () => {
    await setBackend('cpu');
    const m = buildZooModel('lenet5', { seed: 4 });
    const r = await quantizeModel(m, { mode: 'int8-channel' });
    reference = r.model;
    packed = await packModel(r.model, { quantized: r.quantized });
  });

  it('the decoder module graph imports only tfjs, pako and its own pure files (no node:, fs, Buffer, process)', () => {
    const { files, packages } = importGraph(resolve(root, 'src/serialize/browser.ts'));
    expect(files.size).toBeGreaterThan(5);
    expect([...files.keys()].some((f) => f.endsWith('decoder.ts'))).toBe(true);
    for (const p of packages) expect(ALLOWED_PACKAGES.has(p), `package '${p}'`).toBe(true);
    for (const [file, code] of files) {
      for (const banned of [/\bBuffer\b/, /\brequire\s*\(/, /\bprocess\./, /['"]node:/, /['"]fs['"]/, /\b__dirname\b/]) {
        expect(banned.test(code), `${file} uses ${banned}`).toBe(false);
      }
    }
  });

  it('decodes a plain Uint8Array with Node globals hidden, through tf.loadLayersModel', async () => {
    const plain = new Uint8Array(packed.length);
    plain.set(packed); // a plain Uint8Array, not a Buffer
    const g = globalThis as { Buffer?: unknown };
    const saved = g.Buffer;
    let artifacts: tf.io.ModelArtifacts;
    try {
      g.Buffer = undefined;
      artifacts = browser.unpackArtifacts(plain);
    } finally {
      g.Buffer = saved;
    }
    const model = await tf.loadLayersModel(browser.fromContainer(plain));
    const a = reference.getWeights().map((t) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer)));
    const b = model.getWeights().map((t) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer)));
    expect(b).toEqual(a);
    expect(new Uint8Array(artifacts!.weightData as ArrayBuffer).length).toBe(reference.countParams() * 4);
    model.dispose();
  });
});
