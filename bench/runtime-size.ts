/**
 * B12 runtime-size: bytes a web page downloads for the container decoder. Builds the shipped
 * script (`dist/tfjs-compress-runtime.min.js`, the exact tsup options of tsup.config.ts) into a
 * temp folder and measures it raw and gzipped (-9); the ESM build (`dist/runtime.js`, what a
 * bundler starts from) is measured too, bundled and minified as an app would ship it. Lists the
 * largest inputs so a regression names its cause. Goal: <= 20 KB gzipped.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build as esbuild } from 'esbuild';
import { build } from 'tsup';
import { runtimeModules, runtimeScript } from '../tsup.config.js';
import { summary, writeResult } from './common.js';

const GOAL_GZIP_BYTES = 20 * 1024;

interface Metafile {
  outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
}

/** Bytes in the output per package (node_modules) or per source file. */
function contributions(meta: Metafile): Array<{ input: string; bytes: number }> {
  const by = new Map<string, number>();
  for (const out of Object.values(meta.outputs)) {
    for (const [file, v] of Object.entries(out.inputs)) {
      const pkg = file.includes('node_modules/') ? file.split('node_modules/').pop()!.split('/') : null;
      const key = pkg ? (pkg[0]!.startsWith('@') ? `${pkg[0]}/${pkg[1]}` : pkg[0]!) : file;
      by.set(key, (by.get(key) ?? 0) + v.bytesInOutput);
    }
  }
  return [...by].map(([input, bytes]) => ({ input, bytes })).sort((a, b) => b.bytes - a.bytes);
}

/** Run the benchmark (see the file comment). */
export default async function main(): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), 'runtime-size-'));
  try {
    await build({ ...runtimeScript, outDir: out, sourcemap: false, metafile: true, silent: true, config: false });
    await build({ ...runtimeModules, format: ['esm'], outDir: join(out, 'esm'), sourcemap: false, silent: true, config: false });
    const script = readFileSync(join(out, 'tfjs-compress-runtime.min.js'));
    const meta = JSON.parse(readFileSync(join(out, 'metafile-iife.json'), 'utf8')) as Metafile;
    // What an app bundler makes of the ESM build (tfjs left to the app, as it is a peer).
    const app = await esbuild({
      stdin: { contents: `export * from ${JSON.stringify(join(out, 'esm', 'runtime.js'))};`, resolveDir: out },
      bundle: true, platform: 'browser', format: 'esm', minify: true, write: false, logLevel: 'silent', external: ['@tensorflow/*'],
    });
    const esm = app.outputFiles[0]!.contents;
    const figures = {
      script: { bytes: script.length, gzipBytes: gzipSync(script, { level: 9 }).length },
      esmBundled: { bytes: esm.length, gzipBytes: gzipSync(esm, { level: 9 }).length },
      goalGzipBytes: GOAL_GZIP_BYTES,
      largestInputs: contributions(meta).slice(0, 12),
    };
    writeResult('runtime-size', figures);
    console.log(`  largest inputs (minified bytes): ${figures.largestInputs.map((c) => `${c.input} ${c.bytes}`).join(', ')}`);
    const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
    const verdict = figures.script.gzipBytes <= GOAL_GZIP_BYTES ? 'within' : 'OVER';
    summary(`B12 runtime-size: bundle ${figures.script.bytes} bytes, gzipped ${figures.script.gzipBytes} bytes = ${kb(figures.script.gzipBytes)} (goal <= 20 KB gzipped: ${verdict}); ESM build bundled by an app: ${figures.esmBundled.bytes} bytes, gzipped ${figures.esmBundled.gzipBytes}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
