import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/*
 * A folder's files stay the folder's: a path a file names (a shard in weightsManifest, an image
 * under a class folder, a recipe's output) is resolved with realpath, symlinks included, and
 * refused when it lands outside. The message never says anything about the outside file (not
 * even its size), so a model folder cannot be used to probe the machine.
 */

/** True when `path` is `root` or lies under it (both already absolute and normalised). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function real(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Resolve `rel` against `root` and check that it stays inside `root`, before and after following
 * symlinks. Returns the real path; throws one line naming `where` and `rel` (a path that does not
 * exist is reported as missing, also naming nothing outside). `folder` names the folder in messages.
 *
 * @example
 * const shard = resolveInside('web_model', 'group1-shard1of1.bin', 'web_model/model.json: weight file');
 */
export function resolveInside(root: string, rel: string, where: string, folder = 'the model folder'): string {
  const rootReal = real(resolve(root)) ?? resolve(root);
  const lexical = resolve(rootReal, rel);
  if (isAbsolute(rel) || !isInside(rootReal, lexical)) throw new Error(`${where} '${rel}' escapes ${folder}`);
  const target = real(lexical);
  if (target === undefined) throw new Error(`${where} '${rel}' not found`);
  if (!isInside(rootReal, target)) throw new Error(`${where} '${rel}' leads (through a symlink) outside ${folder}; refused`);
  return target;
}
