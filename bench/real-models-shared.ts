/**
 * Pure parts of B9 `real-models` (bench/real-models.ts): finding the models of each fixture,
 * reading a fixture's dataset and input scaling from its SOURCE.md, the step table (which CLI
 * commands a user runs on each model), classifying a command's outcome, and the summary line.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { formatGrid } from '../src/bench/report/table.js';
import { DEFAULT_INPUT_SCALING, isChannelScaling, type AffineScaling } from '../src/data/transform.js';

/** Model kinds B9 reports separately. */
export type ModelFamily = 'graph' | 'layers' | 'keras';

/** Datasets the CLI has that match fixtures (`--data`). */
export type FixtureDataset = 'mnist' | 'fashion-mnist';

/** The input scaling a SOURCE.md states, with the expression it came from. */
export interface SourceScaling extends AffineScaling {
  expression: string;
}

/** One model of a fixture folder (a fixture may hold several: a layers, a graph and a Keras file). */
export interface FixtureModel {
  fixture: string;
  /** `fixture` or `fixture/<sub folder or file>` when the fixture holds several models. */
  name: string;
  /** Path of the model argument relative to the fixture folder ('' for the folder itself). */
  relPath: string;
  family: ModelFamily;
  /** Test data the model was trained for, when the CLI has it. */
  dataset?: FixtureDataset;
  scaling?: SourceScaling;
}

/**
 * Evaluate an affine expression of `x` (numbers, x, + - * / × −, parentheses) and return
 * `{ scale, offset }` with `expr(x) = x * scale + offset`, or undefined when it is not one.
 *
 * @example
 * parseAffine('(x - 127.5) / 128'); // { scale: 0.0078125, offset: -0.99609375 }
 */
export function parseAffine(expression: string): AffineScaling | undefined {
  const src = expression.replace(/[×·]/g, '*').replace(/[−–]/g, '-').replace(/\s+/g, '');
  const tokens = src.match(/\d+(?:\.\d+)?|[x()+\-*/]/g);
  if (!tokens || tokens.join('') !== src || !tokens.includes('x')) return undefined;
  // Affine values are pairs [a, b] meaning a*x + b; a product of two x terms is not affine.
  type V = [number, number];
  let i = 0;
  const atom = (): V | undefined => {
    const t = tokens[i++];
    if (t === 'x') return [1, 0];
    if (t === '-') {
      const v = atom();
      return v && [-v[0], -v[1]];
    }
    if (t === '(') {
      const v = sum();
      return tokens[i++] === ')' ? v : undefined;
    }
    return t !== undefined && /^\d/.test(t) ? [0, Number(t)] : undefined;
  };
  const product = (): V | undefined => {
    let v = atom();
    while (v && (tokens[i] === '*' || tokens[i] === '/')) {
      const op = tokens[i++];
      const r = atom();
      if (!r) return undefined;
      if (op === '*') {
        if (v[0] !== 0 && r[0] !== 0) return undefined;
        v = [v[0] * r[1] + r[0] * v[1], v[1] * r[1]];
      } else {
        if (r[0] !== 0 || r[1] === 0) return undefined;
        v = [v[0] / r[1], v[1] / r[1]];
      }
    }
    return v;
  };
  const sum = (): V | undefined => {
    let v = product();
    while (v && (tokens[i] === '+' || tokens[i] === '-')) {
      const op = tokens[i++];
      const r = product();
      if (!r) return undefined;
      v = op === '+' ? [v[0] + r[0], v[1] + r[1]] : [v[0] - r[0], v[1] - r[1]];
    }
    return v;
  };
  const v = sum();
  if (!v || i !== tokens.length || v[0] === 0) return undefined;
  return { scale: v[0], offset: v[1] === 0 ? 0 : v[1] };
}

/**
 * The input scaling a SOURCE.md gives on its `Expected input scaling` line: the first backticked
 * affine expression of `x` there; undefined when the line is missing, says "unknown" or "none".
 */
export function scalingFromSource(markdown: string): SourceScaling | undefined {
  const line = markdown.split('\n').find((l) => /input\s+"?scaling/i.test(l));
  if (!line || /\bunknown\b|:\*\*\s*none/i.test(line)) return undefined;
  for (const [, expression] of line.matchAll(/`([^`]+)`/g)) {
    const s = parseAffine(expression!);
    if (s) return { expression: expression!, ...s };
  }
  return undefined;
}

/**
 * The CLI dataset a fixture's model was trained on, from its SOURCE.md: Fashion-MNIST or MNIST
 * for 28x28x1 inputs; undefined for anything else (no accuracy is measured then).
 */
export function datasetFromSource(markdown: string): FixtureDataset | undefined {
  const input = markdown.split('\n').find((l) => /\*\*Input:\*\*/.test(l)) ?? '';
  if (!/28,\s*28,\s*1\]/.test(input)) return undefined;
  if (/Fashion[- ]MNIST/i.test(markdown)) return 'fashion-mnist';
  return /\bMNIST\b/.test(markdown) ? 'mnist' : undefined;
}

const FAMILY: Record<string, ModelFamily> = { 'graph-model': 'graph', 'layers-model': 'layers', 'keras-h5': 'keras', 'keras-v3': 'keras' };

/** Candidate model arguments in a folder: folders with a model.json, other JSON files, Keras files. */
function candidates(dir: string, depth: number): string[] {
  const entries = readdirSync(dir).sort();
  const out: string[] = entries.includes('model.json') ? [dir] : [];
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      if (depth > 0) out.push(...candidates(p, depth - 1));
    } else if (/\.(h5|hdf5|keras)$/i.test(e) || (e.endsWith('.json') && e !== 'model.json')) out.push(p);
  }
  return out;
}

/**
 * Every model in every fixture folder (a folder with a SOURCE.md), recognised by the SDK's own
 * loader (`locateModel`); files it does not take as a model (metadata.json) are skipped.
 */
export async function discoverModels(fixturesDir: string): Promise<FixtureModel[]> {
  // Imported here so the pure helpers above load without the model stack.
  const { locateModel } = await import('../src/model/load.js');
  const out: FixtureModel[] = [];
  for (const fixture of readdirSync(fixturesDir).sort()) {
    const dir = join(fixturesDir, fixture);
    const sourcePath = join(dir, 'SOURCE.md');
    if (!statSync(dir).isDirectory() || !existsSync(sourcePath)) continue;
    const source = readFileSync(sourcePath, 'utf8');
    const found: { relPath: string; family: ModelFamily }[] = [];
    for (const p of candidates(dir, 1)) {
      let format: string;
      try {
        format = locateModel(p).format;
      } catch {
        continue;
      }
      const family = FAMILY[format];
      if (family) found.push({ relPath: relative(dir, p), family });
    }
    const dataset = datasetFromSource(source);
    const scaling = scalingFromSource(source);
    for (const f of found) {
      const name = found.length === 1 || f.relPath === '' ? fixture : `${fixture}/${f.relPath}`;
      out.push({ fixture, name, ...f, ...(dataset ? { dataset } : {}), ...(scaling ? { scaling } : {}) });
    }
  }
  return out;
}

/** `--input-scale/--input-offset` for a scaling, none when it is the datasets' default 0..1. */
export function scalingFlags(s: AffineScaling | undefined): string[] {
  if (!s) return [];
  const d = DEFAULT_INPUT_SCALING;
  const isDefault = !isChannelScaling(d) && Math.abs(s.scale - d.scale) < 1e-12 && s.offset === d.offset;
  return isDefault ? [] : ['--input-scale', String(s.scale), '--input-offset', String(s.offset)];
}

/** One step a user takes: a CLI command (or the ONNX checker) and what it should write. */
export interface Step {
  /** Stable id, e.g. `quantize-uint8`; `REAL_MODELS_STEPS` selects by id or by the part before the first `-`. */
  id: string;
  /** `cli`: argv after `src/cli/main.ts --quiet`; `onnx-check`: the .onnx file to check. */
  kind: 'cli' | 'onnx-check';
  args: string[];
  /** File or folder the step must write. */
  output?: string;
  /** Step whose output this one reads: it is blocked unless that step passed. */
  needs?: string;
  /** Evaluate the output with `eval` (same data and scaling) for the accuracy after. */
  evalOutput?: boolean;
  timeoutS: number;
}

/** Settings of the step table (the constants at the top of bench/real-models.ts). */
export interface PlanArgs {
  /** Test images used by every accuracy measurement. */
  evalLimit: number;
  /** Training images of the 80% prune's fine-tuning. */
  pruneTrainLimit: number;
  /** Per-step timeouts in seconds: default, and the fine-tuned prune. */
  timeoutS: number;
  fineTuneTimeoutS: number;
}

/**
 * The steps a user runs on one model, as CLI arguments. `spec` is the model argument (in a temp
 * copy of the fixture) and `out` the folder outputs go to.
 */
export function planSteps(m: FixtureModel, spec: string, out: string, a: PlanArgs): Step[] {
  const t = a.timeoutS;
  const data = m.dataset ? ['--data', m.dataset, ...scalingFlags(m.scaling)] : [];
  const fits = data.length > 0;
  const steps: Step[] = [{ id: 'info', kind: 'cli', args: ['info', spec, '--json'], timeoutS: t }];
  if (fits) steps.push({ id: 'eval', kind: 'cli', args: ['eval', spec, ...data, '--limit', String(a.evalLimit), '--json'], timeoutS: t });
  for (const mode of ['float16', 'uint8', 'int8']) {
    const o = join(out, `quantize-${mode}`);
    steps.push({ id: `quantize-${mode}`, kind: 'cli', args: ['quantize', '--model', spec, '--mode', mode, '--out', o], output: o, evalOutput: fits, timeoutS: t });
  }
  const packed = join(out, 'model.tfjsc');
  steps.push({ id: 'pack', kind: 'cli', args: ['pack', spec, '--out', packed], output: packed, evalOutput: fits, timeoutS: t });
  const unpacked = join(out, 'unpacked');
  steps.push({ id: 'unpack', kind: 'cli', args: ['unpack', packed, '--out', unpacked], output: unpacked, needs: 'pack', evalOutput: fits, timeoutS: t });
  const converted = join(out, 'converted');
  if (m.family !== 'layers') {
    steps.push({ id: 'convert', kind: 'cli', args: ['convert', spec, '--out', converted], output: converted, evalOutput: fits, timeoutS: t });
  }
  if (m.family === 'graph') {
    const o = join(out, 'prune-50');
    const testLimit = fits ? ['--test-limit', String(a.evalLimit)] : [];
    steps.push({ id: 'prune-50', kind: 'cli', args: ['prune', '--model', spec, '--sparsity', '0.5', '--epochs', '0', ...data, ...testLimit, '--out', o], output: o, evalOutput: fits, timeoutS: t });
  }
  if (fits) {
    const o = join(out, 'prune-80');
    const from = m.family === 'layers' ? spec : converted;
    steps.push({
      id: 'prune-80',
      kind: 'cli',
      args: ['prune', '--model', from, '--sparsity', '0.8', ...data, '--limit', String(a.pruneTrainLimit), '--test-limit', String(a.evalLimit), '--out', o],
      output: o,
      ...(m.family === 'layers' ? {} : { needs: 'convert' }),
      evalOutput: true,
      timeoutS: a.fineTuneTimeoutS,
    });
  }
  const onnx = join(out, 'model.onnx');
  // Export checks parity on inputs in the model's own range, so it gets the scaling even without data.
  const scale = scalingFlags(m.scaling);
  steps.push({ id: 'export-onnx', kind: 'cli', args: ['export', '--model', spec, '--format', 'onnx', ...scale, '--out', onnx], output: onnx, timeoutS: t });
  steps.push({ id: 'onnx-check', kind: 'onnx-check', args: [onnx], needs: 'export-onnx', timeoutS: t });
  const web = join(out, 'export-tfjs');
  steps.push({ id: 'export-tfjs', kind: 'cli', args: ['export', '--model', spec, '--format', 'tfjs', ...scale, '--out', web], output: web, evalOutput: fits, timeoutS: t });
  return steps;
}

/**
 * Keep the steps `REAL_MODELS_STEPS` asks for (by id or by the family before the first `-`),
 * plus the steps they read from and `eval` (the accuracy before); all when `wanted` is empty.
 */
export function selectSteps(steps: Step[], wanted: string[]): Step[] {
  if (!wanted.length) return steps;
  const keep = new Set(steps.filter((s) => wanted.includes(s.id) || wanted.includes(s.id.split('-')[0]!)).map((s) => s.id));
  for (const s of steps) {
    if (!keep.has(s.id)) continue;
    if (s.evalOutput) keep.add('eval');
    for (let n = s.needs; n; n = steps.find((x) => x.id === n)?.needs) keep.add(n);
  }
  return steps.filter((s) => keep.has(s.id));
}

/** Every step id and family name `REAL_MODELS_STEPS` may name (the steps of a graph model with data, the fullest plan). */
export function stepNames(a: PlanArgs): string[] {
  const ids = planSteps({ fixture: 'f', name: 'f', relPath: '', family: 'graph', dataset: 'mnist' }, 'm', 'o', a).map((s) => s.id);
  return [...new Set([...ids, ...ids.map((id) => id.split('-')[0]!)])].sort();
}

/** How a step ended. `blocked`: not run because the step it reads from did not pass. */
export type StepStatus = 'pass' | 'fail' | 'refused' | 'blocked';

/** What a finished child process left behind. */
export interface ChildOutcome {
  code: number | null;
  stderr: string;
  timedOut: boolean;
  timeoutS?: number;
}

// Noise on stderr that is not an error message: the backend line, Node warnings, progress bars.
const NOISE = [/^backend: /, /^\(node:\d+\)/, /^\(Use `node --trace/, /^\s*(epoch|step|prune|distill)\b.*\d/i, /\d+\/\d+\s*(\[|$)/];
// A refusal says what the command takes or cannot do; "node 'x' is referenced but not defined" is a bug.
const REFUSAL = /\b(takes|not supported|unsupported|not (yet )?(implemented|available|readable)|only|cannot|can't|expected|expects|needs?|requires?|does not|is a|refus\w*|too (large|big|many))\b/i;
const CRASH = /\b(TypeError|ReferenceError|RangeError|SyntaxError|RuntimeError|AssertionError)\b|is not a function|Cannot read propert|\bundefined\b|\bNaN\b|\[object Object\]|out of memory|Aborted\(|^\s*at\s/;

/** Non-empty stderr lines, progress redraws (`\r`) reduced to their last state. */
export function stderrLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.split('\r').pop()!.trim())
    .filter(Boolean);
}

/**
 * pass / refused / fail of a finished command. A refusal is a non-zero exit with exactly one
 * clear error line that names what it refuses (a quoted name or the model's file) and says what
 * is not possible or expected; a crash, a stack trace, a usage dump, a JSON dump, a message that
 * only reports a broken state or a silent non-zero exit is a failure.
 */
export function classifyOutcome(o: ChildOutcome, names: string[]): { status: 'pass' | 'fail' | 'refused'; error?: string } {
  if (o.timedOut) return { status: 'fail', error: `timed out after ${o.timeoutS ?? '?'} s (process group killed)` };
  const lines = stderrLines(o.stderr);
  const meaningful = lines.filter((l) => !NOISE.some((re) => re.test(l)));
  const last = meaningful[meaningful.length - 1] ?? lines[lines.length - 1];
  if (o.code === 0) return { status: 'pass' };
  if (!last) return { status: 'fail', error: `exit ${o.code ?? 'signal'} with no message on stderr` };
  const message = last.replace(/^tfjs-compress: error: /, '');
  const errorLines = meaningful.filter((l) => /error|^\s*at\s|^Usage:/i.test(l));
  const clear =
    errorLines.length <= 1 &&
    !CRASH.test(message) &&
    !message.includes('{"') &&
    REFUSAL.test(message) &&
    (/'[^']+'|`[^`]+`/.test(message) || names.some((n) => n && message.includes(n)));
  const error = errorLines.length > 1 && !errorLines.includes(last) ? `${errorLines[0]} (+${meaningful.length - 1} lines)` : last;
  return { status: clear ? 'refused' : 'fail', error: clear ? message : error };
}

/**
 * The JSON object a `--json` command printed last on stdout, one line or pretty-printed over
 * several (`info --json`); undefined when there is none.
 */
export function lastJson(stdout: string): Record<string, unknown> | undefined {
  const lines = stdout.trimEnd().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i]!.startsWith('{')) continue;
    // A one-line object, or a pretty-printed one running to the end of the output.
    for (const text of [lines[i]!, lines.slice(i).join('\n')]) {
      try {
        const v: unknown = JSON.parse(text);
        if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
      } catch {
        /* not this line */
      }
    }
  }
  return undefined;
}

/**
 * The last `max|diff| <x>` figure a command printed, if any: the check of what it wrote (export
 * of a graph model first prints the parity of its graph -> layers conversion).
 */
export function parsedParity(stdout: string): number | undefined {
  const all = [...stdout.matchAll(/max\s*\|\s*diff\s*\|\s*=?\s*([0-9.]+(?:e[-+]?\d+)?)/gi)];
  return all.length ? Number(all[all.length - 1]![1]) : undefined;
}

/** One row of B9's table. Accuracies are fractions; bytes are the written model's files. */
export interface Row {
  model: string;
  /** The CLI arguments run (temp paths shortened), to reproduce a step by hand. */
  command?: string;
  family: ModelFamily;
  step: string;
  status: StepStatus;
  /** Exit code of the command (null: killed, or not run). */
  exitCode?: number | null;
  /** Wall time of the command itself. */
  seconds: number;
  /** Wall time of the `eval` of its output, when there is one. */
  evalSeconds?: number;
  bytes?: number;
  gzipBytes?: number;
  /** Test accuracy of the fixture's model (the `eval` step measures it; later steps repeat it). */
  accuracyBefore?: number;
  /** Test accuracy of what the step wrote, by `eval` with the same data and scaling. */
  accuracyAfter?: number;
  /** The last `max|diff|` the command printed (its own parity check). */
  parity?: number;
  /** Why the step did not pass: the refusal or the error line (cut to one line). */
  error?: string;
  /** The last line the command wrote to stderr. */
  lastStderr?: string;
  /** Scalar fields of the command's `--json` output (info, eval). */
  json?: Record<string, string | number | boolean>;
}

/** Pass counts and accuracy-kept counts of a run. */
export interface Totals {
  pass: number;
  total: number;
  byFamily: Record<ModelFamily, { pass: number; total: number }>;
  refused: number;
  failed: number;
  blocked: number;
  /** Steps with an accuracy before and after. */
  measured: number;
  /** Of those, steps that lost at most 1 percentage point. */
  kept: number;
}

/** Largest accuracy loss (fraction) that still counts as kept: 1 percentage point. */
export const KEPT_DROP = 0.01;

/** Count passes per family and the accuracy kept within {@link KEPT_DROP}. */
export function totals(rows: Row[]): Totals {
  const byFamily = { graph: { pass: 0, total: 0 }, layers: { pass: 0, total: 0 }, keras: { pass: 0, total: 0 } };
  for (const r of rows) {
    byFamily[r.family].total++;
    if (r.status === 'pass') byFamily[r.family].pass++;
  }
  const measured = rows.filter((r) => r.accuracyBefore !== undefined && r.accuracyAfter !== undefined);
  return {
    pass: rows.filter((r) => r.status === 'pass').length,
    total: rows.length,
    byFamily,
    refused: rows.filter((r) => r.status === 'refused').length,
    failed: rows.filter((r) => r.status === 'fail').length,
    blocked: rows.filter((r) => r.status === 'blocked').length,
    measured: measured.length,
    kept: measured.filter((r) => r.accuracyBefore! - r.accuracyAfter! <= KEPT_DROP + 1e-9).length,
  };
}

/** The B9 summary line, in the form BENCHMARKS.md quotes. */
export function summaryLine(t: Totals): string {
  const f = (k: ModelFamily) => `${t.byFamily[k].pass}/${t.byFamily[k].total}`;
  return (
    `B9 real-models: ${t.pass}/${t.total} steps pass (graph models ${f('graph')}, layers models ${f('layers')}, keras files ${f('keras')}); ` +
    `accuracy kept within 1 pp on ${t.kept}/${t.measured} measured steps`
  );
}

const pct = (x: number | undefined) => (x === undefined ? '' : (x * 100).toFixed(2));

/**
 * The rows as a text table, then one line per step that did not pass with its error (cut to
 * `errorWidth` characters; the JSON keeps them whole).
 */
export function formatRows(rows: Row[], errorWidth = 160): string {
  const header = ['model', 'format', 'step', 'status', 's', 'bytes', 'gzip', 'acc before', 'acc after', 'parity'];
  const cells = rows.map((r) => [
    r.model,
    r.family,
    r.step,
    r.status,
    r.seconds.toFixed(1),
    r.bytes === undefined ? '' : String(r.bytes),
    r.gzipBytes === undefined ? '' : String(r.gzipBytes),
    pct(r.accuracyBefore),
    pct(r.accuracyAfter),
    r.parity === undefined ? '' : r.parity.toExponential(1),
  ]);
  const errors = rows
    .filter((r) => r.status !== 'pass' && r.error)
    .map((r) => `  ${r.model} ${r.step} (${r.status}): ${r.error!.length > errorWidth ? `${r.error!.slice(0, errorWidth - 1)}…` : r.error}`);
  return [formatGrid(header, cells), ...(errors.length ? ['', 'not passed:', ...errors] : [])].join('\n');
}

