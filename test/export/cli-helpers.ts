import { registerExportCommand } from '../../src/cli/commands/export.js';
import { runCommands } from '../helpers/cli.js';

/**
 * Run `tfjs-compress export <args>` in-process and return what it printed (errors reject).
 * @example const text = await runExportCli(['--model', 'zoo:mlp', '--format', 'onnx', '--out', 'm.onnx']);
 */
export const runExportCli = (args: string[]): Promise<string> => runCommands(registerExportCommand, ['export', ...args]);
