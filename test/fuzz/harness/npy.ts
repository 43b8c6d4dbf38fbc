import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy, loadNpyDataset, readNpy } from '../../../src/data/npy.js';
import { classifyMessage } from './classify.js';
import { applyBytes, byteMutation, type ByteMutation } from './mutate.js';
import type { CaseResult, FuzzFormat } from './types.js';

/*
 * .npy: inputs (float32 [5, 3, 2]) and labels (int32 [5]) damaged byte by byte (the header is
 * where most bytes land: the small arrays make it a third of the file). numpy itself is the judge:
 * a file we read must be one numpy reads to the same shape and values; a file numpy reads
 * differently from the original is a valid different file (a data byte changed), not garbage.
 * Every case also goes through loadNpyDataset (labels, one-hot), which must succeed or fail cleanly.
 */

/** An .npy case. */
export interface NpyCase {
  file: 'x' | 'y';
  bytes: ByteMutation;
  /** A second mutation on the same file (header and data at once), or none. */
  again: ByteMutation | null;
}

const here = dirname(fileURLToPath(import.meta.url));

interface Oracle {
  ok: boolean;
  shape?: number[];
  values?: Array<number | string>;
  error?: string;
}

/** numpy's answers for a batch of files (one python process). */
function numpyRead(paths: string[]): Oracle[] {
  const r = spawnSync('/usr/bin/python3', [join(here, 'npy-oracle.py')], { input: paths.join('\n') + '\n', encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`npy oracle failed: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Oracle);
}

/** The .npy format. */
export function npyFormat(): FuzzFormat<NpyCase> {
  let base = '';
  let root = '';
  const oracle = new Map<number, Oracle>();
  const mutated = new Map<number, Uint8Array>();
  let count = 0;
  const originals: Record<string, string> = {};
  return {
    name: 'npy',
    cases: fc.record({ file: fc.constantFrom('x' as const, 'y' as const), bytes: byteMutation, again: fc.option(byteMutation, { nil: null }) }),
    async setup(dir) {
      base = dir;
      const x = Float32Array.from({ length: 30 }, (_, i) => (i - 11) / 4);
      writeFileSync(join(dir, 'x.npy'), encodeNpy(x, [5, 3, 2]));
      writeFileSync(join(dir, 'y.npy'), encodeNpy(Int32Array.of(0, 1, 2, 1, 0), [5]));
      for (const f of ['x', 'y']) {
        const a = readNpy(join(dir, `${f}.npy`));
        originals[f] = JSON.stringify([a.shape, Array.from(a.data as ArrayLike<number>, Number)]);
      }
    },
    async prepare(cases, dir) {
      // Mutate every case now and ask numpy about all of them in one process.
      root = join(dir, 'oracle');
      mkdirSync(root, { recursive: true });
      const paths = cases.map((c, i) => {
        let bytes = applyBytes(readFileSync(join(base, `${c.file}.npy`)), c.bytes);
        if (c.again) bytes = applyBytes(bytes, c.again);
        mutated.set(i, bytes);
        const p = join(root, `${i}.npy`);
        writeFileSync(p, bytes);
        return p;
      });
      numpyRead(paths).forEach((o, i) => oracle.set(i, o));
    },
    async run(c, caseDir): Promise<CaseResult> {
      const i = count++;
      const file = join(caseDir, `${c.file}.npy`);
      copyFileSync(join(base, c.file === 'x' ? 'y.npy' : 'x.npy'), join(caseDir, c.file === 'x' ? 'y.npy' : 'x.npy'));
      writeFileSync(file, mutated.get(i)!);
      const np = oracle.get(i)!;
      let ours;
      try {
        ours = readNpy(file);
      } catch (err) {
        const message = (err as Error).message;
        return { verdict: classifyMessage(message, [file]), message };
      }
      // We read it: numpy must read the same array.
      const values = Array.from(ours.data as ArrayLike<number | bigint>, Number);
      const same = np.ok && JSON.stringify(np.shape) === JSON.stringify(ours.shape) && np.values!.length === values.length && np.values!.every((v, k) => (typeof v === 'string' ? String(values[k]) === v || (v === 'nan' && Number.isNaN(values[k])) : v === values[k] || (Number.isNaN(v) && Number.isNaN(values[k]!))));
      if (!same) return { verdict: 'garbage', message: `read as shape [${ours.shape}] but numpy ${np.ok ? `reads shape [${np.shape}] / other values` : `refuses it (${np.error})`}` };
      try {
        loadNpyDataset(join(caseDir, 'x.npy'), join(caseDir, 'y.npy'));
      } catch (err) {
        const message = (err as Error).message;
        return { verdict: classifyMessage(message, [join(caseDir, 'x.npy'), join(caseDir, 'y.npy')]), message };
      }
      // Read as numpy reads it; a changed data byte or a spec-valid header edit is a valid other file.
      return { verdict: 'clean', undetectable: JSON.stringify([ours.shape, values]) !== originals[c.file] };
    },
  };
}
