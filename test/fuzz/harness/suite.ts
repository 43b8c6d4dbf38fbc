import { expect } from 'vitest';
import { drawCases, runCases, tally } from './run.js';
import type { FuzzFormat } from './types.js';

/** Seed of the suite's fuzz cases (fixed: a failure is reproducible by its case number). */
export const FUZZ_SEED = 19;

/**
 * Run `count` cases of a format in process and expect every one to end in success or a clean
 * one-line error (no unclear message, garbage, leak or harness crash); failures are listed with
 * their case so they can be replayed with `drawCases(format, FUZZ_SEED, n)[i]`.
 */
export async function expectAllClean<C>(format: FuzzFormat<C>, defaultCount: number): Promise<void> {
  // FUZZ_COUNT / FUZZ_SEED widen a local run; the suite itself always runs the fixed seed.
  const count = Number(process.env.FUZZ_COUNT ?? defaultCount);
  const cases = drawCases(format, Number(process.env.FUZZ_SEED ?? FUZZ_SEED), count);
  const outcomes = await runCases(format, cases);
  const bad = outcomes.filter((o) => o.verdict !== 'clean');
  const report = bad.slice(0, Number(process.env.FUZZ_SHOW ?? 12)).map((o) => `#${o.index} ${o.verdict}: ${JSON.stringify(cases[o.index]).slice(0, 300)} -> ${(o.message ?? '').slice(0, 300)}`);
  if (process.env.FUZZ_VERBOSE) console.log(tally(outcomes), report.join('\n'));
  expect(report).toEqual([]);
  expect(tally(outcomes).clean).toBe(count);
}
