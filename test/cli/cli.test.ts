import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

/** Run the real CLI in a child process, as a user would. */
function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), '--quiet', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('tfjs-compress CLI', () => {
  it('prints help listing the commands', () => {
    const r = cli('--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/train/);
    expect(r.out).toMatch(/info/);
  });

  it('takes the wasm thread count from --wasm-threads and rejects a bad one', () => {
    expect(cli('--wasm-threads', '1', 'info', 'zoo:lenet300').code).toBe(0);
    const bad = cli('--wasm-threads', '0', 'info', 'zoo:lenet300');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/threads must be an integer in 1\.\.8, got 0/);
  });

  it('trains, saves, reports and evaluates a model end to end', () => {
    const out = mkdtempSync(join(tmpdir(), 'cli-train-'));
    const r = cli('train', '--arch', 'lenet300', '--epochs', '1', '--limit', '2000', '--test-limit', '500', '--no-progress', '--out', out);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.test.accuracy).toBeGreaterThan(0.75);
    expect(existsSync(join(out, 'checkpoint', 'checkpoint.json'))).toBe(true);
    const ev = cli('eval', out, '--limit', '500', '--json');
    expect(ev.code).toBe(0);
    expect(JSON.parse(ev.out).accuracy).toBeCloseTo(report.test.accuracy, 6);
    const info = cli('info', out);
    expect(info.out).toMatch(/dense_1\s+Dense\s+235500/);
  });

  it('fails with one clear line and exit 1 on bad input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-bad-'));
    writeFileSync(join(dir, 'model.json'), '{"modelTopology": {}}');
    const r = cli('info', dir);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toMatch(/^tfjs-compress: error: .*model.json: field 'weightsManifest' is missing/);
    expect(r.err).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    const z = cli('train', '--arch', 'nope', '--out', dir);
    expect(z.code).toBe(1);
    expect(z.err).toMatch(/unknown zoo model 'nope'/);
    const e = cli('train', '--arch', 'mlp', '--epochs', 'x', '--out', dir);
    expect(e.code).not.toBe(0);
    expect(e.err).toMatch(/--epochs expects a positive integer/);
  });
});
