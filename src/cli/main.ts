#!/usr/bin/env node
import { buildProgram } from './program.js';
import { describeError, oneLine } from '../util/errors.js';

/** CLI entry point: every error becomes one clear line on stderr and exit code 1. */
async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const e = err as Error & { code?: string; exitCode?: number };
    // commander already printed help/usage errors; it reports them with a code.
    if (e.code?.startsWith('commander.')) {
      process.exitCode = e.exitCode ?? 1;
      return;
    }
    // File-system errors name the path and the problem (read-only, disk full, permission).
    console.error(`tfjs-compress: error: ${oneLine(describeError(e))}`);
    if (process.env.TFJS_COMPRESS_DEBUG) console.error(e.stack);
    process.exitCode = 1;
  }
}

void main(process.argv);
