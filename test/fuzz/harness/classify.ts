import { oneLine } from '../../../src/util/errors.js';

/*
 * What counts as a clean error: one line (as the CLI prints it, folded by oneLine) that names the
 * file or the field, and is not a JavaScript engine or library internals message. The phrases
 * below are what such internals say when a reader trusts a field it should have checked.
 */

/** Messages from engine/library internals that name nothing a user can act on. */
export const UNCLEAR_PATTERNS: RegExp[] = [
  /Cannot read propert/i,
  /Cannot set propert/i,
  /is not a function/,
  /is not iterable/,
  /is not an object/,
  /is not a constructor/,
  /Cannot convert/,
  /Maximum call stack/,
  /Invalid typed array length/,
  /Invalid array length/,
  /Array buffer allocation failed/,
  /Invalid string length/,
  /out of bounds/i,
  /memory access/i,
  /Offset is outside the bounds/,
  /Start offset .* is outside/,
  /should be a multiple of/,
  /of undefined|of null|undefined is not|\(reading '|\bNaN\b|\[object Object\]/,
  /^\s*$/,
];

/** How one fuzz case ended. */
export type Verdict = 'clean' | 'unclear' | 'crash' | 'hang' | 'garbage' | 'memory';

/**
 * Classify an error message: `clean` when it names one of `names` (file names, folder, field
 * prefixes) and matches none of {@link UNCLEAR_PATTERNS}.
 */
export function classifyMessage(message: string, names: readonly string[]): 'clean' | 'unclear' {
  const line = oneLine(message);
  if (UNCLEAR_PATTERNS.some((p) => p.test(line))) return 'unclear';
  return names.some((n) => n && line.includes(n)) ? 'clean' : 'unclear';
}
