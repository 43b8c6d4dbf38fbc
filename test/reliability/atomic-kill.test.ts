import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'atomic-kill-'));

/** `tfjs-compress train` in a child process, SIGKILLed at the write boundary `killAt` when given. */
function train(out: string, killAt?: string) {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'kill-cli.ts'), '--quiet',
      'train', '--arch', 'lenet300', '--epochs', '2', '--limit', '512', '--test-limit', '128', '--no-progress', '--out', out],
    { cwd: root, encoding: 'utf8', timeout: 240_000, env: { ...process.env, KILL_AT: killAt ?? '' } },
  );
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

describe('train killed (SIGKILL) inside a save resumes from a consistent state and ends bit-identical', () => {
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const ref = join(tmp, 'ref');

  it('uninterrupted reference run', () => {
    const r = train(ref);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });

  // The issue's case (between the weights' and the optimizer's renames of epoch 2), and the final
  // folder swap (old folder moved aside, new one not yet in place).
  for (const [killAt, resumedLine] of [
    ['rename:optimizer.bin:2', /resumed from the checkpoint after epoch 1/],
    ['swap-in:/out:1', /resumed from the checkpoint after epoch 2/],
  ] as const) {
    it(`killed at ${killAt}`, () => {
      const parent = join(tmp, killAt.replace(/[:/]/g, '_'));
      const out = join(parent, 'out');
      const killed = train(out, killAt);
      expect(killed.signal).toBe('SIGKILL');
      const again = train(out);
      expect(again.err).toBe('');
      expect(again.code).toBe(0);
      expect(again.out).toMatch(resumedLine);
      expect(readFileSync(join(out, 'weights.bin')).equals(readFileSync(join(ref, 'weights.bin')))).toBe(true);
      const report = (d: string) => JSON.parse(readFileSync(join(d, 'report.json'), 'utf8')).test;
      expect(report(out)).toEqual(report(ref));
      expect(readdirSync(parent)).toEqual(['out']);
      expect(existsSync(join(out, 'checkpoint', 'checkpoint.json'))).toBe(true);
    });
  }
});
