import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Verdict } from './classify.js';
import type { CaseResult, FuzzFormat } from './types.js';

/** The cases of a format for a seed: case `i` is always the same for the same seed. */
export function drawCases<C>(format: FuzzFormat<C>, seed: number, count: number): C[] {
  return fc.sample(format.cases, { seed, numRuns: count });
}

/** Outcome of one case with the runner's own checks (tensors left allocated count as memory). */
export interface RunOutcome extends CaseResult {
  index: number;
  ms: number;
  leakedTensors: number;
}

/**
 * Run cases in this process (the test suite's mode; the benchmark runs them in child processes
 * to catch crashes and hangs). A case that leaves tensors allocated is a `memory` verdict.
 */
export async function runCases<C>(format: FuzzFormat<C>, cases: C[], onCase?: (o: RunOutcome) => void, workDir?: string): Promise<RunOutcome[]> {
  const root = workDir ?? mkdtempSync(join(tmpdir(), `fuzz-${format.name}-`));
  const base = join(root, 'original');
  mkdirSync(base, { recursive: true });
  await format.setup(base);
  await format.prepare?.(cases, root);
  const out: RunOutcome[] = [];
  try {
    for (const [index, c] of cases.entries()) {
      const o = await runOne(format, c, index, root);
      out.push(o);
      onCase?.(o);
    }
  } finally {
    format.teardown?.();
    if (!workDir) rmSync(root, { recursive: true, force: true });
  }
  return out;
}

/** Run case `index` in a fresh folder under `root`. */
export async function runOne<C>(format: FuzzFormat<C>, c: C, index: number, root: string): Promise<RunOutcome> {
  const caseDir = join(root, `case-${index}`);
  rmSync(caseDir, { recursive: true, force: true });
  mkdirSync(caseDir, { recursive: true });
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  let r: CaseResult;
  try {
    r = await format.run(c, caseDir);
  } catch (err) {
    // A format's run() turns errors into verdicts; anything escaping it is the harness's own bug.
    r = { verdict: 'crash', message: `harness: ${(err as Error).stack ?? String(err)}` };
  }
  const ms = performance.now() - t0;
  const leakedTensors = tf.memory().numTensors - before;
  rmSync(caseDir, { recursive: true, force: true });
  const verdict: Verdict = leakedTensors !== 0 && (r.verdict === 'clean' || r.verdict === 'unclear') ? 'memory' : r.verdict;
  return { ...r, verdict, index, ms, leakedTensors, ...(verdict === 'memory' && r.verdict !== 'memory' ? { message: `${leakedTensors} tensors left allocated after: ${r.message ?? 'success'}` } : {}) };
}

/** Count verdicts. */
export function tally(outcomes: Array<{ verdict: Verdict; undetectable?: boolean }>): Record<Verdict, number> & { undetectable: number } {
  const t = { clean: 0, unclear: 0, crash: 0, hang: 0, garbage: 0, memory: 0, undetectable: 0 };
  for (const o of outcomes) {
    t[o.verdict]++;
    if (o.undetectable) t.undetectable++;
  }
  return t;
}
