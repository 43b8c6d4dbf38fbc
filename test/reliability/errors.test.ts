import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkNesting, describeError, parseJsonFile } from '../../src/util/errors.js';

/*
 * File-system errors name the path and the problem (Node's own message names only the syscall
 * for some, e.g. `ENOENT: no such file or directory, mkdir`), and the CLI prints them so.
 */

const caught = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
};

describe('errors that name the problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'errors-'));

  it('real file-system errors become `cannot <verb> <path>: <problem> (<CODE>)`', () => {
    writeFileSync(join(dir, 'file'), 'x');
    expect(describeError(caught(() => readFileSync(join(dir, 'missing.json'))))).toBe(`cannot open ${join(dir, 'missing.json')}: no such file or folder (ENOENT)`);
    expect(describeError(caught(() => mkdirSync(join(dir, 'file'), { recursive: true })))).toBe(`cannot create folder ${join(dir, 'file')}: a file of that name is in the way (not a folder) (EEXIST)`);
    expect(describeError(caught(() => writeFileSync(join(dir, 'file', 'x.bin'), 'y')))).toBe(`cannot open ${join(dir, 'file', 'x.bin')}: a part of the path is a file, not a folder (ENOTDIR)`);
    // /sys refuses new files even to root: a real EACCES.
    expect(describeError(caught(() => writeFileSync('/sys/kernel/not-here', 'y')))).toBe('cannot open /sys/kernel/not-here: permission denied (EACCES)');
  });

  it('read-only and full file systems are named too (errors shaped as Node raises them)', () => {
    const node = (code: string, errno: number, syscall: string, path: string) => Object.assign(new Error(`${code}: x, ${syscall} '${path}'`), { code, errno, syscall, path });
    expect(describeError(node('EROFS', -30, 'open', '/mnt/ro/model.json'))).toBe('cannot open /mnt/ro/model.json: the file system is read-only (EROFS)');
    expect(describeError(node('ENOSPC', -28, 'write', '/out/weights.bin'))).toBe('cannot write /out/weights.bin: no space left on device (ENOSPC)');
    expect(describeError(Object.assign(node('EACCES', -13, 'rename', '/out/.tmp-1'), { dest: '/out/model.json' }))).toBe('cannot rename /out/.tmp-1 -> /out/model.json: permission denied (EACCES)');
    // Errors that are not the file system's keep their message.
    expect(describeError(new Error('model.json: field x'))).toBe('model.json: field x');
  });

  it('the CLI prints them in one line and exits 1', () => {
    const root = resolve(import.meta.dirname, '..', '..');
    let out = '';
    let status = 0;
    try {
      execFileSync(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'src', 'cli', 'main.ts'), '--backend', 'cpu', 'pack', 'zoo:mlp', '--out', join(dir, 'file', 'm.tfjsc')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as { stderr: string; status: number };
      out = e.stderr;
      status = e.status;
    }
    expect(status).toBe(1);
    const line = out.trim().split('\n').filter((l) => l.startsWith('tfjs-compress: error:'));
    expect(line).toHaveLength(1);
    expect(line[0]).toContain(`cannot create folder ${join(dir, 'file')}`);
    expect(line[0]).toMatch(/\(EEXIST\)$/);
  });

  it('deep JSON is refused naming the file, before a recursive reader overflows the stack', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(() => parseJsonFile(deep, 'a/model.json')).toThrow(/^a\/model\.json: nested more than 200 levels deep/);
    expect(() => checkNesting({ a: [[{ b: [] }]] }, 'x', 4)).toThrow(/x: nested more than 4 levels/);
    expect(() => checkNesting({ a: [[{ b: [] }]] }, 'x', 5)).not.toThrow();
  });
});
