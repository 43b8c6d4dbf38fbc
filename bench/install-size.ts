/**
 * B13 install-size: what a consumer pays for `npm install tfjs-compress`. The checkout is built
 * (`npm run build`) and packed (`npm pack`); a fresh project installs the tarball from the npm
 * registry/cache; we measure the bytes of its node_modules, the time of `import('tfjs-compress')`
 * (best of N fresh node processes, in-process clock around the import) with the native addons
 * (`.node` files) that import mapped, and whether the package bundles for the browser with esbuild
 * (`tfjs-compress` and `tfjs-compress/runtime`, platform=browser, tfjs external).
 *
 * The consumer's package.json denies onnxruntime-node's install script (it only downloads CUDA
 * files; without the denial `npm install` fails on a machine that cannot reach api.nuget.org).
 *
 * Before/after: `INSTALL_SIZE_BASELINE=/tmp/before npm run bench -- install-size` also measures
 * another checkout (a `git worktree` of an older commit with node_modules linked in) the same way.
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
const IMPORT_PROBE = `
import { readFileSync } from 'node:fs';
const t0 = performance.now();
await import('tfjs-compress');
const ms = performance.now() - t0;
const maps = readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.trim().split(/\\s+/)[5]).filter((p) => p && p.endsWith('.node'));
console.log(JSON.stringify({ ms, natives: [...new Set(maps.map((p) => p.split('/node_modules/').pop()))] }));
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

/** Build, pack and install one checkout into a fresh consumer project, then measure it. */
async function measure(repo: string, runs: number): Promise<InstallFigures> {
  const work = mkdtempSync(join(tmpdir(), 'install-size-'));
  try {
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
    const all: number[] = [];
    let natives: string[] = [];
    for (let i = 0; i < runs; i++) {
      const r = JSON.parse(run(process.execPath, ['--input-type=module', '-e', IMPORT_PROBE], consumer).trim().split('\n').pop()!) as { ms: number; natives: string[] };
      all.push(r.ms);
      natives = r.natives;
    }
    const browserBundles = [await bundleForBrowser(consumer, 'tfjs-compress'), await bundleForBrowser(consumer, 'tfjs-compress/runtime')];
    return {
      repo,
      tarballBytes: packed[0]!.size,
      nodeModulesBytes: treeBytes(nodeModules),
      packages: sizes.length,
      largest: sizes.slice(0, 8),
      installWarnings,
      importMs: { best: Math.min(...all), all },
      nativeAddonsAtImport: natives,
      browserBundles,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

function describe(f: InstallFigures): string {
  const bundles = f.browserBundles.map((b) => `${b.entry} ${b.errors ? `${b.errors} errors` : 'ok'}`).join(', ');
  return `node_modules ${mb(f.nodeModulesBytes)}, import ${f.importMs.best.toFixed(0)} ms, native addons at import: ${f.nativeAddonsAtImport.length ? f.nativeAddonsAtImport.map((n) => n.split('/')[0]).join(' ') : 'none'}, browser bundle: ${bundles}`;
}

/** Run the benchmark (see the file comment). */
export default async function main(): Promise<void> {
  const runs = envInt('INSTALL_SIZE_RUNS', 5);
  const baselineRepo = process.env.INSTALL_SIZE_BASELINE;
  const baseline = baselineRepo ? await measure(resolve(baselineRepo), runs) : undefined;
  const current = await measure(root, runs);
  writeResult('install-size', { runs, current, ...(baseline ? { baseline } : {}) });
  for (const f of baseline ? [baseline, current] : [current]) {
    console.log(`  ${f.repo}: tarball ${f.tarballBytes} B, ${f.packages} packages; largest ${f.largest.map((p) => `${p.name} ${mb(p.bytes)}`).join(', ')}`);
    for (const w of f.installWarnings) console.log(`    ${w}`);
    for (const b of f.browserBundles) for (const e of b.firstErrors) console.log(`    ${b.entry}: ${e}`);
  }
  if (baseline) {
    summary(`B13 install-size: consumer node_modules ${mb(baseline.nodeModulesBytes)} -> ${mb(current.nodeModulesBytes)}, import('tfjs-compress') ${baseline.importMs.best.toFixed(0)} -> ${current.importMs.best.toFixed(0)} ms (best of ${runs})`);
    summary(`B13 install-size before: ${describe(baseline)}`);
  }
  summary(`B13 install-size: ${describe(current)}`);
}
