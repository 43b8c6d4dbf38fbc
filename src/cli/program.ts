import { Command } from 'commander';
import { setBackend, type BackendChoice } from '../backend/select.js';
import { registerTrainCommand } from './commands/train.js';
import { registerInfoCommands } from './commands/info.js';

/** Build the `tfjs-compress` command tree (exported so tests can drive it in-process). */
export function buildProgram(): Command {
  const program = new Command('tfjs-compress')
    .description('Compress TensorFlow.js models: distil, prune, quantize, pack, export (ONNX, tfjs) and benchmark.')
    .option('--backend <name>', 'tfjs backend: auto, tensorflow, wasm, cpu', 'auto')
    .option('--quiet', 'do not print the chosen backend')
    .showHelpAfterError();
  program.hook('preAction', async (root) => {
    const o = root.opts<{ backend: BackendChoice; quiet?: boolean }>();
    const info = await setBackend(o.backend);
    if (!o.quiet) console.error(`backend: ${info.name} (${info.reason})`);
  });
  registerTrainCommand(program);
  registerInfoCommands(program);
  return program;
}
