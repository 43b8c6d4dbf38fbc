import { readFileSync } from 'node:fs';

/** A parsed IDX array (the format of the original MNIST files). */
export interface IdxArray {
  /** Dimensions, e.g. [60000, 28, 28]. */
  shape: number[];
  /** Values, in row-major order. */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const IDX_TYPES: Record<number, { name: string; bytes: number }> = {
  0x08: { name: 'uint8', bytes: 1 },
  0x09: { name: 'int8', bytes: 1 },
  0x0b: { name: 'int16', bytes: 2 },
  0x0c: { name: 'int32', bytes: 4 },
  0x0d: { name: 'float32', bytes: 4 },
  0x0e: { name: 'float64', bytes: 8 },
};

/**
 * Parse IDX bytes (big-endian header: 0, 0, type code, number of dims, then one uint32 per dim).
 * @param source file name used in error messages
 */
export function parseIdx(bytes: Uint8Array, source = 'IDX data'): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`${source}: not an IDX file (expected magic 0x0000 in the first two bytes)`);
  }
  const type = IDX_TYPES[bytes[2]!];
  if (!type) throw new Error(`${source}: unknown IDX element type 0x${bytes[2]!.toString(16)}`);
  const rank = bytes[3]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = 4 + 4 * rank;
  if (bytes.length < header) throw new Error(`${source}: truncated IDX header`);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = header + count * type.bytes;
  if (bytes.length !== expected) {
    throw new Error(
      `${source}: IDX header declares shape [${shape}] of ${type.name} (${expected} bytes) but the file has ${bytes.length} bytes`,
    );
  }
  if (type.bytes === 1) {
    const raw = bytes.subarray(header);
    return { shape, data: type.name === 'uint8' ? new Uint8Array(raw) : new Int8Array(raw) };
  }
  // Multi-byte IDX values are big-endian; typed arrays are host-endian, so convert one by one.
  const read = {
    int16: (o: number) => view.getInt16(o, false),
    int32: (o: number) => view.getInt32(o, false),
    float32: (o: number) => view.getFloat32(o, false),
    float64: (o: number) => view.getFloat64(o, false),
  }[type.name as 'int16' | 'int32' | 'float32' | 'float64'];
  const Ctor = { int16: Int16Array, int32: Int32Array, float32: Float32Array, float64: Float64Array }[
    type.name as 'int16'
  ];
  const data = new Ctor(count);
  for (let i = 0; i < count; i++) data[i] = read(header + i * type.bytes);
  return { shape, data };
}

/** Read and parse an IDX file from disk. */
export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read IDX file ${path}: ${(err as Error).message}`);
  }
  return parseIdx(bytes, path);
}
