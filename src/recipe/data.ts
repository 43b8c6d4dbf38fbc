import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadMnist } from '../data/mnist.js';
import { loadFashionMnist, writeFashionMnistImageFolder } from '../data/fashion-mnist.js';
import { loadMnistSegmentation } from '../data/segmentation.js';
import { listImageFolder, loadImageFolder } from '../data/image-folder.js';
import type { TensorDataset } from '../data/dataset.js';
import type { Budget, DataConfig } from './schema.js';
import type { RunData } from './types.js';
import { sha256 } from './hash.js';

/** Apply a budget's sample limits and image-folder size to the data section. */
export function budgetedData(data: DataConfig, budget: Budget): DataConfig {
  const out = { ...data } as DataConfig & { trainLimit?: number; testLimit?: number };
  if (budget.trainLimit !== undefined) out.trainLimit = budget.trainLimit ?? undefined;
  if (budget.testLimit !== undefined) out.testLimit = budget.testLimit ?? undefined;
  if (out.kind === 'image-folder' && out.buildFromFashionMnist && budget.perClass !== undefined) {
    out.buildFromFashionMnist = { ...out.buildFromFashionMnist, perClass: budget.perClass };
  }
  return out;
}

function range(ds: TensorDataset, limit: number | undefined): TensorDataset {
  return limit && limit < ds.size ? ds.take(limit) : ds;
}

function slice(name: string, n: number): string {
  return `${name}[0:${n}]`;
}

/**
 * Folder the image-folder data reads: `path` itself, or, when it is built from Fashion-MNIST,
 * a subfolder named after the build settings (so a budget change never mixes two builds).
 */
export function imageFolderDir(data: Extract<DataConfig, { kind: 'image-folder' }>, baseDir: string, outDir: string): string {
  const root = data.path ? resolve(baseDir, data.path) : join(outDir, 'data');
  if (!data.buildFromFashionMnist) return root;
  const b = data.buildFromFashionMnist;
  return join(root, `fashion-mnist-c${b.classes.join('_')}-n${b.perClass}`);
}

/**
 * Fingerprint of the data a run trains on: the settings, and for an image folder the file
 * list with sizes (so edited images invalidate the stages that used them).
 */
export function dataHash(data: DataConfig, baseDir: string, outDir: string): string {
  // A folder built from Fashion-MNIST is fully determined by its settings.
  if (data.kind !== 'image-folder' || data.buildFromFashionMnist) return sha256(JSON.stringify(data));
  const dir = imageFolderDir(data, baseDir, outDir);
  if (!existsSync(dir)) return sha256(JSON.stringify({ data, missing: true }));
  const listing = listImageFolder(dir);
  return sha256(JSON.stringify({ data, files: listing.files.map((f) => [f.slice(dir.length), statSync(f).size]) }));
}

/**
 * Load the training and test data a recipe names. Image folders given with
 * `buildFromFashionMnist` are written first when missing.
 *
 * @example
 * const { train, test } = await loadRecipeData({ kind: 'mnist', trainLimit: 6000, testLimit: 1000 }, '.', 'out/x');
 */
export async function loadRecipeData(data: DataConfig, baseDir: string, outDir: string): Promise<RunData> {
  switch (data.kind) {
    case 'mnist': {
      const train = loadMnist({ split: 'train', limit: data.trainLimit });
      const test = loadMnist({ split: 'test', limit: data.testLimit });
      return { train, test, name: `${slice('mnist-train', train.size)} / ${slice('mnist-test', test.size)}`, task: 'classification' };
    }
    case 'fashion-mnist': {
      const train = loadFashionMnist({ split: 'train', limit: data.trainLimit, classes: data.classes });
      const test = loadFashionMnist({ split: 'test', limit: data.testLimit, classes: data.classes });
      return { train, test, name: `${slice('fashion-mnist-train', train.size)} / ${slice('fashion-mnist-test', test.size)}`, task: 'classification' };
    }
    case 'mnist-segmentation': {
      const train = loadMnistSegmentation({ split: 'train', limit: data.trainLimit ?? 60000, threshold: data.threshold });
      const test = loadMnistSegmentation({ split: 'test', limit: data.testLimit ?? 10000, threshold: data.threshold });
      return { train, test, name: `${slice('mnist-seg-train', train.size)} / ${slice('mnist-seg-test', test.size)}`, task: 'segmentation' };
    }
    case 'image-folder': {
      const dir = imageFolderDir(data, baseDir, outDir);
      const b = data.buildFromFashionMnist;
      if (b && !(existsSync(dir) && readdirSync(dir).length > 0)) {
        await writeFashionMnistImageFolder(dir, { classes: b.classes, perClass: b.perClass });
      }
      if (!existsSync(dir)) throw new Error(`data.path: image folder '${dir}' does not exist (give data.buildFromFashionMnist to create it)`);
      const [train, test] = await loadImageFolder(dir, {
        imageSize: data.imageSize,
        channels: data.channels,
        validationSplit: data.validationSplit,
        subset: 'both',
        seed: 0,
      });
      const t = range(train, data.trainLimit);
      const v = range(test, data.testLimit);
      return { train: t, test: v, name: `image-folder ${data.path ?? dir} (${t.size} train / ${v.size} held out)`, task: 'classification' };
    }
  }
}
