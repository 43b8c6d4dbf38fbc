import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { OutputInfo } from 'sharp';
import { TensorDataset, oneHot, permutation } from './dataset.js';

/** File extensions {@link loadImageFolder} decodes (case-insensitive); other files are ignored, as in Keras. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'] as const;

/** Options for {@link listImageFolder}. */
export interface ImageFolderListArgs {
  /** Use only these class subfolders, in this order (default: all subfolders, sorted by name). */
  classNames?: string[];
  /** Keep only the first `limitPerClass` files (sorted by path) of each class. */
  limitPerClass?: number;
}

/** Options for {@link loadImageFolder} (mirrors Keras `image_dataset_from_directory`). */
export interface ImageFolderArgs extends ImageFolderListArgs {
  /** Output size `[height, width]`; every image is resized (stretched) to it. */
  imageSize: [number, number];
  /** 3 (RGB, default) or 1 (grayscale). */
  channels?: 1 | 3;
  /** Fraction of the files held out for validation, in (0, 1). Needs `subset`. */
  validationSplit?: number;
  /** Which part to return when `validationSplit` is set; `both` returns `[training, validation]`. */
  subset?: 'training' | 'validation' | 'both';
  /** Seed of the file shuffle; use the same seed for the training and validation calls. Default 0. */
  seed?: number;
  /** Shuffle the file order before splitting (default true, like Keras). */
  shuffle?: boolean;
}

/** The files of an image folder and their class indices. */
export interface ImageFolderListing {
  /** Class names; index i is label i. */
  classNames: string[];
  /** Image paths, grouped by class in class order, sorted within a class. */
  files: string[];
  /** Class index of each file. */
  labels: Int32Array;
}

function isImage(name: string): boolean {
  return (IMAGE_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase());
}

// Codepoint order, like Python's sorted() that Keras uses (localeCompare would differ on case).
const byCodepoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function walkImages(dir: string): string[] {
  const out: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => byCodepoint(a.name, b.name));
  for (const e of entries) {
    const path = join(dir, e.name);
    // statSync follows symlinks, so linked folders/files count like real ones.
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) out.push(...walkImages(path));
    else if (st.isFile() && isImage(e.name)) out.push(path);
  }
  return out;
}

/**
 * List an image folder laid out one subfolder per class (`dir/<class>/**\/*.png|jpg|jpeg|webp`).
 * Classes are the subfolder names sorted by codepoint, unless `classNames` picks and orders them.
 */
export function listImageFolder(dir: string, args: ImageFolderListArgs = {}): ImageFolderListing {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st) throw new Error(`image folder ${dir} does not exist`);
  if (!st.isDirectory()) throw new Error(`image folder ${dir} is not a directory`);
  const subfolders = readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && statSync(join(dir, e.name), { throwIfNoEntry: false })?.isDirectory())
    .map((e) => e.name)
    .sort(byCodepoint);
  let classNames = subfolders;
  if (args.classNames) {
    const seen = new Set<string>();
    for (const name of args.classNames) {
      if (seen.has(name)) throw new Error(`${dir}: class '${name}' appears twice in classNames`);
      seen.add(name);
      if (!subfolders.includes(name)) {
        throw new Error(`${dir}: class '${name}' from classNames has no subfolder (found: ${subfolders.join(', ') || 'none'})`);
      }
    }
    classNames = [...args.classNames];
  }
  if (classNames.length === 0) {
    throw new Error(`${dir}: no class subfolders found; expected one subfolder per class, e.g. ${join(dir, 'cat', '0.png')}`);
  }
  const limit = args.limitPerClass;
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new Error(`limitPerClass must be a positive integer, got ${limit}`);
  }
  const files: string[] = [];
  const labels: number[] = [];
  classNames.forEach((name, c) => {
    let found = walkImages(join(dir, name));
    if (found.length === 0) {
      throw new Error(`${join(dir, name)}: class folder has no images (${IMAGE_EXTENSIONS.join(', ')})`);
    }
    if (limit !== undefined) found = found.slice(0, limit);
    files.push(...found);
    for (const _ of found) labels.push(c);
  });
  return { classNames, files, labels: Int32Array.from(labels) };
}

/** sharp, loaded on first use: importing the SDK must not load its native binary. */
export async function loadSharp(): Promise<(typeof import('sharp'))['default']> {
  return (await import('sharp')).default;
}

/**
 * Decode one image into `out` (h*w*channels floats in [0, 1], HWC order).
 * Alpha is dropped (not composited), like Keras; gray images are replicated to RGB when channels is 3.
 */
export async function decodeImage(
  path: string,
  imageSize: [number, number],
  channels: 1 | 3,
  out: Float32Array,
  offset = 0,
): Promise<void> {
  const [h, w] = imageSize;
  const sharp = await loadSharp();
  let pipeline = sharp(path, { failOn: 'error' }).removeAlpha();
  pipeline = channels === 1 ? pipeline.greyscale() : pipeline.toColourspace('srgb');
  let result: { data: Buffer; info: OutputInfo };
  try {
    // 'linear' is a triangle (bilinear) filter; it antialiases when shrinking. fit 'fill' stretches like Keras.
    result = await pipeline
      .resize(w, h, { fit: 'fill', kernel: 'linear', fastShrinkOnLoad: false })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new Error(`${path}: cannot decode image: ${(err as Error).message}`);
  }
  const { data, info } = result;
  if (info.channels !== channels || info.width !== w || info.height !== h || data.length !== h * w * channels) {
    throw new Error(
      `${path}: decoded to ${info.width}x${info.height}x${info.channels} but expected ${w}x${h}x${channels}`,
    );
  }
  for (let i = 0; i < data.length; i++) out[offset + i] = data[i]! / 255;
}

async function decodeAll(
  files: string[],
  labels: Int32Array,
  classNames: string[],
  args: ImageFolderArgs,
): Promise<TensorDataset> {
  const [h, w] = args.imageSize;
  const channels = args.channels ?? 3;
  const size = h * w * channels;
  const x = new Float32Array(files.length * size);
  // A few decodes in flight keep sharp's thread pool busy without flooding memory.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      await decodeImage(files[i]!, [h, w], channels, x, i * size);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, files.length) }, worker));
  return new TensorDataset(x, [h, w, channels], oneHot(labels, classNames.length), [classNames.length], labels, classNames);
}

function validate(dir: string, args: ImageFolderArgs): void {
  const size = args.imageSize;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`loadImageFolder(${dir}): imageSize must be [height, width] positive integers, got ${JSON.stringify(size)}`);
  }
  const channels = args.channels ?? 3;
  if (channels !== 1 && channels !== 3) {
    throw new Error(`loadImageFolder(${dir}): channels must be 1 or 3, got ${channels}`);
  }
  const split = args.validationSplit;
  if (split !== undefined && !(split > 0 && split < 1)) {
    throw new Error(`loadImageFolder(${dir}): validationSplit must be in (0, 1), got ${split}`);
  }
  if ((split === undefined) !== (args.subset === undefined)) {
    throw new Error(`loadImageFolder(${dir}): validationSplit and subset must be given together (Keras semantics)`);
  }
  if (args.subset !== undefined && !['training', 'validation', 'both'].includes(args.subset)) {
    throw new Error(`loadImageFolder(${dir}): subset must be 'training', 'validation' or 'both', got '${args.subset}'`);
  }
}

/**
 * Load an image classification dataset from a folder with one subfolder per class, like Keras
 * `image_dataset_from_directory`: classes are the sorted subfolder names, images are decoded
 * with sharp (PNG/JPEG/WebP), alpha dropped, converted to RGB or grayscale, resized bilinearly
 * to `imageSize` and scaled to [0, 1]. Targets are one-hot; `classNames` is set on the result.
 *
 * With `validationSplit`, the file list is shuffled with `seed` and the last
 * `floor(split * N)` files form the validation subset.
 *
 * @example
 * const [train, val] = await loadImageFolder('data/flowers', {
 *   imageSize: [64, 64], validationSplit: 0.2, subset: 'both', seed: 1,
 * });
 * train.classNames; // ['daisy', 'rose', ...]
 */
export async function loadImageFolder(
  dir: string,
  args: ImageFolderArgs & { subset: 'both' },
): Promise<[TensorDataset, TensorDataset]>;
export async function loadImageFolder(dir: string, args: ImageFolderArgs): Promise<TensorDataset>;
export async function loadImageFolder(
  dir: string,
  args: ImageFolderArgs,
): Promise<TensorDataset | [TensorDataset, TensorDataset]> {
  validate(dir, args);
  const { classNames, files, labels } = listImageFolder(dir, args);
  const n = files.length;
  const order = args.shuffle === false ? Int32Array.from({ length: n }, (_, i) => i) : permutation(n, args.seed ?? 0);
  const part = (from: number, to: number): Promise<TensorDataset> => {
    const idx = order.subarray(from, to);
    return decodeAll(
      Array.from(idx, (i) => files[i]!),
      Int32Array.from(idx, (i) => labels[i]!),
      classNames,
      args,
    );
  };
  if (args.validationSplit === undefined) return part(0, n);
  const nVal = Math.floor(args.validationSplit * n);
  const cut = n - nVal;
  if (args.subset !== 'validation' && cut === 0) {
    throw new Error(`${dir}: validationSplit ${args.validationSplit} leaves no training images out of ${n}`);
  }
  if (args.subset !== 'training' && nVal === 0) {
    throw new Error(`${dir}: validationSplit ${args.validationSplit} of ${n} images leaves no validation images`);
  }
  if (args.subset === 'training') return part(0, cut);
  if (args.subset === 'validation') return part(cut, n);
  return [await part(0, cut), await part(cut, n)];
}
