import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** sha256 hex of a string or bytes. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** JSON with object keys sorted, so equal settings always hash equal. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

function listFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  const out: string[] = [];
  for (const name of readdirSync(path).sort()) {
    // Hidden entries are temp files of atomic writes or caches, not artifacts.
    if (name.startsWith('.')) continue;
    out.push(...listFiles(join(path, name)));
  }
  return out;
}

/**
 * sha256 over the relative names and bytes of the files at `paths` (files or folders, walked in
 * sorted order). Throws naming the first missing path.
 */
export function hashPaths(paths: string[], root: string): string {
  const h = createHash('sha256');
  for (const p of paths) {
    if (!existsSync(p)) throw new Error(`missing artifact ${p}`);
    for (const f of listFiles(p)) {
      h.update(relative(root, f) + '\0');
      h.update(readFileSync(f));
      h.update('\0');
    }
  }
  return h.digest('hex');
}
