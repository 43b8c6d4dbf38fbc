/**
 * The runtime entry bundles for the browser: esbuild (platform=browser) follows every import of
 * src/runtime/index.ts; any Node built-in (`node:*`, `fs`, `worker_threads`, ...) fails the test,
 * and tfjs must stay outside the bundle (the page brings its own).
 */
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as runtime from '../../src/runtime/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

describe('runtime entry', () => {
  it('bundles for platform=browser with no Node built-in and no tfjs code in its import graph', async () => {
    const nodeImports: string[] = [];
    const tfjsImports: string[] = [];
    const watch: Plugin = {
      name: 'watch-imports',
      setup(b) {
        b.onResolve({ filter: /.*/ }, (args) => {
          if (BUILTINS.has(args.path) || args.path.startsWith('node:')) nodeImports.push(`${args.path} (from ${args.importer.replace(root, '.')})`);
          if (args.path.startsWith('@tensorflow/')) tfjsImports.push(args.path);
          return undefined;
        });
      },
    };
    const r = await build({
      entryPoints: [join(root, 'src/runtime/index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
      external: ['@tensorflow/*'],
      plugins: [watch],
    });
    expect(nodeImports).toEqual([]);
    // Type-only tfjs imports are erased: nothing of tfjs is even referenced at run time.
    expect(tfjsImports).toEqual([]);
    const packages = new Set(Object.keys(r.metafile.inputs).filter((f) => f.includes('node_modules/')).map((f) => f.split('node_modules/').pop()!.split('/')[0]));
    expect([...packages]).not.toContain('@tensorflow');
    expect(Object.keys(r.metafile.inputs).some((f) => f.endsWith('src/serialize/decoder.ts'))).toBe(true);
  });

  it('exposes the decoder, the IOHandlers and the float16/int8/codebook decoders', () => {
    for (const name of ['fromContainer', 'fromContainerUrl', 'loadFromContainer', 'fetchContainer', 'unpackArtifacts', 'readContainer', 'decodeTensor',
      'isGraphArtifacts', 'dequantize', 'halfBitsToFloat32', 'fromHalfBits', 'channelLayout']) {
      expect(typeof (runtime as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('decodes float16, int8 (per channel) and codebook tensors to the values their definitions give', () => {
    // Hand-computed: binary16 0x3c00 = 1, 0xc000 = -2, 0x3555 = 0.333251953125, 0x0001 = 2^-24.
    expect(Array.from(runtime.fromHalfBits(Uint16Array.of(0x3c00, 0xc000, 0x3555, 0x0001)))).toEqual([1, -2, 0.333251953125, 2 ** -24]);
    const affine = runtime.dequantize({ kind: 'affine', shape: [2, 2], dtype: 'int8', q: Int8Array.of(-128, 127, 10, 0), scales: Float32Array.of(0.5, 2), zeroPoints: Int32Array.of(0, 10), axis: 1 });
    expect(Array.from(affine)).toEqual([-64, 234, 5, -20]);
    const codebook = runtime.dequantize({ kind: 'codebook', shape: [4], bits: 2, centroids: Float32Array.of(0.25, -1.5), assignments: Int16Array.of(1, -1, 0, 1) });
    expect(Array.from(codebook)).toEqual([-1.5, 0, 0.25, -1.5]);
  });

  it('fetchContainer names the URL and the HTTP status; fromContainerUrl decodes what it fetched', async () => {
    const notFound = (async () => new Response('nope', { status: 404, statusText: 'Not Found' })) as typeof fetch;
    await expect(runtime.fetchContainer('models/m.tfjsc', { fetch: notFound })).rejects.toThrow("cannot fetch container 'models/m.tfjsc': HTTP 404 Not Found");
    const refused = (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof fetch;
    await expect(runtime.fromContainerUrl('models/m.tfjsc', { fetch: refused }).load!()).rejects.toThrow("cannot fetch container 'models/m.tfjsc': Failed to fetch");
    const garbage = (async () => new Response(new Uint8Array(40))) as typeof fetch;
    await expect(runtime.fromContainerUrl('models/m.tfjsc', { fetch: garbage }).load!()).rejects.toThrow(/magic|container/i);
  });
});
