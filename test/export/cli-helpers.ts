import { Command } from 'commander';
import { vi } from 'vitest';
import { registerExportCommand } from '../../src/cli/commands/export.js';

/**
 * Run `tfjs-compress export <args>` in-process and return what it printed (errors reject).
 * @example const text = await runExportCli(['--model', 'zoo:mlp', '--format', 'onnx', '--out', 'm.onnx']);
 */
export async function runExportCli(args: string[]): Promise<string> {
  const program = new Command('tfjs-compress').exitOverride();
  registerExportCommand(program);
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    await program.parseAsync(['node', 'tfjs-compress', 'export', ...args]);
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}
