import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';
import { oneLine } from '../util/errors.js';
import { TensorDataset, labelClassCount, oneHot } from './dataset.js';

/** NumPy dtype strings this module reads and writes (little-endian or byte-order-free only). */
export type NpyDtype = '<f4' | '<f8' | '|u1' | '<i4' | '<i8' | '|b1';

/** Typed array holding the values of an {@link NpyArray}; `|b1` (bool) is a Uint8Array of 0/1. */
export type NpyData = Float32Array | Float64Array | Uint8Array | Int32Array | BigInt64Array;

/** A parsed `.npy` array. */
export interface NpyArray {
  /** NumPy dtype string, normalised (e.g. `<u1` is reported as `|u1`). */
  dtype: NpyDtype;
  /** Dimensions; `[]` for a 0-d scalar. */
  shape: number[];
  /** Values in C (row-major) order. */
  data: NpyData;
}

/** Options for {@link encodeNpy} / {@link writeNpy}. */
export interface NpyWriteArgs {
  /** Stored dtype; default follows the array type (Float32Array → `<f4`, Uint8Array → `|u1`, number[] → `<f8`...). */
  dtype?: NpyDtype;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

const DTYPES: Record<NpyDtype, { bytes: number; make: (buf: ArrayBuffer, n: number) => NpyData }> = {
  '<f4': { bytes: 4, make: (b, n) => new Float32Array(b, 0, n) },
  '<f8': { bytes: 8, make: (b, n) => new Float64Array(b, 0, n) },
  '|u1': { bytes: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  '|b1': { bytes: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  '<i4': { bytes: 4, make: (b, n) => new Int32Array(b, 0, n) },
  '<i8': { bytes: 8, make: (b, n) => new BigInt64Array(b, 0, n) },
};

// One-byte types have no byte order, so numpy may spell them with '|', '<' or '='.
const ALIASES: Record<string, NpyDtype> = { '<u1': '|u1', '=u1': '|u1', '<b1': '|b1', '=b1': '|b1' };

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function assertLittleEndianHost(source: string): void {
  // Typed arrays use host byte order; every platform Node ships on is little-endian.
  if (!HOST_LITTLE_ENDIAN) throw new Error(`${source}: .npy support needs a little-endian host`);
}

/**
 * The header dict as numpy reads it (`ast.literal_eval` of a dict with exactly the keys descr,
 * fortran_order and shape): a strict little parser of that Python literal, so a header numpy
 * refuses (a NUL byte, a stray token, a missing or extra key) is refused here too.
 */
function headerDict(text: string, source: string): Record<string, string | boolean | number[]> {
  const bad = (why: string) => new Error(`${source}: .npy header is not the dict numpy writes (${why})`);
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const str = (): string => {
    const q = text[i];
    if (q !== "'" && q !== '"') throw bad(`expected a quoted string at byte ${i}`);
    const end = text.indexOf(q, i + 1);
    if (end < 0) throw bad('unterminated string');
    const v = text.slice(i + 1, end);
    if (v.includes('\\') || v.includes('\n')) throw bad('escapes in strings are not supported');
    i = end + 1;
    return v;
  };
  const value = (): string | boolean | number[] => {
    if (text[i] === "'" || text[i] === '"') return str();
    if (text.startsWith('True', i)) return (i += 4), true;
    if (text.startsWith('False', i)) return (i += 5), false;
    if (text[i] === '(') {
      i++;
      const dims: number[] = [];
      for (;;) {
        ws();
        if (text[i] === ')') break;
        const m = /^(\d+)L?/.exec(text.slice(i, i + 24));
        if (!m) throw bad(`bad dimension at byte ${i}`);
        dims.push(Number.parseInt(m[1]!, 10));
        i += m[0].length;
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== ')') throw bad(`expected ',' or ')' at byte ${i}`);
      }
      i++;
      return dims;
    }
    if (text[i] === '[') throw new Error(`${source}: structured (record) dtypes are not supported`);
    throw bad(`unexpected ${JSON.stringify(text[i] ?? 'end')} at byte ${i}`);
  };
  ws();
  if (text[i++] !== '{') throw bad("expected '{'");
  const out: Record<string, string | boolean | number[]> = {};
  for (;;) {
    ws();
    if (text[i] === '}') break;
    const key = str();
    ws();
    if (text[i++] !== ':') throw bad(`expected ':' after '${key}'`);
    ws();
    if (key in out) throw bad(`key '${key}' appears twice`);
    out[key] = value();
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw bad(`expected ',' or '}' at byte ${i}`);
  }
  i++;
  ws();
  if (i !== text.length) throw bad(`unexpected ${JSON.stringify(text[i])} after the dict at byte ${i}`);
  const keys = Object.keys(out).sort().join();
  if (keys !== 'descr,fortran_order,shape') throw bad(`keys ${Object.keys(out).join(', ') || 'none'}; expected descr, fortran_order, shape`);
  return out;
}

function parseHeader(text: string, source: string): { dtype: NpyDtype; shape: number[] } {
  const dict = headerDict(text, source);
  if (typeof dict.descr !== 'string') throw new Error(`${source}: .npy header 'descr' must be a dtype string`);
  const raw = dict.descr;
  if (raw.startsWith('>')) {
    throw new Error(
      `${source}: big-endian dtype '${raw}' is not supported; save it little-endian, e.g. np.save(path, a.astype('<${raw.slice(1)}'))`,
    );
  }
  const dtype = (ALIASES[raw] ?? raw) as NpyDtype;
  if (!(dtype in DTYPES)) {
    throw new Error(`${source}: unsupported dtype '${oneLine(raw, 40)}'; supported: ${Object.keys(DTYPES).join(', ')}`);
  }
  if (typeof dict.fortran_order !== 'boolean') throw new Error(`${source}: .npy header 'fortran_order' must be True or False`);
  if (dict.fortran_order) {
    throw new Error(`${source}: fortran_order=True arrays are not supported; save np.ascontiguousarray(a) instead`);
  }
  if (!Array.isArray(dict.shape)) throw new Error(`${source}: .npy header 'shape' must be a tuple of integers`);
  return { dtype, shape: dict.shape };
}

/**
 * Parse `.npy` bytes (format versions 1.0, 2.0 and 3.0).
 * @param source file name used in error messages
 */
export function parseNpy(bytes: Uint8Array, source = '.npy data'): NpyArray {
  assertLittleEndianHost(source);
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new Error(`${source}: not a .npy file (missing the \\x93NUMPY magic string)`);
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3) throw new Error(`${source}: unsupported .npy format version ${major}.${minor}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) throw new Error(`${source}: truncated .npy header`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenBytes;
  const dataStart = start + headerLen;
  if (bytes.length < dataStart) throw new Error(`${source}: truncated .npy header`);
  // Versions 1 and 2 store the header as latin1; version 3 allows UTF-8.
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, dataStart));
  const { dtype, shape } = parseHeader(text, source);
  const count = shape.reduce((a, b) => a * b, 1);
  const byteLen = count * DTYPES[dtype].bytes;
  const have = bytes.length - dataStart;
  if (have !== byteLen) {
    throw new Error(
      `${source}: header declares shape [${shape}] of ${dtype} (${byteLen} data bytes) but the file has ${have} data bytes`,
    );
  }
  // Copy into a fresh buffer: the source may be unaligned (Node's Buffer pool) for 4/8-byte views.
  const buf = new ArrayBuffer(byteLen);
  new Uint8Array(buf).set(bytes.subarray(dataStart, dataStart + byteLen));
  const data = DTYPES[dtype].make(buf, count);
  if (dtype === '|b1') for (let i = 0; i < count; i++) (data as Uint8Array)[i] = data[i] ? 1 : 0;
  return { dtype, shape, data };
}

/**
 * Read a `.npy` file written by `numpy.save` (or {@link writeNpy}).
 *
 * @example
 * const { shape, data } = readNpy('x_train.npy'); // e.g. [60000, 28, 28] Uint8Array
 */
export function readNpy(path: string): NpyArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read .npy file ${path}: ${(err as Error).message}`);
  }
  return parseNpy(bytes, path);
}

function naturalDtype(array: ArrayLike<number> | BigInt64Array): NpyDtype {
  if (array instanceof Float32Array) return '<f4';
  if (array instanceof Uint8Array) return '|u1';
  if (array instanceof Int32Array) return '<i4';
  if (array instanceof BigInt64Array) return '<i8';
  return '<f8';
}

function convert(array: ArrayLike<number> | BigInt64Array, dtype: NpyDtype): NpyData {
  const n = array.length;
  const out = DTYPES[dtype].make(new ArrayBuffer(n * DTYPES[dtype].bytes), n);
  if (out instanceof BigInt64Array) {
    for (let i = 0; i < n; i++) {
      const v = array[i]!;
      if (typeof v === 'number' && !Number.isInteger(v)) {
        throw new Error(`writeNpy: value ${v} at index ${i} is not an integer but dtype is <i8`);
      }
      out[i] = BigInt(v);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = Number(array[i]!);
      out[i] = dtype === '|b1' ? (v ? 1 : 0) : v;
    }
  }
  return out;
}

/** Encode an array as `.npy` bytes (format version 1.0, C order, 64-byte aligned data). */
export function encodeNpy(
  array: ArrayLike<number> | BigInt64Array,
  shape: number[],
  args: NpyWriteArgs = {},
): Uint8Array {
  assertLittleEndianHost('encodeNpy');
  for (const d of shape) {
    if (!(Number.isInteger(d) && d >= 0)) throw new Error(`encodeNpy: shape [${shape}] has a bad dimension ${d}`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (array.length !== count) {
    throw new Error(`encodeNpy: shape [${shape}] needs ${count} values but the array has ${array.length}`);
  }
  const dtype = args.dtype ?? naturalDtype(array);
  if (!(dtype in DTYPES)) throw new Error(`encodeNpy: unsupported dtype '${dtype}'`);
  const data = ArrayBuffer.isView(array) && dtype === naturalDtype(array) ? (array as NpyData) : convert(array, dtype);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Version 1.0 (2-byte header length) always suffices: numpy caps rank at 64 dims.
  const prefix = 10;
  // numpy pads the header with spaces and a final newline so the data starts 64-byte aligned.
  const total = Math.ceil((prefix + header.length + 1) / 64) * 64;
  header = header.padEnd(total - prefix - 1, ' ') + '\n';
  const dataBytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(total + dataBytes.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(dataBytes, total);
  return out;
}

/**
 * Write an array as a `.npy` file that `numpy.load` reads (atomic: temp file + rename).
 *
 * @example
 * writeNpy('x.npy', ds.x, [ds.size, ...ds.xShape]);            // float32
 * writeNpy('y.npy', ds.labels!, [ds.size]);                      // int32 labels
 * writeNpy('mask.npy', bits, [n], { dtype: '|b1' });            // bool
 */
export function writeNpy(
  path: string,
  array: ArrayLike<number> | BigInt64Array,
  shape: number[],
  args: NpyWriteArgs = {},
): void {
  writeFileAtomic(path, encodeNpy(array, shape, args));
}

/** Values of an {@link NpyArray} as float32 (no copy when it already is `<f4`). */
export function npyToFloat32(array: NpyArray): Float32Array {
  if (array.data instanceof Float32Array) return array.data;
  const out = new Float32Array(array.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(array.data[i]!);
  return out;
}

export { MAX_CLASSES, MAX_ONE_HOT_VALUES } from './dataset.js';

/** Options for {@link loadNpyDataset}. */
export interface NpyDatasetArgs {
  /**
   * Number of classes for integer labels (default: max label + 1, at most {@link MAX_CLASSES}); checked
   * against one-hot targets.
   */
  numClasses?: number;
  /**
   * How to read y: `labels` (integer class per sample → one-hot), `targets` (used as-is), or
   * `auto` (default): integer/bool arrays of shape [N] or [N, 1] are labels, anything else targets.
   * Use `labels` for class ids stored as floats.
   */
  yMode?: 'auto' | 'labels' | 'targets';
  /** Multiply inputs by this factor, e.g. `1 / 255` for uint8 images. Default 1. */
  xScale?: number;
  /** Keep only the first `limit` samples. */
  limit?: number;
  /** Optional class names attached to the dataset. */
  classNames?: string[];
}

function labelsFrom(y: NpyArray, n: number, yPath: string): Int32Array {
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(y.data[i]!);
    if (!(Number.isInteger(v) && v >= 0)) {
      throw new Error(`${yPath}: label ${v} at sample ${i} is not a non-negative integer`);
    }
    labels[i] = v;
  }
  return labels;
}

/**
 * Build a dataset from two `.npy` files: inputs `x` of shape [N, ...] and targets `y` of
 * shape [N] / [N, 1] (integer labels, one-hot encoded here) or [N, ...] (one-hot or float targets).
 * For 2-D targets, `labels` holds the argmax of each row.
 *
 * @example
 * const ds = loadNpyDataset('x.npy', 'y.npy', { xScale: 1 / 255, numClasses: 10 });
 */
export function loadNpyDataset(xPath: string, yPath: string, args: NpyDatasetArgs = {}): TensorDataset {
  const x = readNpy(xPath);
  const y = readNpy(yPath);
  if (x.shape.length === 0) throw new Error(`${xPath}: expected an array of samples [N, ...], got a scalar`);
  if (y.shape.length === 0) throw new Error(`${yPath}: expected an array of targets [N, ...], got a scalar`);
  if (x.shape[0] !== y.shape[0]) {
    throw new Error(
      `sample counts differ: ${xPath} has ${x.shape[0]} samples (shape [${x.shape}]) but ${yPath} has ${y.shape[0]} (shape [${y.shape}])`,
    );
  }
  const n = Math.min(args.limit ?? x.shape[0]!, x.shape[0]!);
  const xShape = x.shape.length === 1 ? [1] : x.shape.slice(1);
  const xSize = xShape.reduce((a, b) => a * b, 1);
  const scale = args.xScale ?? 1;
  const xAll = npyToFloat32(x);
  const xs = new Float32Array(n * xSize);
  for (let i = 0; i < xs.length; i++) xs[i] = xAll[i]! * scale;

  const integer = y.dtype !== '<f4' && y.dtype !== '<f8';
  const columnVector = y.shape.length === 1 || (y.shape.length === 2 && y.shape[1] === 1);
  const mode = args.yMode ?? 'auto';
  if (mode === 'labels' && !columnVector) {
    throw new Error(`${yPath}: yMode 'labels' needs shape [N] or [N, 1], got [${y.shape}]`);
  }
  if (mode === 'labels' || (mode === 'auto' && integer && columnVector)) {
    const labels = labelsFrom(y, n, yPath);
    const numClasses = labelClassCount(labels, yPath, args.numClasses);
    return new TensorDataset(xs, xShape, oneHot(labels, numClasses), [numClasses], labels, args.classNames);
  }
  const yShape = y.shape.length === 1 ? [1] : y.shape.slice(1);
  const ySize = yShape.reduce((a, b) => a * b, 1);
  if (args.numClasses !== undefined && yShape[yShape.length - 1] !== args.numClasses) {
    throw new Error(`${yPath}: targets have ${yShape[yShape.length - 1]} classes (shape [${y.shape}]) but numClasses is ${args.numClasses}`);
  }
  const ys = npyToFloat32(y).slice(0, n * ySize);
  let labels: Int32Array | undefined;
  if (yShape.length === 1 && ySize > 1) {
    labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < ySize; c++) if (ys[i * ySize + c]! > ys[i * ySize + best]!) best = c;
      labels[i] = best;
    }
  }
  return new TensorDataset(xs, xShape, ys, yShape, labels, args.classNames);
}
