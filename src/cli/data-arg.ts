import { loadMnist } from '../data/mnist.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { loadMnistSegmentation } from '../data/segmentation.js';
import { loadImageFolder } from '../data/image-folder.js';
import { loadNpyDataset } from '../data/npy.js';
import type { TensorDataset } from '../data/dataset.js';

/** Forms accepted by `--data`. */
export const DATA_FORMS = [
  'mnist',
  'fashion-mnist',
  'mnist-segmentation',
  'folder:<dir> (one subfolder per class; 20% held out)',
  'npy:<x.npy>,<y.npy>[,<xtest.npy>,<ytest.npy>]',
] as const;

/** Options for {@link loadDataArg}. */
export interface DataArgOptions {
  /** Keep only the first N training samples. */
  limit?: number;
  /** Keep only the first N test samples. */
  testLimit?: number;
  /** Image size for `folder:` datasets (default [28, 28]). */
  imageSize?: [number, number];
  /** Channels for `folder:` datasets (default 1). */
  channels?: 1 | 3;
}

function limited(ds: TensorDataset, n?: number): TensorDataset {
  return n ? ds.take(n) : ds;
}

/**
 * Resolve a CLI `--data` value to train and test datasets.
 * @example const { train, test } = await loadDataArg('mnist', { limit: 5000 });
 */
export async function loadDataArg(spec: string, opts: DataArgOptions = {}): Promise<{ train: TensorDataset; test: TensorDataset }> {
  switch (spec) {
    case 'mnist':
      return { train: loadMnist({ split: 'train', limit: opts.limit }), test: loadMnist({ split: 'test', limit: opts.testLimit }) };
    case 'fashion-mnist':
      return {
        train: loadFashionMnist({ split: 'train', limit: opts.limit }),
        test: loadFashionMnist({ split: 'test', limit: opts.testLimit }),
      };
    case 'mnist-segmentation':
      return {
        train: loadMnistSegmentation({ split: 'train', limit: opts.limit }),
        test: loadMnistSegmentation({ split: 'test', limit: opts.testLimit }),
      };
  }
  if (spec.startsWith('folder:')) {
    const [train, test] = await loadImageFolder(spec.slice(7), {
      imageSize: opts.imageSize ?? [28, 28],
      channels: opts.channels ?? 1,
      validationSplit: 0.2,
      subset: 'both',
      seed: 0,
    });
    return { train: limited(train, opts.limit), test: limited(test, opts.testLimit) };
  }
  if (spec.startsWith('npy:')) {
    const files = spec.slice(4).split(',');
    if (files.length !== 2 && files.length !== 4) {
      throw new Error(`--data '${spec}': expected npy:<x.npy>,<y.npy> or npy:<x.npy>,<y.npy>,<xtest.npy>,<ytest.npy>`);
    }
    const all = loadNpyDataset(files[0]!, files[1]!);
    if (files.length === 4) {
      const test = loadNpyDataset(files[2]!, files[3]!, { numClasses: all.numClasses });
      return { train: limited(all, opts.limit), test: limited(test, opts.testLimit) };
    }
    const [train, test] = all.split(0.2, 0);
    return { train: limited(train, opts.limit), test: limited(test, opts.testLimit) };
  }
  throw new Error(`unknown --data '${spec}': expected one of ${DATA_FORMS.join(', ')}`);
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
