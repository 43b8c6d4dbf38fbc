import type { Dataset, File, Group } from 'jsfive';
import { oneLine } from '../../util/errors.js';

/*
 * A thin layer over jsfive (loaded on first use, so importing the SDK never pays for it): open a
 * file with one clear error when it is not readable HDF5, read string attributes the way h5py
 * writes them (fixed-length, NUL-padded), and turn datasets into typed arrays.
 */

/** One stored weight: its short name when the file records one (`kernel`), shape and values. */
export interface KerasWeight {
  name?: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

type Hdf5 = typeof import('jsfive');
let jsfive: Hdf5 | undefined;

/** Open HDF5 bytes; `file` names the file (or zip entry) in errors. */
export async function openHdf5(bytes: Uint8Array, file: string): Promise<{ root: File }> {
  jsfive ??= await import('jsfive');
  try {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const root = new jsfive.File(buffer, file);
    void root.keys; // jsfive parses lazily: touch the root group so a corrupt file fails here
    return { root };
  } catch (err) {
    throw corrupt(file, err);
  }
}

/** The error for a file jsfive cannot parse (truncated, corrupt, or not HDF5 after all). */
export function corrupt(file: string, err: unknown): Error {
  return new Error(`${file}: not a readable HDF5 file, truncated or corrupt (${oneLine(String((err as Error)?.message ?? err), 120)})`);
}

/** A child group or dataset, or undefined when absent (jsfive's own `get` throws). */
export function child(group: Group, key: string): Group | Dataset | undefined {
  let node: Group | Dataset = group;
  for (const part of key.split('/').filter(Boolean)) {
    if (!isGroup(node) || !node.keys.includes(part)) return undefined;
    node = node.get(part);
  }
  return node;
}

/** True for a jsfive group (jsfive's Dataset extends Array, a Group does not). */
export function isGroup(n: Group | Dataset | undefined): n is Group {
  return n !== undefined && !Array.isArray(n);
}

const clean = (s: unknown) => (s instanceof Uint8Array ? new TextDecoder().decode(s) : String(s)).replace(/\0+$/, '');

/** A string attribute (h5py stores them as fixed-length NUL-padded bytes or as vlen strings). */
export function stringAttr(node: Group | Dataset, name: string): string | undefined {
  const v = node.attrs[name];
  if (v === undefined || v === null) return undefined;
  return clean(Array.isArray(v) && v.length === 1 ? v[0] : v);
}

/** A string-list attribute such as `layer_names` / `weight_names`; [] for an empty one. */
export function stringListAttr(node: Group | Dataset, name: string): string[] | undefined {
  const v = node.attrs[name];
  if (v === undefined || v === null) return undefined;
  const list = Array.isArray(v) || ArrayBuffer.isView(v) ? Array.from(v as ArrayLike<unknown>) : [v];
  return list.map(clean).filter((s) => s.length > 0);
}

/** Read a dataset as a weight; `where` (file and path) names it in errors. */
export function readWeight(ds: Dataset, where: string, name?: string): KerasWeight {
  const dtype = typeof ds.dtype === 'string' ? ds.dtype : JSON.stringify(ds.dtype);
  let values: ArrayLike<number | bigint>;
  try {
    values = ds.value;
  } catch (err) {
    throw new Error(`${where}: cannot read the dataset, the file is truncated or corrupt (${oneLine((err as Error).message, 120)})`);
  }
  const shape = [...ds.shape];
  const size = shape.reduce((a, b) => a * b, 1);
  if (values.length !== size) throw new Error(`${where}: dataset holds ${values.length} values, its shape ${JSON.stringify(shape)} needs ${size}`);
  if (/^[<>|]f[48]$/.test(dtype)) return { name, shape, dtype: 'float32', data: Float32Array.from(values as ArrayLike<number>) };
  if (/^[<>|][iu][1248]$/.test(dtype)) return { name, shape, dtype: 'int32', data: Int32Array.from(values as ArrayLike<number>, Number) };
  throw new Error(`${where}: unsupported weight dtype '${dtype}' (expected float32/float64 or an integer type)`);
}
