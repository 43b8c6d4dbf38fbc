import type fc from 'fast-check';
import type { Verdict } from './classify.js';

/** How a fuzz case ended, before the runner adds leak and memory checks. */
export interface CaseResult {
  verdict: Verdict;
  /** The error message (errors) or what differed (garbage). */
  message?: string;
  /** Set when the input loaded as a valid, different file (e.g. a byte changed inside an unchecksummed shard): not garbage. */
  undetectable?: boolean;
}

/** One fuzzed format: how to build its originals, draw cases and run one. */
export interface FuzzFormat<C = unknown> {
  /** Name printed in B11 lines, e.g. `layers`. */
  name: string;
  /** Arbitrary of cases (plain data: printable and replayable). */
  cases: fc.Arbitrary<C>;
  /** Build the original files under `dir` (and reference outputs); called once. */
  setup(dir: string): Promise<void>;
  /** Run one case in the fresh folder `caseDir`. Must not throw: errors become verdicts. */
  run(c: C, caseDir: string): Promise<CaseResult>;
  /** Free what setup holds (tensors, models). */
  teardown?(): void;
  /** Optional batch step before running cases (e.g. one python process checking all files). */
  prepare?(cases: C[], dir: string): Promise<void>;
}
