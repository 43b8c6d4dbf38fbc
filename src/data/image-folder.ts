import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { OutputInfo } from 'sharp';
import { oneLine } from '../util/errors.js';
import { isInside } from '../model/validate/paths.js';
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

/** Real path of an entry, or undefined when it leads outside `root` (symlinks are followed only inside it). */
function insideRoot(root: string, path: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return undefined;
  }
  if (!isInside(root, real)) throw new Error(`${path}: leads (through a symlink) outside the image folder ${root}; refused`);
  return real;
}

function walkImages(dir: string, root: string = realpathSync(dir), seen = new Set<string>()): string[] {
  const out: string[] = [];
  // A folder linked into itself is walked once.
  const here = realpathSync(dir);
  if (seen.has(here)) return out;
  seen.add(here);
  const entries = readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => byCodepoint(a.name, b.name));
  for (const e of entries) {
    const path = join(dir, e.name);
    // Linked folders/files count like real ones, as long as they stay inside the image folder.
    if (e.isSymbolicLink() && insideRoot(root, path) === undefined) continue;
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) out.push(...walkImages(path, root, seen));
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
    const root = realpathSync(dir);
    if (insideRoot(root, join(dir, name)) === undefined) throw new Error(`${join(dir, name)}: class folder not found`);
    let found = walkImages(join(dir, name), root);
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

/** Most pixels (width x height) an image may declare; larger ones are refused before decoding. */
export const MAX_IMAGE_PIXELS = 2 ** 26;

/**
 * Deflate expands at most ~1032x, so a PNG's decoded bytes are bounded by its file size: a header
 * claiming more (a few bytes saying 5505052x28) is refused before a pixel is decoded.
 */
const PNG_MAX_EXPANSION = 1100;

const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

/** Bytes of filtered scanlines a PNG's IHDR implies (all 7 passes when interlaced). */
function pngDataBytes(w: number, h: number, bitsPerPixel: number, interlaced: boolean): number {
  const rows = (pw: number, ph: number) => (pw > 0 && ph > 0 ? ph * (1 + Math.ceil((pw * bitsPerPixel) / 8)) : 0);
  if (!interlaced) return rows(w, h);
  return ADAM7.reduce((sum, [x0, y0, dx, dy]) => sum + rows(Math.ceil((w - x0!) / dx!), Math.ceil((h - y0!) / dy!)), 0);
}

/**
 * A PNG's image data must inflate to exactly the size its header implies. Decoders take a header
 * that claims less than the data holds (sharp reads a 8x8 image rewritten to say 1x1 without a
 * warning): checked here, the inflate stopped as soon as it passes the expected size.
 */
async function checkPngData(path: string, bytes: Uint8Array): Promise<void> {
  const bad = (why: string) => new Error(`${path}: corrupt PNG (${why})`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  let expected = -1;
  const { Unzlib } = await import('fflate');
  let got = 0;
  let over = false;
  const inflater = new Unzlib((chunk) => {
    got += chunk.length;
    if (got > expected) over = true;
  });
  let sawEnd = false;
  while (at + 8 <= bytes.length) {
    const len = v.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (at + 12 + len > bytes.length) throw bad(`chunk ${type} runs past the end of the file`);
    const data = bytes.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      const [w, h, depth, color, , , interlace] = [v.getUint32(at + 8), v.getUint32(at + 12), data[8]!, data[9]!, data[10], data[11], data[12]!];
      if (PNG_CHANNELS[color] === undefined) throw bad(`color type ${color}`);
      expected = pngDataBytes(w, h, depth * PNG_CHANNELS[color]!, interlace === 1);
    } else if (type === 'IDAT') {
      if (expected < 0) throw bad('image data before the header');
      try {
        inflater.push(data);
      } catch (err) {
        throw bad(`image data does not inflate: ${oneLine((err as Error).message, 80)}`);
      }
      if (over) throw bad(`image data holds more than the ${expected} bytes its header implies`);
    } else if (type === 'IEND') {
      sawEnd = true;
      break;
    }
    at += 12 + len;
  }
  if (!sawEnd) throw bad('no IEND chunk');
  if (got !== expected) throw bad(`image data holds ${got} bytes, its header implies ${expected}`);
}

/** Read the image header only and refuse sizes the file cannot hold or over {@link MAX_IMAGE_PIXELS}. */
async function checkImageHeader(sharp: (typeof import('sharp'))['default'], path: string): Promise<void> {
  let meta: import('sharp').Metadata;
  try {
    meta = await sharp(path, { failOn: 'error', limitInputPixels: false }).metadata();
  } catch (err) {
    throw new Error(`${path}: cannot decode image: ${oneLine((err as Error).message, 200)}`);
  }
  const { width = 0, height = 0, channels = 1, format, size } = meta;
  const pixels = width * height;
  if (!(pixels > 0)) throw new Error(`${path}: image header declares ${width}x${height} pixels`);
  const bytes = size ?? statSync(path).size;
  const depth = meta.depth === 'ushort' ? 2 : 1;
  if (format === 'png' && height * (width * channels * depth + 1) > PNG_MAX_EXPANSION * bytes) {
    throw new Error(`${path}: PNG header declares ${width}x${height}x${channels} pixels, more than its ${bytes} bytes can hold (corrupt or a decompression bomb)`);
  }
  if (pixels > MAX_IMAGE_PIXELS) throw new Error(`${path}: image header declares ${width}x${height} = ${pixels} pixels, over the limit of ${MAX_IMAGE_PIXELS}`);
  if (format === 'png') await checkPngData(path, new Uint8Array(readFileSync(path)));
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
  await checkImageHeader(sharp, path);
  let pipeline = sharp(path, { failOn: 'error', limitInputPixels: MAX_IMAGE_PIXELS }).removeAlpha();
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
