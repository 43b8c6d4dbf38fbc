import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertReplaceable, recoverDir, removeLeftover, setWriteFaultHook, writeDirAtomic, writeFileAtomic, type WriteBoundary } from '../../src/util/atomic.js';

const tmp = mkdtempSync(join(tmpdir(), 'atomic-'));
let n = 0;
const fresh = () => {
  const d = join(tmp, `case-${n++}`);
  mkdirSync(d);
  return d;
};
class Killed extends Error {}
const killAt = (kind: WriteBoundary['kind']) =>
  setWriteFaultHook((b) => {
    if (b.kind === kind) throw new Killed(kind);
  });

describe('atomic writers', () => {
  afterEach(() => setWriteFaultHook(undefined));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('a single file: killed before its rename it stays old; stale temp files are swept by a later process, young ones left alone', () => {
    const d = fresh();
    const f = join(d, 'model.tfjsc');
    writeFileAtomic(f, 'old');
    killAt('rename');
    expect(() => writeFileAtomic(f, 'new')).toThrow(Killed);
    setWriteFaultHook(undefined);
    expect(readFileSync(f, 'utf8')).toBe('old');
    const left = readdirSync(d).filter((x) => x !== 'model.tfjsc');
    expect(left).toEqual([expect.stringMatching(/^\.model\.tfjsc\.tmp-[0-9a-f]{8}$/)]);
    expect(readFileSync(join(d, left[0]!), 'utf8')).toBe('new'); // the killed write's data, never renamed in

    // A later process writing into a folder: temp files older than 10 minutes go, a younger one (maybe in flight) stays.
    const e = fresh();
    writeFileSync(join(e, '.a.onnx.tmp-0123abcd'), 'crashed long ago');
    utimesSync(join(e, '.a.onnx.tmp-0123abcd'), new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
    writeFileSync(join(e, '.b.onnx.tmp-4567cdef'), 'in flight');
    writeFileAtomic(join(e, 'c.onnx'), 'c');
    expect(readdirSync(e).sort()).toEqual(['.b.onnx.tmp-4567cdef', 'c.onnx']);
  });

  it('a single file: an injected ENOSPC names the file and leaves the old one, no temp file', () => {
    const d = fresh();
    const f = join(d, 'a.onnx');
    writeFileAtomic(f, 'old');
    setWriteFaultHook((b) => {
      if (b.kind === 'rename') throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    expect(() => writeFileAtomic(f, 'new')).toThrow(`cannot write ${f}: no space left on device (ENOSPC)`);
    expect(readdirSync(d)).toEqual(['a.onnx']);
    expect(readFileSync(f, 'utf8')).toBe('old');
  });

  it('recoverDir: between the two renames, the complete new folder wins; with only the old one aside, it goes back', async () => {
    const d = fresh();
    const target = join(d, 'm');
    await writeDirAtomic(target, (t) => writeFileAtomic(join(t, 'model.json'), 'v1'));
    killAt('swap-in');
    await expect(writeDirAtomic(target, (t) => writeFileAtomic(join(t, 'model.json'), 'v2'))).rejects.toThrow(Killed);
    setWriteFaultHook(undefined);
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(d).sort()).toEqual([expect.stringMatching(/^\.m\.new-/), expect.stringMatching(/^\.m\.old-/)]);
    recoverDir(target);
    expect(readdirSync(d)).toEqual(['m']);
    expect(readFileSync(join(target, 'model.json'), 'utf8')).toBe('v2');

    // Only an old folder aside (a rename back that never happened): it is restored.
    const aside = join(d, '.m.old-0123abcd');
    mkdirSync(aside);
    writeFileSync(join(aside, 'model.json'), 'v0');
    rmSync(target, { recursive: true });
    recoverDir(target);
    expect(readFileSync(join(target, 'model.json'), 'utf8')).toBe('v0');
    expect(readdirSync(d)).toEqual(['m']);
  });

  it('a failing fill leaves the old folder and no temp folder; the error names the target, not the temp path', async () => {
    const d = fresh();
    const target = join(d, 'm');
    await writeDirAtomic(target, (t) => writeFileAtomic(join(t, 'model.json'), 'v1'));
    await expect(writeDirAtomic(target, (t) => {
      writeFileAtomic(join(t, 'model.json'), 'v2');
      throw new Error(`broke while writing ${join(t, 'weights.bin')}`);
    })).rejects.toThrow(`broke while writing ${join(target, 'weights.bin')}`);
    expect(readdirSync(d)).toEqual(['m']);
    expect(readFileSync(join(target, 'model.json'), 'utf8')).toBe('v1');
  });

  it('kept entries are carried into the new folder; symlinks are neither carried nor followed when the old folder goes', async () => {
    const d = fresh();
    const target = join(d, 'm');
    const outside = join(d, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'precious.txt'), 'keep me');
    await writeDirAtomic(target, (t) => {
      writeFileAtomic(join(t, 'model.json'), 'v1');
      writeFileAtomic(join(t, 'checkpoint', 'gen-1', 'weights.bin'), 'w');
      symlinkSync(outside, join(t, 'checkpoint', 'link'));
    });
    await writeDirAtomic(target, (t) => writeFileAtomic(join(t, 'model.json'), 'v2'), { keep: ['checkpoint'] });
    expect(readdirSync(target).sort()).toEqual(['checkpoint', 'model.json']);
    expect(readdirSync(join(target, 'checkpoint'))).toEqual(['gen-1']);
    expect(readFileSync(join(target, 'checkpoint', 'gen-1', 'weights.bin'), 'utf8')).toBe('w');
    expect(readFileSync(join(outside, 'precious.txt'), 'utf8')).toBe('keep me');
    // A symlink at the top of the folder is not a model folder's: refused rather than guessed at.
    symlinkSync(outside, join(target, 'link'));
    await expect(writeDirAtomic(target, (t) => writeFileAtomic(join(t, 'model.json'), 'v3'), { keep: ['checkpoint'] })).rejects.toThrow(/holds 'link', not part of a model folder/);
    // removeLeftover on a symlink removes the link only.
    symlinkSync(outside, join(d, 'dangling'));
    removeLeftover(join(d, 'dangling'));
    expect(readFileSync(join(outside, 'precious.txt'), 'utf8')).toBe('keep me');
  });

  it('assertReplaceable: a folder of unrelated files is refused, one holding only kept entries is not', () => {
    const d = fresh();
    mkdirSync(join(d, 'checkpoint'));
    expect(() => assertReplaceable(d, ['checkpoint'])).not.toThrow();
    writeFileSync(join(d, 'notes.txt'), 'x');
    expect(() => assertReplaceable(d, ['checkpoint'])).toThrow(`${d} is a non-empty folder without a model.json: refusing to replace it`);
    writeFileSync(join(d, 'model.json'), '{}');
    // A model.json beside files that are not a model's (a project folder, `--out .`): still not ours to replace.
    expect(() => assertReplaceable(d, ['checkpoint'])).toThrow(`${d} holds 'notes.txt', not part of a model folder: refusing to replace it (move it or choose another folder)`);
    rmSync(join(d, 'notes.txt'));
    mkdirSync(join(d, '.git'));
    expect(() => assertReplaceable(d, ['checkpoint'])).toThrow(/holds '\.git', not part of a model folder/);
    rmSync(join(d, '.git'), { recursive: true });
    // Weights, reports, dotfiles and nested model folders (distill's scratch/) are a model folder's own.
    for (const f of ['weights.bin', 'report.json', '.DS_Store']) writeFileSync(join(d, f), 'x');
    mkdirSync(join(d, 'scratch'));
    writeFileSync(join(d, 'scratch', 'model.json'), '{}');
    expect(() => assertReplaceable(d, ['checkpoint'])).not.toThrow();
    expect(() => assertReplaceable(d)).toThrow(/holds 'checkpoint', not part of a model folder/);
    expect(() => assertReplaceable(join(d, 'weights.bin'))).toThrow(/weights\.bin exists and is not a folder/);
  });
});
