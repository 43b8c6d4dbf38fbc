import { loadMnist } from '../data/mnist.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { loadMnistSegmentation } from '../data/segmentation.js';
import { loadImageFolder } from '../data/image-folder.js';
import { loadNpyDataset } from '../data/npy.js';
import type { TensorDataset } from '../data/dataset.js';
import { INPUT_RANGES, inputScaling, scaleInputs, type InputScaling } from '../data/transform.js';
import { chooseInputScaling, type ChosenInputScaling } from '../data/scaling-metadata.js';
import { imageInputOf, type InputShape } from '../model/input-shape.js';
import type { Command } from 'commander';

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
  /** Image size for `folder:` datasets (default: from `inputShape`, else [28, 28]). */
  imageSize?: [number, number];
  /** Channels for `folder:` datasets (default: from `inputShape`, else 1). */
  channels?: 1 | 3;
  /** The model's per-sample input shape: `folder:` images are decoded to its [H, W, C]. */
  inputShape?: InputShape;
  /** Input scaling from raw 0..255 values (default: 0..1, as loaded). */
  scaling?: InputScaling;
  /** The model's per-sample output shape: a classifier's width is the class count integer labels must fit. */
  outputShape?: InputShape;
}

/** A classifier's class count from its per-sample output shape `[C]` (undefined for other outputs). */
function classCountOf(out: InputShape | undefined): number | undefined {
  return out && out.length === 1 && typeof out[0] === 'number' && out[0] > 0 ? out[0] : undefined;
}

function limited(ds: TensorDataset, n?: number): TensorDataset {
  return n ? ds.take(n) : ds;
}

/**
 * Resolve a CLI `--data` value to train and test datasets.
 * @example const { train, test } = await loadDataArg('mnist', { limit: 5000 });
 */
export async function loadDataArg(spec: string, opts: DataArgOptions = {}): Promise<{ train: TensorDataset; test: TensorDataset }> {
  const { train, test } = await loadSplits(spec, opts);
  if (!opts.scaling) return { train, test };
  return { train: scaleInputs(train, opts.scaling), test: scaleInputs(test, opts.scaling) };
}

async function loadSplits(spec: string, opts: DataArgOptions): Promise<{ train: TensorDataset; test: TensorDataset }> {
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
    const image = imageInputOf(opts.inputShape);
    const [train, test] = await loadImageFolder(spec.slice(7), {
      imageSize: opts.imageSize ?? image?.imageSize ?? [28, 28],
      channels: opts.channels ?? image?.channels ?? 1,
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
    const all = loadNpyDataset(files[0]!, files[1]!, { numClasses: classCountOf(opts.outputShape) });
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

/** Parse a comma-separated number list CLI value, naming the flag in the error. */
export function parseNumberList(flag: string): (value: string) => number[] {
  return (value: string) => {
    const list = value.split(',').map((v) => Number(v.trim()));
    if (list.length === 0 || !list.every(Number.isFinite)) throw new Error(`${flag} expects comma-separated numbers, got '${value}'`);
    return list;
  };
}

/**
 * Add `--input-range`, `--input-scale`, `--input-offset`, `--input-mean` and `--input-std` to a
 * data-taking command; read them back with {@link inputScalingOf} or {@link inputScalingFlags}.
 */
export function addInputScalingOptions(cmd: Command): Command {
  return cmd
    .option('--input-range <range>', `model input preset: ${Object.keys(INPUT_RANGES).join(' | ')} (default: the model's metadata, else 0..1)`)
    .option('--input-scale <s>', 'scale raw 0..255 pixels by s (Keras Rescaling; e.g. 0.0078125 for (x-127.5)/128)', parseNumber('--input-scale'))
    .option('--input-offset <o>', 'add o after scaling (e.g. -0.99609375 for (x-127.5)/128)', parseNumber('--input-offset'))
    .option('--input-mean <list>', 'per-channel means on 0..255, e.g. 123.675,116.28,103.53 (with --input-std)', parseNumberList('--input-mean'))
    .option('--input-std <list>', 'per-channel standard deviations on 0..255, e.g. 58.395,57.12,57.375', parseNumberList('--input-std'));
}

/** Flags of {@link addInputScalingOptions}, as commander parses them. */
export interface InputScalingFlags {
  inputRange?: string;
  inputScale?: number;
  inputOffset?: number;
  inputMean?: number[];
  inputStd?: number[];
}

/** The scaling the flags ask for, validated and naming the flags; `undefined` when none is given. */
export function inputScalingFlags(o: InputScalingFlags): InputScaling | undefined {
  const flags: Array<[string, unknown]> = [['--input-range', o.inputRange], ['--input-scale', o.inputScale], ['--input-offset', o.inputOffset], ['--input-mean', o.inputMean], ['--input-std', o.inputStd]];
  const given = flags.filter(([, v]) => v !== undefined).map(([f]) => f);
  if (given.length === 0) return undefined;
  try {
    return inputScaling({ range: o.inputRange, scale: o.inputScale, offset: o.inputOffset, mean: o.inputMean, std: o.inputStd });
  } catch (err) {
    throw new Error(`${given.join(' ')}: ${(err as Error).message}`);
  }
}

/** The input scaling the flags ask for (the default 0..1 when none is given), validated, naming the flag. */
export function inputScalingOf(o: InputScalingFlags): InputScaling {
  return chooseInputScaling({ given: inputScalingFlags(o) }).scaling;
}

/** What a command knows about the model its data is for. */
export interface DataModelFacts {
  /** Per-sample input shape (folder images are decoded to it). */
  inputShape?: InputShape;
  /** Scaling stored in the model's metadata. */
  inputScaling?: InputScaling;
  /** Per-sample output shape: bounds the class count of integer labels. */
  outputShape?: InputShape;
}

/**
 * Load `--data` for a model: the scaling by flag > model metadata > default (the choice is
 * logged), `folder:` images at the model's input size and channels.
 *
 * @example
 * const { test, scaling } = await loadDataForModel('folder:imgs', o, { inputShape: [224, 224, 3] }, { testLimit: 100 });
 */
export async function loadDataForModel(
  spec: string,
  flags: InputScalingFlags,
  model: DataModelFacts,
  opts: Omit<DataArgOptions, 'scaling' | 'inputShape'> & { log?: (line: string) => void } = {},
): Promise<{ train: TensorDataset; test: TensorDataset; scaling: ChosenInputScaling }> {
  const chosen = chooseInputScaling({ given: inputScalingFlags(flags), model: model.inputScaling });
  (opts.log ?? console.log)(chosen.text);
  const { train, test } = await loadDataArg(spec, { ...opts, inputShape: model.inputShape, outputShape: model.outputShape, scaling: chosen.scaling });
  // Shapes are checked against the model itself by train()/evaluate() (checkDataFitsModel) before any step.
  return { train, test, scaling: chosen };
}
