import fc from 'fast-check';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readIdx } from '../../../src/data/idx.js';
import { classifyMessage } from './classify.js';
import { applyBytes, byteMutation, type ByteMutation } from './mutate.js';
import type { CaseResult, FuzzFormat } from './types.js';

/*
 * IDX (the MNIST file format): images (uint8 [4, 5, 5]), labels (uint8 [4]) and a float32 and an
 * int16 array (big-endian element types), damaged byte by byte. The judge is the format's
 * definition from the MNIST page, written out below independently of src/data/idx.ts: a file we
 * read must be one it reads to the same shape and values.
 */

/** An IDX case. */
export interface IdxCase {
  file: number;
  bytes: ByteMutation;
  again: ByteMutation | null;
}

const FILES = ['images.idx3-ubyte', 'labels.idx1-ubyte', 'floats.idx2', 'shorts.idx1'];

/** The IDX format by its definition: magic 0,0,type,rank; rank big-endian uint32 dims; big-endian data, nothing after. */
export function referenceIdx(b: Uint8Array): { shape: number[]; values: number[] } | undefined {
  const sizes: Record<number, number> = { 8: 1, 9: 1, 11: 2, 12: 4, 13: 4, 14: 8 };
  if (b.length < 4 || b[0] !== 0 || b[1] !== 0 || !(b[2]! in sizes)) return undefined;
  const rank = b[3]!;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 4 + 4 * rank) return undefined;
  const shape = Array.from({ length: rank }, (_, i) => v.getUint32(4 + 4 * i));
  const n = shape.reduce((a, d) => a * d, 1);
  const w = sizes[b[2]!]!;
  if (b.length !== 4 + 4 * rank + n * w) return undefined;
  const at = 4 + 4 * rank;
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const o = at + i * w;
    values.push({ 8: () => v.getUint8(o), 9: () => v.getInt8(o), 11: () => v.getInt16(o), 12: () => v.getInt32(o), 13: () => v.getFloat32(o), 14: () => v.getFloat64(o) }[b[2]!]!());
  }
  return { shape, values };
}

function idxBytes(type: number, shape: number[], values: number[]): Uint8Array {
  const w = { 8: 1, 9: 1, 11: 2, 12: 4, 13: 4, 14: 8 }[type]!;
  const out = new Uint8Array(4 + 4 * shape.length + values.length * w);
  const v = new DataView(out.buffer);
  out[2] = type;
  out[3] = shape.length;
  shape.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  const at = 4 + 4 * shape.length;
  values.forEach((x, i) => ({ 8: () => v.setUint8(at + i, x), 11: () => v.setInt16(at + 2 * i, x), 13: () => v.setFloat32(at + 4 * i, x) })[type as 8]!());
  return out;
}

/** The IDX format. */
export function idxFormat(): FuzzFormat<IdxCase> {
  let base = '';
  const originals: string[] = [];
  return {
    name: 'idx',
    cases: fc.record({ file: fc.integer({ min: 0, max: FILES.length - 1 }), bytes: byteMutation, again: fc.option(byteMutation, { nil: null }) }),
    async setup(dir) {
      base = dir;
      writeFileSync(join(dir, FILES[0]!), idxBytes(8, [4, 5, 5], Array.from({ length: 100 }, (_, i) => (i * 37) % 256)));
      writeFileSync(join(dir, FILES[1]!), idxBytes(8, [4], [3, 1, 4, 1]));
      writeFileSync(join(dir, FILES[2]!), idxBytes(13, [3, 2], [0.5, -1.25, 3, 1e-3, -7, 2.5]));
      writeFileSync(join(dir, FILES[3]!), idxBytes(11, [5], [-300, 2, 30000, -1, 7]));
      for (const f of FILES) {
        const a = readIdx(join(dir, f));
        originals.push(JSON.stringify([a.shape, Array.from(a.data as ArrayLike<number>)]));
      }
    },
    async run(c, caseDir): Promise<CaseResult> {
      const file = join(caseDir, FILES[c.file]!);
      let bytes = applyBytes(readFileSync(join(base, FILES[c.file]!)), c.bytes);
      if (c.again) bytes = applyBytes(bytes, c.again);
      writeFileSync(file, bytes);
      const ref = referenceIdx(bytes);
      let ours;
      try {
        ours = readIdx(file);
      } catch (err) {
        const message = (err as Error).message;
        return { verdict: classifyMessage(message, [file]), message };
      }
      const values = Array.from(ours.data as ArrayLike<number>);
      const same = ref && JSON.stringify(ref.shape) === JSON.stringify(ours.shape) && ref.values.every((v, i) => v === values[i] || (Number.isNaN(v) && Number.isNaN(values[i]!))) && ref.values.length === values.length;
      if (!same) return { verdict: 'garbage', message: `read as shape [${ours.shape}] but the format ${ref ? `gives shape [${ref.shape}] / other values` : 'refuses the file'}` };
      // Read as the definition reads it; a changed data byte is a valid other file (IDX has no checksum).
      return { verdict: 'clean', undetectable: JSON.stringify([ours.shape, values]) !== originals[c.file] };
    },
  };
}
