import type { Command } from 'commander';
import { vi } from 'vitest';

/**
 * Run CLI commands in-process on a fresh commander program that `register` fills (e.g.
 * `registerPackCommand`), capturing what they print with console.log. Errors propagate.
 *
 * @example
 * const out = await runCommands((p) => registerInfoCommands(p), ['info', 'zoo:mlp']);
 */
export async function runCommands(register: (program: Command) => void, args: string[]): Promise<string> {
  const { Command } = await import('commander');
  const program = new Command('tfjs-compress').exitOverride();
  register(program);
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}
