/** Helpers of the distillation benchmarks (B3 distill-hinton, B4 distill-keras). */

/** Positive integer from an environment variable, with a default (lets quick runs shrink a benchmark). */
export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
}
