/**
 * B11 `fuzz`: thousands of mutated inputs per format through the public loaders (the one model
 * loader for layers/graph model folders and `.tfjsc` containers, `loadRecipeFile`, `readNpy` +
 * `loadNpyDataset`, `readIdx`, `loadImageFolder`). Formats, mutations and judges are in
 * test/fuzz/harness/ (the suite runs a few hundred of the same cases per format in process).
 *
 * Each format runs in a child process, case by case, so the parent sees deaths and stalls. Every
 * case ends in exactly one class:
 * - clean: the input loaded as the same model/data as the original, or as a valid different one
 *   (a change the format cannot detect: a same-length byte change inside an unchecksummed tfjs
 *   shard or .npy/IDX data, a spec-valid edit of model.json or a recipe; counted separately as
 *   "undetectable"), or it was refused with one line that names the file (or field) and is not an
 *   engine/library internals message.
 * - unclear: refused with a message that names nothing (no file name) or is an internals message
 *   (`Cannot read properties of undefined`, `is not a function`, `Maximum call stack size
 *   exceeded`, `Invalid typed array length`, `[object Object]`, `NaN`...; list in
 *   test/fuzz/harness/classify.ts).
 * - crash: the child process died or an error escaped (uncaught exception, unhandled rejection).
 * - hang: one case took longer than HANG_MS.
 * - garbage: the load succeeded but outputs differ from the original although the mutation was
 *   detectable (a shard or container of another length, any container byte (CRC-32 covered), any
 *   PNG byte (chunk CRC), a model.json that stock tfjs refuses or reads differently, an .npy file
 *   numpy refuses or reads differently, an IDX file its definition refuses or reads differently,
 *   a symlink out of an image folder that was followed).
 * - memory: the case left tensors allocated, or raised the child's peak RSS more than MEMORY_MB
 *   above its level after the format's setup.
 *
 * `npm run bench -- fuzz` runs every format; FUZZ_CASES=N sets the cases per format (default
 * 3000, 2000 for the slower graph and image formats), FUZZ_FORMATS=a,b picks formats.
 * `FUZZ_FORMATS=selftest FUZZ_HANG_MS=3000` checks the harness itself: six cases that end clean,
 * abort the process, hang, reject unhandled and allocate 1 GB must come out as
 * `clean 2 / unclear 0 / crash 2 / hang 1 / garbage 0 / memory 1`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { writeResult } from './common.js';

const HANG_MS = Number(process.env.FUZZ_HANG_MS ?? 30_000);
const MEMORY_MB = 512;
const SEED = 1911;
const here = fileURLToPath(import.meta.url);

type Verdict = 'clean' | 'unclear' | 'crash' | 'hang' | 'garbage' | 'memory';
interface CaseLine {
  index: number;
  verdict: Verdict;
  message?: string;
  undetectable?: boolean;
  ms: number;
}

function defaultCases(format: string): number {
  if (process.env.FUZZ_CASES) return Number(process.env.FUZZ_CASES);
  return format === 'graph' || format === 'image-folder' ? 2000 : 3000;
}

/** The harness's own check: one case of each way a case can end badly. */
function selftest(): import('../test/fuzz/harness/types.js').FuzzFormat<number> {
  return {
    name: 'selftest',
    cases: fc.nat({ max: 5 }).map((n) => n),
    async setup() {},
    async run(_c, caseDir) {
      const i = Number(caseDir.slice(caseDir.lastIndexOf('-') + 1));
      if (i === 1) process.abort();
      if (i === 3) for (;;);
      if (i === 4) void Promise.reject(new Error('nobody catches this'));
      if (i === 4) await new Promise((r) => setTimeout(r, 100));
      if (i === 5) (globalThis as { hold?: Buffer }).hold = Buffer.alloc(1 << 30, 1);
      return { verdict: 'clean' };
    },
  };
}

/** Child mode: run cases `from..count-1` of one format, one JSON line per case. */
async function child(format: string, count: number, from: number): Promise<void> {
  const tf = await import('@tensorflow/tfjs');
  const { setBackend } = await import('../src/backend/select.js');
  const { FUZZ_FORMATS } = await import('../test/fuzz/harness/formats.js');
  const { drawCases, runOne } = await import('../test/fuzz/harness/run.js');
  await setBackend('cpu');
  const f = format === 'selftest' ? selftest() : FUZZ_FORMATS[format]!();
  const root = mkdtempSync(join(tmpdir(), `b11-${format}-`));
  const die = (what: string) => (err: unknown) => {
    process.stdout.write(`X ${JSON.stringify({ what, message: String((err as Error)?.stack ?? err).slice(0, 500) })}\n`);
    process.exit(70);
  };
  process.on('uncaughtException', die('uncaught exception'));
  process.on('unhandledRejection', die('unhandled rejection'));
  const cases = drawCases(f, SEED, count);
  const base = join(root, 'original');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(base, { recursive: true });
  await f.setup(base);
  // prepare() sees the cases this child will run, in order (its per-case state is consumed in that order).
  await f.prepare?.(cases.slice(from), root);
  const baseline = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`B ${JSON.stringify({ baselineMB: Math.round(baseline), tensors: tf.memory().numTensors })}\n`);
  for (let i = from; i < count; i++) {
    process.stdout.write(`S ${i}\n`);
    const o = await runOne(f, cases[i], i, root);
    const peak = process.resourceUsage().maxRSS / 1024;
    let verdict = o.verdict;
    let message = o.message;
    if (peak - baseline > MEMORY_MB && verdict !== 'crash') {
      verdict = 'memory';
      message = `peak RSS ${Math.round(peak)} MB, ${Math.round(peak - baseline)} MB over the ${Math.round(baseline)} MB after setup: ${o.message ?? 'success'}`;
    }
    const line: CaseLine = { index: i, verdict, message: message?.slice(0, 400), undetectable: o.undetectable, ms: Math.round(o.ms) };
    process.stdout.write(`R ${JSON.stringify(line)}\n`);
    // maxRSS only grows: after a memory verdict, start over so later cases are measured afresh.
    if (verdict === 'memory') break;
  }
  f.teardown?.();
  rmSync(root, { recursive: true, force: true });
  process.exit(0);
}

/** Run one format's cases in child processes, restarting after a crash, hang or memory verdict. */
async function runFormat(format: string, count: number): Promise<CaseLine[]> {
  const results: CaseLine[] = [];
  let next = 0;
  while (next < count) {
    const from = next;
    await new Promise<void>((resolveRun) => {
      const tsx = join(here, '..', '..', 'node_modules', '.bin', 'tsx');
      const proc = spawn(tsx, [here, '--child', format, String(count), String(from)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let open: number | undefined;
      let timer: NodeJS.Timeout | undefined;
      let fatal = '';
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          if (open !== undefined) {
            results.push({ index: open, verdict: 'hang', message: `over ${HANG_MS} ms`, ms: HANG_MS });
            next = open + 1;
            open = undefined;
          }
          proc.kill('SIGKILL');
        }, open === undefined ? 10 * HANG_MS : HANG_MS);
      };
      arm();
      proc.stderr.on('data', (d) => (fatal = (fatal + String(d)).slice(-2000)));
      createInterface({ input: proc.stdout }).on('line', (line) => {
        if (line.startsWith('S ')) {
          open = Number(line.slice(2));
          arm();
        } else if (line.startsWith('R ')) {
          const r = JSON.parse(line.slice(2)) as CaseLine;
          results.push(r);
          next = r.index + 1;
          open = undefined;
          arm();
        } else if (line.startsWith('X ')) fatal = line.slice(2);
      });
      proc.on('exit', () => {
        clearTimeout(timer);
        if (open !== undefined) {
          results.push({ index: open, verdict: 'crash', message: `child died: ${fatal.slice(-300)}`, ms: 0 });
          next = open + 1;
        } else if (next === from && results.every((r) => r.index < from)) {
          // Died before its first case (setup): nothing can run; report and stop.
          results.push({ index: from, verdict: 'crash', message: `setup failed: ${fatal.slice(-300)}`, ms: 0 });
          next = count;
        }
        resolveRun();
      });
    });
  }
  return results;
}

/** `npm run bench -- fuzz`. */
export default async function run(): Promise<void> {
  const { FUZZ_FORMATS } = await import('../test/fuzz/harness/formats.js');
  const names = process.env.FUZZ_FORMATS ? process.env.FUZZ_FORMATS.split(',') : Object.keys(FUZZ_FORMATS);
  const selfTestOnly = names.length === 1 && names[0] === 'selftest';
  const summary: string[] = [];
  const rows: Record<string, unknown>[] = [];
  for (const format of names) {
    const count = format === 'selftest' ? 6 : defaultCases(format);
    const t0 = performance.now();
    const results = await runFormat(format, count);
    const t: Record<Verdict, number> = { clean: 0, unclear: 0, crash: 0, hang: 0, garbage: 0, memory: 0 };
    for (const r of results) t[r.verdict]++;
    const undetectable = results.filter((r) => r.undetectable).length;
    const line = `B11 fuzz ${format}: ${results.length} cases, clean ${t.clean} / unclear ${t.unclear} / crash ${t.crash} / hang ${t.hang} / garbage ${t.garbage} / memory ${t.memory}`;
    console.log(line);
    console.log(`  ${undetectable} of the clean cases loaded a valid changed file (undetectable change); ${((performance.now() - t0) / 1000).toFixed(0)} s; slowest case ${Math.max(...results.map((r) => r.ms))} ms`);
    const bad = results.filter((r) => r.verdict !== 'clean');
    for (const r of bad.slice(0, 8)) console.log(`  #${r.index} ${r.verdict}: ${r.message ?? ''}`);
    summary.push(line);
    rows.push({ format, cases: results.length, ...t, undetectable, examples: bad.slice(0, 20) });
  }
  if (!selfTestOnly) writeResult('fuzz', { seed: SEED, hangMs: HANG_MS, memoryMB: MEMORY_MB, formats: rows, summary });
}

if (process.argv[2] === '--child') await child(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));
