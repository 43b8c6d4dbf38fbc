import fc from 'fast-check';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadImageFolder, loadSharp } from '../../../src/data/image-folder.js';
import { crc32 } from '../../../src/serialize/crc32.js';
import { classifyMessage } from './classify.js';
import { applyBytes, byteMutation, type ByteMutation } from './mutate.js';
import type { CaseResult, FuzzFormat } from './types.js';

/*
 * Image folders: two classes of 8x8 PNGs (gray and RGB), damaged byte by byte, with headers
 * rewritten to claim huge sizes (a valid chunk CRC, so only the size checks stand in the way), or
 * re-arranged (files removed, a class folder emptied or replaced by a file, junk added, symlinks
 * out of the folder or into a loop). Every PNG byte is covered by a chunk CRC-32 (and the image
 * data by Adler-32), so a damaged file that decodes to other pixels is garbage; re-arranged
 * folders that load are valid folders, except one linking outside, which must be refused.
 */

/** An image-folder case. */
export type ImagesCase =
  | { kind: 'bytes'; file: number; bytes: ByteMutation }
  | { kind: 'bomb'; file: number; width: number; height: number }
  | { kind: 'layout'; op: 'remove-file' | 'empty-class' | 'class-is-file' | 'symlink-out' | 'symlink-out-dir' | 'symlink-loop' | 'junk' | 'nested' | 'no-classes'; file: number };

const FILES = ['a/0.png', 'a/1.png', 'b/0.png', 'b/1.png'];
const ARGS = { imageSize: [8, 8] as [number, number], channels: 1 as const, shuffle: false };

/** Rewrite a PNG's IHDR width/height and fix the chunk's CRC (so the file claims that size, validly). */
export function pngWithSize(png: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(png); // a copy (Buffer#slice would be a view)
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  // Signature (8) + IHDR length (4) + 'IHDR' (4), then width and height; CRC over type + data.
  v.setUint32(16, width >>> 0);
  v.setUint32(20, height >>> 0);
  v.setUint32(29, crc32(out.subarray(12, 29)));
  return out;
}

/** The image-folder format. */
export function imagesFormat(): FuzzFormat<ImagesCase> {
  let base = '';
  let outside = '';
  let reference = new Float32Array(0);
  return {
    name: 'image-folder',
    cases: fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('bytes' as const), file: fc.integer({ min: 0, max: 3 }), bytes: byteMutation }) },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('bomb' as const),
          file: fc.integer({ min: 0, max: 3 }),
          width: fc.constantFrom(0, 1, 8, 9, 5505052, 65535, 1 << 20, 0x7fffffff, 0xffffffff),
          height: fc.constantFrom(0, 1, 8, 28, 4096, 1 << 16, 0x7fffffff),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('layout' as const),
          op: fc.constantFrom('remove-file' as const, 'empty-class' as const, 'class-is-file' as const, 'symlink-out' as const, 'symlink-out-dir' as const, 'symlink-loop' as const, 'junk' as const, 'nested' as const, 'no-classes' as const),
          file: fc.integer({ min: 0, max: 3 }),
        }),
      },
    ),
    async setup(dir) {
      base = join(dir, 'images');
      outside = join(dir, 'outside');
      const sharp = await loadSharp();
      for (const [i, f] of FILES.entries()) {
        mkdirSync(join(base, f, '..'), { recursive: true });
        const channels = i % 2 === 0 ? 1 : 3;
        const raw = Buffer.from(Array.from({ length: 64 * channels }, (_, k) => (k * (29 + i * 7)) % 256));
        await sharp(raw, { raw: { width: 8, height: 8, channels } }).png().toFile(join(base, f));
      }
      mkdirSync(outside, { recursive: true });
      cpSync(join(base, FILES[1]!), join(outside, 'secret.png'));
      reference = (await loadImageFolder(base, ARGS)).x.slice();
    },
    async run(c, caseDir): Promise<CaseResult> {
      const root = join(caseDir, 'images');
      cpSync(base, root, { recursive: true });
      const target = join(root, FILES[c.file]!);
      if (c.kind === 'bytes') writeFileSync(target, applyBytes(readFileSync(target), c.bytes));
      else if (c.kind === 'bomb') writeFileSync(target, pngWithSize(readFileSync(target), c.width, c.height));
      else {
        const cls = join(root, FILES[c.file]!.split('/')[0]!);
        ({
          'remove-file': () => rmSync(target),
          'empty-class': () => (rmSync(cls, { recursive: true }), mkdirSync(cls)),
          'class-is-file': () => (rmSync(cls, { recursive: true }), writeFileSync(cls, 'x')),
          'symlink-out': () => symlinkSync(join(outside, 'secret.png'), join(cls, 'linked.png')),
          'symlink-out-dir': () => symlinkSync(outside, join(root, 'c')),
          'symlink-loop': () => symlinkSync(cls, join(cls, 'loop')),
          junk: () => writeFileSync(join(cls, 'notes.png'), 'not an image at all'),
          nested: () => (mkdirSync(join(cls, 'sub')), cpSync(target, join(cls, 'sub', 'x.png'))),
          'no-classes': () => (rmSync(root, { recursive: true }), mkdirSync(root)),
        })[c.op]();
      }
      let x: Float32Array;
      try {
        x = (await loadImageFolder(root, ARGS)).x;
      } catch (err) {
        const message = (err as Error).message;
        return { verdict: classifyMessage(message, [root]), message };
      }
      if (c.kind === 'layout') {
        if (c.op === 'symlink-out' || c.op === 'symlink-out-dir') return { verdict: 'garbage', message: 'read a file outside the image folder' };
        return { verdict: 'clean', undetectable: true };
      }
      const same = x.length === reference.length && x.every((v, i) => v === reference[i]);
      if (same) return { verdict: 'clean' };
      if (c.kind === 'bomb' && c.width === 8 && c.height === 8) return { verdict: 'clean' };
      return { verdict: 'garbage', message: `a damaged PNG (${JSON.stringify(c).slice(0, 120)}) decoded to other pixels` };
    },
  };
}
