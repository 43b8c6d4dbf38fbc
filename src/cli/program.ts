import { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setBackend, type BackendChoice } from '../backend/select.js';
import { registerTrainCommand } from './commands/train.js';
import { registerInfoCommands } from './commands/info.js';
import { registerDistillCommand } from './commands/distill.js';
import { registerQuantizeCommand } from './commands/quantize.js';
import { registerPackCommand } from './commands/pack.js';
import { registerExportCommand } from './commands/export.js';
import { registerPruneCommand, registerSensitivityCommand } from './commands/prune.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerRunCommand } from './commands/run.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerConvertCommand } from './commands/convert.js';

/**
 * The package's version, read from its package.json at run time (walking up from this module:
 * `src/cli/` in the repo, `dist/` once built), so `--version` never drifts from the release.
 */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tfjs-compress' && typeof pkg.version === 'string') return pkg.version;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`tfjs-compress: package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Build the `tfjs-compress` command tree (exported so tests and the docs generator can use it). */
export function buildProgram(): Command {
  const program = new Command('tfjs-compress')
    .description('Compress TensorFlow.js models: distil, prune, quantize, pack, export (ONNX, tfjs) and benchmark.')
    .option('--backend <name>', 'tfjs backend: auto, tensorflow, wasm, cpu', 'auto')
    .option('--wasm-threads <n>', 'XNNPACK threads of the wasm backend (1..8; default TFJS_COMPRESS_THREADS or the CPU count)')
    .version(packageVersion(), '-V, --version', 'print the tfjs-compress version')
    .option('--quiet', 'do not print the chosen backend')
    .showHelpAfterError();
  program.hook('preAction', async (root) => {
    const o = root.opts<{ backend: BackendChoice; wasmThreads?: string; quiet?: boolean }>();
    const threads = o.wasmThreads === undefined ? undefined : Number(o.wasmThreads);
    const info = await setBackend(o.backend, { threads });
    if (!o.quiet) console.error(`backend: ${info.name} (${info.reason})`);
  });
  registerTrainCommand(program);
  registerInfoCommands(program);
  registerDistillCommand(program);
  registerQuantizeCommand(program);
  registerPackCommand(program);
  registerExportCommand(program);
  registerPruneCommand(program);
  registerSensitivityCommand(program);
  registerBenchCommand(program);
  registerRunCommand(program);
  registerDemoCommand(program);
  registerConvertCommand(program);
  return program;
}
