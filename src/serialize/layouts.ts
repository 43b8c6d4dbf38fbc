import { ByteWriter } from './bytes.js';

/**
 * Position layouts: which elements of a tensor are stored. `dense` stores all; the sparse
 * layouts store only the elements that are not exactly zero in the chosen value representation.
 */
export interface PositionLayout {
  /** Manifest key. */
  name: string;
  /** Encode the positions of the stored elements (ascending). */
  encode(positions: Int32Array, count: number): Uint8Array;
  /** Byte length of the position stream if known from `count` and `nnz` alone (else null). */
  fixedBytes(count: number, nnz: number): number | null;
  /** Decode and validate; returns the `nnz` ascending positions, or null for dense. */
  decode(bytes: Uint8Array, count: number, nnz: number, what: string): Int32Array | null;
}

const dense: PositionLayout = {
  name: 'dense',
  encode: () => new Uint8Array(0),
  fixedBytes: () => 0,
  decode: () => null,
};

/** One bit per element (LSB first): 1 = stored. */
const bitmask: PositionLayout = {
  name: 'bitmask',
  encode(positions, count) {
    const out = new Uint8Array(Math.ceil(count / 8));
    for (const p of positions) out[p >>> 3]! |= 1 << (p & 7);
    return out;
  },
  fixedBytes: (count) => Math.ceil(count / 8),
  decode(bytes, count, nnz, what) {
    const out = new Int32Array(nnz);
    let k = 0;
    for (let i = 0; i < count; i++) {
      if (bytes[i >>> 3]! & (1 << (i & 7))) {
        if (k === nnz) throw new Error(`${what}: bitmask marks more than the declared ${nnz} stored elements`);
        out[k++] = i;
      }
    }
    if (k !== nnz) throw new Error(`${what}: bitmask marks ${k} stored elements, ${nnz} declared`);
    if (count % 8 && bytes[bytes.length - 1]! >>> count % 8) throw new Error(`${what}: bitmask has bits set past the last element`);
    return out;
  },
};

/** Gaps between stored positions as LEB128 varints: first the position, then `next - prev - 1`. */
const delta: PositionLayout = {
  name: 'delta',
  encode(positions) {
    const w = new ByteWriter();
    let prev = -1;
    for (const p of positions) {
      w.varint(p - prev - 1);
      prev = p;
    }
    return w.finish();
  },
  fixedBytes: () => null,
  decode(bytes, count, nnz, what) {
    const out = new Int32Array(nnz);
    let prev = -1;
    let o = 0;
    for (let k = 0; k < nnz; k++) {
      let v = 0;
      let mul = 1;
      for (;;) {
        if (o >= bytes.length) throw new Error(`${what}: delta positions end after ${k} of ${nnz} entries`);
        const b = bytes[o++]!;
        v += (b & 0x7f) * mul;
        mul *= 128;
        if (!(b & 0x80)) break;
        if (mul > 2 ** 35) throw new Error(`${what}: delta position varint too long`);
      }
      prev = prev + 1 + v;
      if (prev >= count) throw new Error(`${what}: delta position ${prev} is past the ${count} elements`);
      out[k] = prev;
    }
    if (o !== bytes.length) throw new Error(`${what}: ${bytes.length - o} unused bytes after the delta positions`);
    return out;
  },
};

const LAYOUTS = new Map<string, PositionLayout>([dense, bitmask, delta].map((l) => [l.name, l]));

/** Look up a layout by its manifest name. */
export function getLayout(name: unknown, what: string): PositionLayout {
  const l = LAYOUTS.get(name as string);
  if (!l) throw new Error(`${what}: unknown layout '${String(name)}' (this reader knows ${[...LAYOUTS.keys()].join(', ')})`);
  return l;
}

/** All registered layouts. */
export function allLayouts(): PositionLayout[] {
  return [...LAYOUTS.values()];
}
