/**
 * `npm run bench` runs every benchmark module in this folder; `npm run bench -- infer-latency
 * export-parity` runs only those. A module is any `bench/*.ts` with a default-exported
 * `async function run()`; helpers (`common.ts`, `*-shared.ts`, this file) are skipped.
 */
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beginBenchmark } from './common.js';

const here = dirname(fileURLToPath(import.meta.url));
const isHelper = (f: string) => f === 'run.ts' || f === 'common.ts' || f.endsWith('-shared.ts') || f.endsWith('.d.ts');

/** Benchmark names available in bench/. */
export function benchmarkNames(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith('.ts') && !isHelper(f))
    .map((f) => basename(f, '.ts'))
    .sort();
}

async function main(args: string[]): Promise<void> {
  const all = benchmarkNames();
  const wanted = args.filter((a) => !a.startsWith('-'));
  const unknown = wanted.filter((w) => !all.includes(w));
  if (unknown.length) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const names = wanted.length ? wanted : all;
  const failed: string[] = [];
  for (const name of names) {
    const t0 = performance.now();
    console.log(`\n=== ${name} ===`);
    beginBenchmark();
    try {
      const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as { default?: unknown };
      if (typeof mod.default !== 'function') throw new Error(`bench/${name}.ts has no default-exported run() function`);
      await (mod.default as () => Promise<void>)();
      console.log(`=== ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s ===`);
    } catch (err) {
      failed.push(name);
      console.error(`=== ${name} FAILED: ${(err as Error).stack ?? (err as Error).message}`);
    }
  }
  if (failed.length) {
    console.error(`\n${failed.length} benchmark(s) failed: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
}

// Only run when executed directly (importing benchmarkNames must not start the suite).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main(process.argv.slice(2));
