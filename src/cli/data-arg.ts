import { loadMnist } from '../data/mnist.js';
import type { TensorDataset } from '../data/dataset.js';

/** Dataset names accepted by `--data`. */
export const DATA_NAMES = ['mnist'] as const;

/** Options for {@link loadDataArg}. */
export interface DataArgOptions {
  /** Keep only the first N training samples. */
  limit?: number;
  /** Keep only the first N test samples. */
  testLimit?: number;
}

/**
 * Resolve a CLI `--data` value to train and test datasets.
 * @example const { train, test } = loadDataArg('mnist', { limit: 5000 });
 */
export function loadDataArg(name: string, opts: DataArgOptions = {}): { train: TensorDataset; test: TensorDataset } {
  if (name === 'mnist') {
    return {
      train: loadMnist({ split: 'train', limit: opts.limit }),
      test: loadMnist({ split: 'test', limit: opts.testLimit }),
    };
  }
  throw new Error(`unknown --data '${name}': expected one of ${DATA_NAMES.join(', ')}`);
}

/** Parse a positive integer CLI value, naming the flag in the error. */
export function parsePositiveInt(flag: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} expects a positive integer, got '${value}'`);
    return n;
  };
}

/** Parse a number CLI value, naming the flag in the error. */
export function parseNumber(flag: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new Error(`${flag} expects a number, got '${value}'`);
    return n;
  };
}
