/**
 * B9 real-models: every model of every fixture in ../shared/fixtures/real-models/ through every
 * step a user takes, run the way a user runs it: the CLI in a child process (info, eval, quantize,
 * pack/unpack, convert, prune, ONNX export + the ONNX checker, tfjs export), on a temp copy of
 * the fixture. Each step is pass, refused (one clear line naming what it cannot take), fail or
 * blocked (the step it reads from did not pass). Writes bench/results/real-models.json.
 *
 * Env: REAL_MODELS_ONLY=<fixture,...>, REAL_MODELS_STEPS=<step or family,...> (e.g.
 * `info,quantize`), REAL_MODELS_FIXTURES=<dir>, REAL_MODELS_KEEP=1 keeps the temp folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { peerScript } from '../scripts/peers.js';
import { currentBackend, setBackend } from '../src/backend/select.js';
import { measureFiles } from '../src/bench/size.js';
import { tfjsArtifactFiles } from '../src/bench/source.js';
import { summary, writeResult } from './common.js';
import {
  classifyOutcome,
  discoverModels,
  formatRows,
  lastJson,
  parsedParity,
  planSteps,
  scalingFlags,
  selectSteps,
  stepNames,
  stderrLines,
  summaryLine,
  totals,
  type FixtureModel,
  type PlanArgs,
  type Row,
  type Step,
} from './real-models-shared.js';

/** Test images behind every accuracy figure (the first N of the test split). */
const EVAL_LIMIT = 2000;
/** Training images of the fine-tuned 80% prune; epochs, schedule and learning rate are the prune command's defaults. */
const PRUNE_TRAIN_LIMIT = 10000;
/** Per-step timeout in seconds; the fine-tuned prune gets its own. A timeout kills the child's process group. */
const STEP_TIMEOUT_S = 300;
const FINE_TUNE_TIMEOUT_S = 1200;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PLAN: PlanArgs = { evalLimit: EVAL_LIMIT, pruneTrainLimit: PRUNE_TRAIN_LIMIT, timeoutS: STEP_TIMEOUT_S, fineTuneTimeoutS: FINE_TUNE_TIMEOUT_S };

/** What a child process left: exit code, the tail of its output, whether it timed out. */
export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  seconds: number;
}

/** Output kept from each child stream (the tail; a fine-tuning progress log can be long). */
const MAX_CAPTURE = 1 << 20;
const running = new Set<ChildProcess>();
const killGroup = (c: ChildProcess) => {
  try {
    if (c.pid) process.kill(-c.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
};
// A benchmark interrupted mid-step must not leave a training child behind.
process.on('exit', () => running.forEach(killGroup));

/**
 * Run a command in its own process group, killing the whole group (the command and anything it
 * started) after `timeoutS` seconds.
 *
 * @example
 * const r = await runChild(process.execPath, ['--version'], 10, process.cwd());
 */
export function runChild(cmd: string, args: string[], timeoutS: number, cwd: string): Promise<ChildResult> {
  const t0 = performance.now();
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    const out = { stdout: '', stderr: '' };
    const keep = (k: 'stdout' | 'stderr') => (d: Buffer) => {
      out[k] += d.toString('utf8');
      if (out[k].length > MAX_CAPTURE) out[k] = out[k].slice(-MAX_CAPTURE);
    };
    child.stdout!.on('data', keep('stdout'));
    child.stderr!.on('data', keep('stderr'));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, timeoutS * 1000);
    let finished = false;
    const finish = (code: number | null, spawnError?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      running.delete(child);
      if (spawnError) out.stderr += `\n${spawnError.message}`;
      done({ code, ...out, timedOut, seconds: (performance.now() - t0) / 1000 });
    };
    child.on('error', (err) => finish(null, err));
    child.on('close', (code) => finish(code));
  });
}

const cli = (args: string[], timeoutS: number) => runChild(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--quiet', ...args], timeoutS, root);

/** Bytes and gzipped bytes of a written model: a file, or a folder's model.json + weight files. */
function outputSize(path: string): { bytes: number; gzipBytes: number } {
  const files = statSync(path).isFile()
    ? [path]
    : existsSync(join(path, 'model.json'))
      ? tfjsArtifactFiles(path)
      : readdirSync(path).map((f) => join(path, f)).filter((f) => statSync(f).isFile());
  const s = measureFiles(files);
  return { bytes: s.totalBytes, gzipBytes: s.totalGzipBytes };
}

/** The string, number and boolean fields of a JSON object (the per-layer lists stay out of the results). */
function scalars(o: Record<string, unknown> | undefined): Row['json'] {
  if (!o) return undefined;
  const kept = Object.entries(o).filter((e): e is [string, string | number | boolean] => ['string', 'number', 'boolean'].includes(typeof e[1]));
  return kept.length ? Object.fromEntries(kept) : undefined;
}

/** Accuracy of a model with `eval` on the fixture's data and scaling, or the reason it has none. */
async function evalAccuracy(spec: string, m: FixtureModel): Promise<{ accuracy?: number; status: Row['status']; error?: string; seconds: number }> {
  const r = await cli(['eval', spec, '--data', m.dataset!, ...scalingFlags(m.scaling), '--limit', String(EVAL_LIMIT), '--json'], STEP_TIMEOUT_S);
  const c = classifyOutcome({ ...r, timeoutS: STEP_TIMEOUT_S }, [spec, basename(spec)]);
  const acc = lastJson(r.stdout)?.accuracy;
  if (c.status === 'pass' && typeof acc !== 'number') return { status: 'fail', error: 'eval printed no accuracy in its --json output', seconds: r.seconds };
  return { status: c.status, accuracy: acc as number | undefined, error: c.error, seconds: r.seconds };
}

/** The ONNX project's checker on one file, as its own step. */
async function onnxCheck(file: string, timeoutS: number): Promise<Pick<Row, 'status' | 'exitCode' | 'error' | 'seconds'>> {
  const script = process.env.ONNX_CHECK ?? peerScript('onnx_check.py');
  if (!existsSync(script) || !existsSync('/usr/bin/python3')) return { status: 'fail', error: `ONNX checker not available (${script} with /usr/bin/python3)`, seconds: 0 };
  const r = await runChild('/usr/bin/python3', [script, file], timeoutS, root);
  const rec = lastJson(r.stdout) as { ok?: boolean; error?: string } | undefined;
  if (r.timedOut) return { status: 'fail', error: `timed out after ${timeoutS} s`, seconds: r.seconds };
  if (rec?.ok === true && r.code === 0) return { status: 'pass', exitCode: r.code, seconds: r.seconds };
  return { status: 'fail', exitCode: r.code, error: rec?.error ?? (r.stderr.trim().split('\n').pop() || `exit ${r.code}`), seconds: r.seconds };
}

/** Run one step (and the eval of what it wrote) and turn it into a row. */
async function runStep(step: Step, m: FixtureModel, spec: string, done: Map<string, Row>, accuracyBefore?: number): Promise<Row> {
  const row: Row = { model: m.name, family: m.family, step: step.id, status: 'fail', seconds: 0 };
  const need = step.needs ? done.get(step.needs) : undefined;
  if (step.needs && need?.status !== 'pass') {
    return { ...row, status: 'blocked', error: `not run: needs the output of ${step.needs} (${need?.status ?? 'not run'})` };
  }
  if (step.kind === 'onnx-check') return { ...row, ...(await onnxCheck(step.args[0]!, step.timeoutS)) };
  const r = await cli(step.args, step.timeoutS);
  row.seconds = r.seconds;
  row.exitCode = r.code;
  const lastStderr = stderrLines(r.stderr).pop();
  if (lastStderr) row.lastStderr = lastStderr;
  const json = scalars(lastJson(r.stdout));
  if (json) row.json = json;
  const c = classifyOutcome({ ...r, timeoutS: step.timeoutS }, [spec, basename(spec), ...(step.output ? [basename(step.output)] : [])]);
  row.status = c.status;
  if (c.error) row.error = c.error;
  if (c.status !== 'pass') return row;
  row.parity = parsedParity(r.stdout);
  if (step.args.includes('--json') && !json) return { ...row, status: 'fail', error: `exit 0 but no JSON object on stdout for --json` };
  if (step.id === 'eval') {
    if (typeof json?.accuracy !== 'number') return { ...row, status: 'fail', error: 'eval printed no accuracy in its --json output' };
    row.accuracyBefore = json.accuracy; // the baseline every later step of this model is compared with
  }
  if (step.output) {
    if (!existsSync(step.output)) return { ...row, status: 'fail', error: `exit 0 but ${relative(os.tmpdir(), step.output)} was not written` };
    Object.assign(row, outputSize(step.output));
  }
  if (step.evalOutput && step.output) {
    // The user's next move: does the written model still do its job?
    const e = await evalAccuracy(step.output, m);
    row.evalSeconds = e.seconds;
    if (e.status !== 'pass') return { ...row, status: e.status, error: `eval of the output: ${e.error}` };
    row.accuracyAfter = e.accuracy;
    if (accuracyBefore !== undefined) row.accuracyBefore = accuracyBefore;
  }
  return row;
}

/** sha1 of every file under a folder, by relative path (to check that no step modified its input). */
function fileHashes(dir: string, base = dir): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) fileHashes(p, base).forEach((v, k) => out.set(k, v));
    else out.set(relative(base, p), createHash('sha1').update(readFileSync(p)).digest('hex'));
  }
  return out;
}

/** Replace the temp folder in a row's texts by `$TMP` (results carry no machine paths). */
function shortenPaths(row: Row, tmp: string): void {
  const short = (v: string) => v.replaceAll(tmp, '$TMP');
  for (const k of ['command', 'error', 'lastStderr'] as const) if (row[k]) row[k] = short(row[k]);
  if (row.json) for (const [k, v] of Object.entries(row.json)) if (typeof v === 'string') row.json[k] = short(v);
}

function envList(name: string): string[] {
  return (process.env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** Run B9 and write bench/results/real-models.json. */
export default async function run(): Promise<void> {
  if (!currentBackend()) await setBackend('auto');
  const fixturesDir = process.env.REAL_MODELS_FIXTURES ?? join(root, '..', 'shared', 'fixtures', 'real-models');
  if (!existsSync(fixturesDir)) throw new Error(`REAL_MODELS_FIXTURES: fixture folder ${fixturesDir} does not exist`);
  const all = await discoverModels(fixturesDir);
  const only = envList('REAL_MODELS_ONLY');
  const fixtures = [...new Set(all.map((m) => m.fixture))];
  const unknown = only.filter((f) => !fixtures.includes(f));
  if (unknown.length) throw new Error(`REAL_MODELS_ONLY: unknown fixture(s) ${unknown.join(', ')}; expected some of ${fixtures.join(', ')}`);
  const models = only.length ? all.filter((m) => only.includes(m.fixture)) : all;
  const wantedSteps = envList('REAL_MODELS_STEPS');
  const badSteps = wantedSteps.filter((w) => !stepNames(PLAN).includes(w));
  if (badSteps.length) throw new Error(`REAL_MODELS_STEPS: unknown step(s) ${badSteps.join(', ')}; expected some of ${stepNames(PLAN).join(', ')}`);

  const tmp = mkdtempSync(join(os.tmpdir(), 'b9-real-models-'));
  const rows: Row[] = [];
  const inputsModified: string[] = [];
  try {
    for (const fixture of [...new Set(models.map((m) => m.fixture))]) {
      // Fixtures are read-only: every step works on a copy, outputs go beside it.
      const copy = join(tmp, 'fixtures', fixture);
      cpSync(join(fixturesDir, fixture), copy, { recursive: true });
      const before = fileHashes(copy);
      for (const m of models.filter((x) => x.fixture === fixture)) {
        const spec = m.relPath ? join(copy, m.relPath) : copy;
        const out = join(tmp, 'out', m.name.replace(/[^\w.-]+/g, '_'));
        mkdirSync(out, { recursive: true });
        const steps = selectSteps(planSteps(m, spec, out, PLAN), wantedSteps);
        if (wantedSteps.length && !steps.length) continue;
        const done = new Map<string, Row>();
        for (const step of steps) {
          // One broken step (or a bug here) must not stop the benchmark.
          const row = await runStep(step, m, spec, done, done.get('eval')?.accuracyBefore).catch(
            (err: Error): Row => ({ model: m.name, family: m.family, step: step.id, status: 'fail', seconds: 0, error: `benchmark error: ${err.message}` }),
          );
          row.command = `${step.kind === 'cli' ? 'tfjs-compress' : 'onnx_check.py'} ${step.args.join(' ')}`;
          shortenPaths(row, tmp);
          done.set(step.id, row);
          rows.push(row);
          console.log(`  ${m.name} ${step.id}: ${row.status} (${row.seconds.toFixed(1)} s)${row.error ? ` ${row.error.slice(0, 160)}` : ''}`);
        }
      }
      const after = fileHashes(copy);
      for (const [f, h] of before) if (after.get(f) !== h) inputsModified.push(`${fixture}/${f}${after.has(f) ? '' : ' (deleted)'}`);
      for (const f of after.keys()) if (!before.has(f)) inputsModified.push(`${fixture}/${f} (added)`);
    }
  } finally {
    if (process.env.REAL_MODELS_KEEP) console.log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }

  const t = totals(rows);
  console.log(formatRows(rows));
  if (inputsModified.length) console.log(`input folders changed by a step (must never happen): ${inputsModified.join(', ')}`);
  writeResult('real-models', {
    fixturesDir: relative(root, fixturesDir),
    settings: { evalLimit: EVAL_LIMIT, pruneTrainLimit: PRUNE_TRAIN_LIMIT, stepTimeoutS: STEP_TIMEOUT_S, fineTuneTimeoutS: FINE_TUNE_TIMEOUT_S },
    filters: { only, steps: wantedSteps },
    models: models.map(({ name, family, dataset, scaling }) => ({ name, family, dataset, scaling })),
    rows,
    totals: t,
    inputsModified,
  });
  console.log(`refused ${t.refused}, failed ${t.failed}, blocked ${t.blocked} of ${t.total} steps`);
  summary(summaryLine(t));
}
