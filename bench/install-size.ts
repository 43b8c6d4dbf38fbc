/**
 * B13 install-size: what a consumer pays for `npm install tfjs-compress`. The checkout is built
 * (`npm run build`) and packed (`npm pack`); a fresh project installs the tarball from the npm
 * registry/cache; we measure the bytes of its node_modules, the time of `import('tfjs-compress')`
 * (best of N fresh node processes, in-process clock around the import) with the native addons
 * (`.node` files) that import mapped, and whether the package bundles for the browser with esbuild
 * (`tfjs-compress` and `tfjs-compress/runtime`, platform=browser, tfjs external). Also timed:
 * `import('@tensorflow/tfjs')` alone in the same project (the floor the SDK's import sits on), and
 * what `tfjs-compress train --data mnist` says there (the data sets are optional peers).
 *
 * The consumer's package.json denies onnxruntime-node's install script (it only downloads CUDA
 * files; without the denial `npm install` fails on a machine that cannot reach api.nuget.org).
 *
 * Before/after: `INSTALL_SIZE_BASELINE=/tmp/before npm run bench -- install-size` also measures
 * another checkout (a `git worktree` of an older commit with node_modules linked in) the same way,
 * with the import timings of both interleaved run by run.
 * `INSTALL_SIZE_RUNS` sets N (default 5).
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { envInt, summary, writeResult } from './common.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What one checkout costs a consumer. */
interface InstallFigures {
  repo: string;
  tarballBytes: number;
  nodeModulesBytes: number;
  packages: number;
  /** The largest packages in the consumer's node_modules, bytes. */
  largest: Array<{ name: string; bytes: number }>;
  installWarnings: string[];
  importMs: { best: number; all: number[] };
  /** CPU time (user + system) of the import, best of N: far less sensitive to a busy machine than wall time. */
  importCpuMs: number;
  /** `import('@tensorflow/tfjs')` alone in the same project: the floor the SDK's import sits on. */
  tfjsImportMs: number;
  tfjsImportCpuMs: number;
  /** What `tfjs-compress train --data mnist` says in this install (exit code, last stderr line). */
  dataMnist: { exitCode: number | null; line: string };
  nativeAddonsAtImport: string[];
  browserBundles: Array<{ entry: string; errors: number; firstErrors: string[]; bytes?: number }>;
}

/** Run a command; returns its stdout, or stdout and stderr together with `both`. */
function run(cmd: string, args: string[], cwd: string, both = false): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${cwd} exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join(' | ')}`);
  return both ? `${r.stdout}${r.stderr}` : r.stdout;
}

/** Apparent size of every file under `dir` (symlinks counted as links, not followed). */
function treeBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += treeBytes(p);
    else total += lstatSync(p).size;
  }
  return total;
}

/** Top-level packages (scoped ones as `@scope/name`) with their sizes. */
function packageSizes(nodeModules: string): Array<{ name: string; bytes: number }> {
  const out: Array<{ name: string; bytes: number }> = [];
  for (const e of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const p = join(nodeModules, e.name);
    if (e.name.startsWith('@')) {
      for (const s of readdirSync(p, { withFileTypes: true })) if (s.isDirectory()) out.push({ name: `${e.name}/${s.name}`, bytes: treeBytes(join(p, s.name)) });
    } else out.push({ name: e.name, bytes: treeBytes(p) });
  }
  return out.sort((a, b) => b.bytes - a.bytes);
}

// Runs in the consumer project: times the import, then lists the native addons mapped into the process.
const importProbe = (specifier: string) => `
import { readFileSync } from 'node:fs';
const t0 = performance.now();
const c0 = process.cpuUsage();
await import('${specifier}');
const ms = performance.now() - t0;
const c = process.cpuUsage(c0);
const cpuMs = (c.user + c.system) / 1000;
const maps = readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.trim().split(/\\s+/)[5]).filter((p) => p && p.endsWith('.node'));
console.log(JSON.stringify({ ms, cpuMs, natives: [...new Set(maps.map((p) => p.split('/node_modules/').pop()))] }));
process.exit(0);
`;

async function bundleForBrowser(consumer: string, entry: string): Promise<InstallFigures['browserBundles'][number]> {
  const file = join(consumer, `entry-${entry.replace(/\W+/g, '-')}.mjs`);
  writeFileSync(file, `import { fromContainer } from '${entry}';\nglobalThis.fromContainer = fromContainer;\n`);
  try {
    const r = await build({
      entryPoints: [file],
      absWorkingDir: consumer,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      minify: true,
      write: false,
      logLevel: 'silent',
      // The page brings its own tfjs (tf.min.js); everything else must bundle.
      external: ['@tensorflow/*'],
    });
    return { entry, errors: 0, firstErrors: [], bytes: r.outputFiles[0]!.contents.length };
  } catch (err) {
    const errors = (err as { errors?: Array<{ text: string }> }).errors ?? [{ text: (err as Error).message }];
    return { entry, errors: errors.length, firstErrors: errors.slice(0, 3).map((e) => e.text) };
  }
}

/** One checkout installed into a fresh consumer project (kept until the import timings are done). */
interface Installed {
  work: string;
  consumer: string;
  figures: Omit<InstallFigures, 'importMs' | 'importCpuMs' | 'tfjsImportMs' | 'tfjsImportCpuMs' | 'nativeAddonsAtImport'>;
}

/** Build, pack and install one checkout into a fresh consumer project; measure all but import time. */
async function install(repo: string): Promise<Installed> {
  const work = mkdtempSync(join(tmpdir(), 'install-size-'));
  try {
    return await installInto(work, repo);
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
}

async function installInto(work: string, repo: string): Promise<Installed> {
  run('npx', ['tsup'], repo);
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], repo)) as Array<{ filename: string; size: number }>;
  const tarball = join(work, packed[0]!.filename);
  const consumer = join(work, 'consumer');
  mkdirSync(consumer);
  const pkg = { name: 'consumer', private: true, type: 'module', allowScripts: { 'onnxruntime-node': false, 'core-js': false } };
  writeFileSync(join(consumer, 'package.json'), JSON.stringify(pkg, null, 2));
  const log = run('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline'], consumer, true);
  const installWarnings = log.split('\n').filter((l) => /^npm warn/i.test(l));
  const nodeModules = join(consumer, 'node_modules');
  const sizes = packageSizes(nodeModules);
  const cli = spawnSync(process.execPath, [join(nodeModules, 'tfjs-compress', 'bin', 'tfjs-compress.js'), 'train', '--arch', 'mlp', '--data', 'mnist', '--epochs', '1', '--limit', '256', '--test-limit', '64', '--no-progress', '--out', join(work, 'mlp')], { cwd: consumer, encoding: 'utf8' });
  const dataMnist = { exitCode: cli.status, line: (cli.status === 0 ? cli.stdout : cli.stderr).trim().split('\n').pop() ?? '' };
  const browserBundles = [await bundleForBrowser(consumer, 'tfjs-compress'), await bundleForBrowser(consumer, 'tfjs-compress/runtime')];
  return {
    work,
    consumer,
    figures: {
      repo,
      tarballBytes: packed[0]!.size,
      nodeModulesBytes: treeBytes(nodeModules),
      packages: sizes.length,
      largest: sizes.slice(0, 8),
      installWarnings,
      dataMnist,
      browserBundles,
    },
  };
}

/** Time the imports in every install, interleaved run by run so machine load hits all alike. */
function timeImports(installs: Installed[], runs: number): InstallFigures[] {
  const probe = (consumer: string, specifier: string) =>
    JSON.parse(run(process.execPath, ['--input-type=module', '-e', importProbe(specifier)], consumer).trim().split('\n').pop()!) as { ms: number; cpuMs: number; natives: string[] };
  const sdk = installs.map(() => [] as Array<{ ms: number; cpuMs: number }>);
  const tfjs = installs.map(() => [] as Array<{ ms: number; cpuMs: number }>);
  const natives = installs.map(() => [] as string[]);
  for (let i = 0; i < runs; i++) {
    installs.forEach((inst, k) => {
      const r = probe(inst.consumer, 'tfjs-compress');
      sdk[k]!.push(r);
      natives[k] = r.natives;
      tfjs[k]!.push(probe(inst.consumer, '@tensorflow/tfjs'));
    });
  }
  const best = (rs: Array<{ ms: number; cpuMs: number }>, key: 'ms' | 'cpuMs') => Math.min(...rs.map((r) => r[key]));
  return installs.map((inst, k) => ({
    ...inst.figures,
    importMs: { best: best(sdk[k]!, 'ms'), all: sdk[k]!.map((r) => r.ms) },
    importCpuMs: best(sdk[k]!, 'cpuMs'),
    tfjsImportMs: best(tfjs[k]!, 'ms'),
    tfjsImportCpuMs: best(tfjs[k]!, 'cpuMs'),
    nativeAddonsAtImport: natives[k]!,
  }));
}

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

function describe(f: InstallFigures): string {
  const bundles = f.browserBundles.map((b) => `${b.entry} ${b.errors ? `${b.errors} errors` : 'ok'}`).join(', ');
  return `node_modules ${mb(f.nodeModulesBytes)}, import ${f.importMs.best.toFixed(0)} ms wall / ${f.importCpuMs.toFixed(0)} ms CPU (tfjs alone ${f.tfjsImportMs.toFixed(0)} / ${f.tfjsImportCpuMs.toFixed(0)} ms), native addons at import: ${f.nativeAddonsAtImport.length ? f.nativeAddonsAtImport.map((n) => n.split('/')[0]).join(' ') : 'none'}, browser bundle: ${bundles}`;
}

/** Run the benchmark (see the file comment). */
export default async function main(): Promise<void> {
  const runs = envInt('INSTALL_SIZE_RUNS', 5);
  const baselineRepo = process.env.INSTALL_SIZE_BASELINE;
  const installs: Installed[] = [];
  let measured: InstallFigures[];
  try {
    if (baselineRepo) installs.push(await install(resolve(baselineRepo)));
    installs.push(await install(root));
    measured = timeImports(installs, runs);
  } finally {
    for (const inst of installs) rmSync(inst.work, { recursive: true, force: true });
  }
  const current = measured.at(-1)!;
  const baseline = baselineRepo ? measured[0] : undefined;
  writeResult('install-size', { runs, current, ...(baseline ? { baseline } : {}) });
  for (const f of baseline ? [baseline, current] : [current]) {
    console.log(`  ${f.repo}: tarball ${f.tarballBytes} B, ${f.packages} packages; largest ${f.largest.map((p) => `${p.name} ${mb(p.bytes)}`).join(', ')}`);
    for (const w of f.installWarnings) console.log(`    ${w}`);
    for (const b of f.browserBundles) for (const e of b.firstErrors) console.log(`    ${b.entry}: ${e}`);
    console.log(`    train --data mnist: exit ${f.dataMnist.exitCode}: ${f.dataMnist.line}`);
  }
  if (baseline) {
    summary(`B13 install-size: consumer node_modules ${mb(baseline.nodeModulesBytes)} -> ${mb(current.nodeModulesBytes)}, import('tfjs-compress') ${baseline.importMs.best.toFixed(0)} -> ${current.importMs.best.toFixed(0)} ms wall, ${baseline.importCpuMs.toFixed(0)} -> ${current.importCpuMs.toFixed(0)} ms CPU (best of ${runs} each, interleaved)`);
    summary(`B13 install-size before: ${describe(baseline)}`);
  }
  summary(`B13 install-size: ${describe(current)}`);
}
