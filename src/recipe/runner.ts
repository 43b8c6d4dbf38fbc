import type * as tf from '@tensorflow/tfjs';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { isInside } from '../model/validate/paths.js';
import { chooseInputScaling, type ChosenInputScaling } from '../data/scaling-metadata.js';
import { scaleInputs } from '../data/transform.js';
import { storedInputScaling } from '../model/describe.js';
import { loadLayersModel } from '../model/load.js';
import type { TrainCallback } from '../train/types.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { buildArch, isArchName, archNames } from './archs.js';
import { budgetedData, dataHash, loadRecipeData } from './data.js';
import { hashPaths, sha256, stableJson } from './hash.js';
import type { Recipe } from './parse.js';
import { getStageKind } from './registry.js';
import { DEFAULT_BUDGETS, type Budget, type BudgetName } from './schema.js';
import type { OutputKind, ResolvedRef, RunData, StageContext, StageOutput, StageReport } from './types.js';

/** Options of {@link runRecipe}. */
export interface RunRecipeArgs {
  /** Output folder (default: the recipe's `outDir`, else `out/<name>`). */
  outDir?: string;
  /** `default`, `tiny` (seconds, for CI) or `full` (all data). */
  budget?: BudgetName;
  /** Folder that relative paths in the recipe are resolved against (default: cwd). */
  baseDir?: string;
  /** Re-run every stage even when its settings and inputs are unchanged. */
  force?: boolean;
  /** Progress bars on a terminal, one line per epoch otherwise (default true). */
  progress?: boolean;
  /** Where result lines go (default console.log). */
  log?: (line: string) => void;
  /** Extra training callbacks per stage (tests use one to interrupt a stage). */
  callbacks?: (stage: { index: number; name: string; kind: string }) => TrainCallback[];
}

/** One stage's outcome in a run. */
export interface StageRun {
  index: number;
  name: string;
  kind: string;
  status: 'ran' | 'skipped';
  seconds: number;
  report: StageReport;
}

/** What {@link runRecipe} returns. */
export interface RunRecipeResult {
  outDir: string;
  budget: BudgetName;
  stages: StageRun[];
}

const REPORT = 'report.json';
const FORMAT_VERSION = 1;

function readReport(dir: string): StageReport | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, REPORT), 'utf8')) as StageReport;
  } catch {
    return undefined;
  }
}

/** Hash of a stage folder's artifacts: every non-hidden entry except the report itself. */
function outputHash(dir: string): string {
  const entries = existsSync(dir) ? readdirSync(dir).filter((n) => n !== REPORT && !n.startsWith('.')).sort() : [];
  return hashPaths(entries.map((n) => join(dir, n)), dir);
}

/** Real path of `p`, or of its nearest existing ancestor joined with the rest (for folders not made yet). */
function realOrAncestor(p: string): string {
  let head = p;
  const rest: string[] = [];
  while (!existsSync(head)) {
    const up = dirname(head);
    if (up === head) break;
    rest.unshift(basename(head));
    head = up;
  }
  return join(realpathSync(head), ...rest);
}

/** Refuse an output folder outside the working folder (after following symlinks). */
function checkInsideWorkdir(path: string, given: string, field: string): void {
  const cwd = realpathSync(process.cwd());
  if (!isInside(cwd, realOrAncestor(path))) {
    throw new Error(`recipe ${field} '${given}' lies outside the working folder ${cwd}; set 'allowOutsideWorkdir: true' in the recipe (or pass --out) to write there`);
  }
}

/**
 * Empty a stage folder for a fresh run, keeping `keep` (its resumable checkpoint). Never through a
 * link: a stage folder that is a symlink is refused (its target's files are not ours to delete),
 * and links inside it are removed as links (rmSync does not follow them).
 */
function cleanStageDir(dir: string, keep: string): void {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st) return;
  if (st.isSymbolicLink()) throw new Error(`${dir}: the stage folder is a symbolic link; tfjs-compress does not clean through links (remove the link to re-run this stage)`);
  if (!st.isDirectory()) throw new Error(`${dir}: the stage folder is a file, not a folder (remove it to re-run this stage)`);
  for (const n of readdirSync(dir)) if (join(dir, n) !== keep) rmSync(join(dir, n), { recursive: true, force: true });
}

/** Merge the built-in budget with the recipe's own override of it. */
export function resolveBudget(recipe: Recipe, name: BudgetName): Budget {
  return { ...DEFAULT_BUDGETS[name], ...(recipe.head.budgets[name] ?? {}) };
}

/** Stage names (default: the kind, numbered when a kind repeats) and folders (`NN-name`). */
export function stagePlan(recipe: Recipe): Array<{ name: string; folder: string }> {
  const seen = new Set<string>();
  return recipe.stages.map((s, i) => {
    let name = s.config.name ?? s.kind;
    if (!s.config.name && recipe.stages.filter((t) => !t.config.name && t.kind === s.kind).length > 1) name = `${s.kind}-${i + 1}`;
    if (seen.has(name)) throw new Error(`stages[${i}].${s.kind}.name: '${name}' is used by an earlier stage; stage names must be unique`);
    seen.add(name);
    return { name, folder: `${String(i + 1).padStart(2, '0')}-${name}` };
  });
}

/**
 * Run a recipe's stages in order. Each stage writes `<outDir>/<NN>-<name>/` and a `report.json`
 * holding a hash of its settings, the data and its inputs' output hashes; a stage whose hash and
 * outputs are unchanged is skipped, and training stages resume from per-epoch checkpoints.
 *
 * @example
 * const result = await runRecipe(loadRecipeFile('examples/hinton-mnist.yaml'), { budget: 'tiny' });
 */
export async function runRecipe(recipe: Recipe, args: RunRecipeArgs = {}): Promise<RunRecipeResult> {
  const budgetName = args.budget ?? 'default';
  const budget = resolveBudget(recipe, budgetName);
  const baseDir = resolve(args.baseDir ?? process.cwd());
  const outDir = resolve(args.outDir ?? recipe.head.outDir ?? join('out', recipe.head.name));
  // The recipe file decides where it writes only inside the working folder, unless it says so;
  // an --out / outDir argument is the caller's own choice.
  if (args.outDir === undefined && !recipe.head.allowOutsideWorkdir) {
    checkInsideWorkdir(outDir, recipe.head.outDir === undefined ? `out/${recipe.head.name}` : recipe.head.outDir, 'outDir');
  }
  const log = args.log ?? ((line: string) => console.log(line));
  const progress = args.progress ?? true;
  const data = budgetedData(recipe.head.data, budget);
  if (data.kind === 'image-folder' && data.path !== undefined && !recipe.head.allowOutsideWorkdir) {
    const dir = realOrAncestor(resolve(baseDir, data.path));
    if (![baseDir, process.cwd()].some((root) => isInside(realOrAncestor(root), dir))) {
      throw new Error(`recipe data.path '${data.path}' lies outside the recipe's folder and the working folder; set 'allowOutsideWorkdir: true' in the recipe to read it`);
    }
  }
  const plan = stagePlan(recipe);
  mkdirSync(outDir, { recursive: true });

  // Fixed once: by the recipe, else by the first path-loaded model that stores one (checked as
  // stages resolve their references), else the default when the data is first loaded.
  let scaling: ChosenInputScaling | undefined = recipe.head.inputScaling
    ? chooseInputScaling({ given: recipe.head.inputScaling, givenBy: 'recipe' })
    : undefined;
  const inputScaling = () => {
    if (!scaling) {
      scaling = chooseInputScaling({});
      log(scaling.text);
    }
    return scaling.scaling;
  };
  let loaded: Promise<RunData> | undefined;
  const loadData = () =>
    (loaded ??= loadRecipeData(data, baseDir, outDir).then((d) => {
      const s = inputScaling();
      return { ...d, train: scaleInputs(d.train, s), test: scaleInputs(d.test, s) };
    }));
  if (scaling) log(scaling.text);
  const dHash = dataHash(data, baseDir, outDir);
  const outputs: StageOutput[] = [];
  const reports: StageReport[] = [];
  const runs: StageRun[] = [];

  const resolveRef = (i: number, field: string, spec: string | undefined, allowed: OutputKind[]): ResolvedRef => {
    const where = `stages[${i}].${recipe.stages[i]!.kind}.${field}`;
    let out: StageOutput | undefined;
    if (spec === undefined) {
      out = [...outputs].reverse().find((o) => allowed.includes(o.kind) && o.primary);
      if (!out) throw new Error(`${where}: no earlier stage produced a model to use; name one (a stage, an architecture or a path)`);
    } else {
      const stageIdx = plan.findIndex((p, j) => j < i && p.name === spec);
      out = stageIdx >= 0 ? reports[stageIdx]!.outputs.find((o) => o.primary) : outputs.find((o) => o.name === spec);
      if (stageIdx >= 0 && !out) throw new Error(`${where}: stage '${spec}' wrote no model to use`);
      if (!out && plan.some((p, j) => j >= i && p.name === spec)) throw new Error(`${where}: '${spec}' is a later stage; only earlier stages can be used`);
    }
    if (out) {
      if (!allowed.includes(out.kind)) throw new Error(`${where}: '${out.name}' is a ${out.kind} artifact; this field needs ${allowed.join(' or ')}`);
      const owner = reports.find((r) => r.outputs.some((o) => o.name === out!.name))!;
      return { output: out, path: join(outDir, out.path), hash: `${owner.outputHash}:${out.name}`, label: out.name };
    }
    if (isArchName(spec!)) return { arch: spec, hash: `arch:${spec}`, label: spec! };
    const path = isAbsolute(spec!) ? spec! : join(baseDir, spec!);
    if (!existsSync(path)) {
      throw new Error(`${where}: '${spec}' is not an earlier stage or output (${outputs.map((o) => o.name).join(', ') || 'none yet'}), an architecture (${archNames().join(', ')}) or an existing path`);
    }
    return { path, hash: `file:${hashPaths([path], path)}`, label: spec! };
  };

  for (const [i, stage] of recipe.stages.entries()) {
    const kind = getStageKind(stage.kind);
    const { name, folder } = plan[i]!;
    const dir = join(outDir, folder);
    const refSpecs = kind.refs(stage.config, [...outputs]);
    const refs: Record<string, ResolvedRef> = {};
    for (const [field, spec] of Object.entries(refSpecs)) {
      if (spec === null) continue;
      const allowed = kind.refKinds?.[field] ?? kind.refKinds?.['*'] ?? ['tfjs-layers'];
      refs[field] = resolveRef(i, field, spec, allowed);
    }
    if (!scaling) {
      for (const r of Object.values(refs)) {
        let stored;
        try {
          stored = r.path && !r.output ? storedInputScaling(r.path) : undefined;
        } catch (err) {
          throw new Error(`stages[${i}].${stage.kind}: ${(err as Error).message}`);
        }
        if (stored) {
          scaling = chooseInputScaling({ model: stored });
          log(`${scaling.text}: ${r.label}`);
          break;
        }
      }
    }
    // The scaling joins the hash only when set, so hashes of recipes without one are unchanged.
    const scaled = recipe.head.inputScaling ? { inputScaling: recipe.head.inputScaling } : {};
    const hash = sha256(
      stableJson({ v: FORMAT_VERSION, kind: stage.kind, name, config: stage.config, data: dHash, ...scaled, seed: recipe.head.seed, budget, refs: Object.fromEntries(Object.entries(refs).map(([k, r]) => [k, r.hash])) }),
    );
    const previous = readReport(dir);
    let upToDate = false;
    if (!args.force && previous?.hash === hash) {
      try {
        upToDate = outputHash(dir) === previous.outputHash;
      } catch {
        upToDate = false;
      }
    }
    if (upToDate) {
      log(`[${i + 1}/${recipe.stages.length}] ${stage.kind} '${name}': unchanged, skipped (${folder}/${REPORT} from ${previous!.finishedAt})`);
      outputs.push(...previous!.outputs);
      reports.push(previous!);
      runs.push({ index: i, name, kind: stage.kind, status: 'skipped', seconds: 0, report: previous! });
      continue;
    }
    log(`[${i + 1}/${recipe.stages.length}] ${stage.kind} '${name}' -> ${folder}/`);
    const checkpointDir = join(dir, `.checkpoint-${hash.slice(0, 12)}`);
    // Stale artifacts (other settings) go; a checkpoint of these exact settings stays, to resume.
    cleanStageDir(dir, checkpointDir);
    mkdirSync(dir, { recursive: true });
    const ctx: StageContext = {
      head: recipe.head,
      data,
      budget,
      budgetName,
      index: i,
      name,
      outDir,
      dir,
      checkpointDir,
      cacheDir: join(outDir, '.cache'),
      seed: recipe.head.seed,
      progress,
      loadData,
      inputScaling,
      ref: (field) => refs[field],
      refsOf: () => refs,
      loadModel: async (ref, opts) => {
        if (ref.arch) {
          const d = opts?.numClassesFrom ?? (await loadData()).train;
          return buildArch(ref.arch, { inputShape: d.xShape, numClasses: d.yShape[d.yShape.length - 1]!, seed: recipe.head.seed });
        }
        // The one loader: layers folders, containers and graph models (rebuilt as layers); ONNX refused.
        const { model: m } = await loadLayersModel(ref.path!, { command: `stage '${name}' (${ref.label})` });
        (m as { name: string }).name = ref.label.replace(/[^\w.-]/g, '_');
        return m;
      },
      previousOutputs: () => [...outputs],
      previousReports: () => [...reports],
      callbacks: () => args.callbacks?.({ index: i, name, kind: stage.kind }) ?? [],
      log: (line) => log(`  ${line}`),
      epochs: (n) => Math.min(n, budget.maxEpochs ?? n),
    };
    const started = new Date();
    const result = await kind.run(ctx, stage.config);
    rmSync(checkpointDir, { recursive: true, force: true });
    const finished = new Date();
    const report: StageReport = {
      version: 1,
      kind: stage.kind,
      name,
      index: i,
      hash,
      inputs: Object.fromEntries(Object.entries(refs).map(([k, r]) => [k, r.label])),
      outputHash: outputHash(dir),
      budget: budgetName,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      seconds: (finished.getTime() - started.getTime()) / 1000,
      ...result,
      resumedFromEpoch: result.resumedFromEpoch ?? 0,
    };
    writeJsonAtomic(join(dir, REPORT), report);
    if (report.resumedFromEpoch) log(`  resumed from the checkpoint of epoch ${report.resumedFromEpoch}`);
    log(`  done in ${report.seconds.toFixed(1)} s`);
    outputs.push(...result.outputs);
    reports.push(report);
    runs.push({ index: i, name, kind: stage.kind, status: 'ran', seconds: report.seconds, report });
  }
  writeJsonAtomic(join(outDir, 'run.json'), {
    recipe: recipe.head.name,
    budget: budgetName,
    finishedAt: new Date().toISOString(),
    stages: runs.map((r) => ({ index: r.index, name: r.name, kind: r.kind, status: r.status, seconds: r.seconds, folder: plan[r.index]!.folder })),
  });
  return { outDir, budget: budgetName, stages: runs };
}
