/**
 * Importing the SDK maps no native addon: onnxruntime-node and sharp load when a function needs
 * them. Checked in a fresh Node process through /proc/self/maps (Linux), with a positive control:
 * after loadOnnxRuntime() and loadSharp() both binaries are mapped, so the probe can see them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const canProbe = existsSync('/proc/self/maps');

const PROBE = `
import { readFileSync } from 'node:fs';
const natives = () => [...new Set(readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.trim().split(/\\s+/)[5]).filter((p) => p && p.endsWith('.node')).map((p) => p.split('/').pop()))].sort();
await import('./src/index.ts');
const atImport = natives();
const { loadOnnxRuntime } = await import('./src/util/onnxruntime.ts');
const { loadSharp } = await import('./src/data/image-folder.ts');
await loadOnnxRuntime();
await loadSharp();
console.log(JSON.stringify({ atImport, afterLoad: natives() }));
process.exit(0);
`;

describe('native addons stay out of the import path', () => {
  it.skipIf(!canProbe)(canProbe ? "import('tfjs-compress') maps neither onnxruntime-node nor sharp; loading them on use does" : 'native addons at import: SKIPPED, no /proc/self/maps on this OS', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', PROBE], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const { atImport, afterLoad } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { atImport: string[]; afterLoad: string[] };
    expect(atImport).toEqual([]);
    expect(afterLoad.some((n) => n.startsWith('onnxruntime_binding'))).toBe(true);
    expect(afterLoad.some((n) => n.startsWith('sharp'))).toBe(true);
  });
});
