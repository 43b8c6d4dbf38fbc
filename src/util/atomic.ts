import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, basename, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Write a file atomically: write `path.tmp-<random>` in the same folder, then rename over
 * `path`. A crash mid-write leaves the old file (or nothing), never a truncated one.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Write JSON (2-space indented) atomically. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Write a folder atomically: `fill` writes into a fresh sibling `.name.tmp-<random>`, which then
 * takes the folder's place (an existing folder is swapped out and removed only afterwards). A
 * failure leaves the old folder untouched. An existing folder must be empty or hold a `model.json`
 * (so a typo in `--out` cannot replace unrelated files).
 *
 * @example await writeDirAtomic('out/model', (tmp) => saveLayersModel(model, tmp));
 */
export async function writeDirAtomic(dir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const target = resolve(dir);
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new Error(`${dir} exists and is not a folder`);
    const entries = readdirSync(target);
    if (entries.length && !entries.includes('model.json')) throw new Error(`${dir} is a non-empty folder without a model.json: refusing to replace it`);
  }
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  const tag = randomBytes(4).toString('hex');
  const tmp = join(parent, `.${basename(target)}.tmp-${tag}`);
  const old = join(parent, `.${basename(target)}.old-${tag}`);
  try {
    mkdirSync(tmp);
    await fill(tmp);
    if (existsSync(target)) {
      renameSync(target, old);
      try {
        renameSync(tmp, target);
      } catch (err) {
        renameSync(old, target);
        throw err;
      }
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, target);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
