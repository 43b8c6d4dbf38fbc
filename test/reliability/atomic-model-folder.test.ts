import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { loadMnist } from '../../src/data/mnist.js';
import { buildZooModel } from '../../src/model/zoo.js';
import { saveLayersModel } from '../../src/model/io.js';
import { exportTfjs } from '../../src/export/tfjs/index.js';
import { registerPackCommand } from '../../src/cli/commands/pack.js';
import { recoverDir, setWriteFaultHook, writeFileAtomic, type WriteBoundary } from '../../src/util/atomic.js';
import { runCommands } from '../helpers/cli.js';
import { useBackend } from '../helpers/backend.js';

const tmp = mkdtempSync(join(tmpdir(), 'atomic-folder-'));
const xs = () => loadMnist({ split: 'test', limit: 8 }).toTensors().xs;

/**
 * Stock tfjs loading, as a web app does it: `tf.loadLayersModel` over its own HTTP handler (which
 * resolves the shard paths and concatenates them itself); only the transport reads from disk.
 * Returns the predictions' bytes on 8 MNIST images.
 */
async function stockPredict(dir: string): Promise<Buffer> {
  const fetchFunc = (async (input: RequestInfo | URL) => {
    const p = fileURLToPath(String(input).replace(/^http:\/\/disk/, 'file://'));
    return existsSync(p) ? new Response(readFileSync(p)) : new Response(null, { status: 404, statusText: 'Not Found' });
  }) as typeof fetch;
  const model = await tf.loadLayersModel(tf.io.http(`http://disk${pathToFileURL(join(dir, 'model.json')).pathname}`, { fetchFunc }));
  const x = xs();
  const y = model.predict(x) as tf.Tensor;
  const out = Buffer.from((y.dataSync() as Float32Array).slice().buffer);
  tf.dispose([x, y]);
  model.dispose();
  return out;
}

class Killed extends Error {}
/** Count the boundaries of `write` (run on a throwaway copy of the start state), or kill it at number `at`. */
function hook(at: number): WriteBoundary[] {
  const seen: WriteBoundary[] = [];
  setWriteFaultHook((b) => {
    seen.push(b);
    if (seen.length - 1 === at) throw new Killed(`killed at ${b.kind} ${b.path}`);
  });
  return seen;
}

interface Case {
  name: string;
  /** Write the old (`which = 'A'`) or the new (`'B'`) model into `dir`. */
  write: (which: 'A' | 'B', dir: string) => Promise<void>;
  /** Files besides the model that must belong to the same version as the model that loads. */
  companion?: (dir: string) => string | undefined;
}

/**
 * The property: whatever boundary the write of B over A dies at, the folder is A or B (after the
 * recovery the next write runs, when the crash fell between the two renames), loads with stock
 * tfjs and predicts exactly as A or B does; a later write leaves no temp folders behind.
 */
async function killEverywhere(c: Case): Promise<{ boundaries: number; outcomes: Set<string> }> {
  const root = join(tmp, c.name);
  mkdirSync(root, { recursive: true });
  const ref: Record<'A' | 'B', { pred: Buffer; companion?: string }> = {} as never;
  for (const w of ['A', 'B'] as const) {
    const d = join(root, `ref-${w}`);
    await c.write(w, d);
    ref[w] = { pred: await stockPredict(d), companion: c.companion?.(d) };
  }
  expect(ref.A.pred.equals(ref.B.pred)).toBe(false);
  const count = join(root, 'count');
  await c.write('A', count);
  const seen = hook(-1);
  await c.write('B', count);
  setWriteFaultHook(undefined);
  const outcomes = new Set<string>();
  for (let at = 0; at < seen.length; at++) {
    const parent = join(root, `kill-${at}`);
    const dir = join(parent, 'model');
    await c.write('A', dir);
    hook(at);
    await expect(c.write('B', dir), `kill ${at}`).rejects.toBeInstanceOf(Killed);
    setWriteFaultHook(undefined);
    const present = existsSync(dir);
    // A crash between moving the old folder aside and moving the new one in: the next write's recovery puts one back.
    if (!present) recoverDir(dir);
    const pred = await stockPredict(dir);
    const which = pred.equals(ref.A.pred) ? 'A' : pred.equals(ref.B.pred) ? 'B' : 'mix';
    expect(which, `kill ${at} at ${seen[at]!.kind}: the folder predicts as neither the old nor the new model`).not.toBe('mix');
    if (c.companion) expect(c.companion(dir), `kill ${at}: companion files of the same version`).toBe(ref[which as 'A' | 'B'].companion);
    outcomes.add(`${seen[at]!.kind}:${present ? '' : 'recovered '}${which}`);
    // The next write succeeds and cleans every leftover of the interrupted one.
    await c.write('B', dir);
    expect(readdirSync(parent), `kill ${at}: leftovers`).toEqual(['model']);
    expect((await stockPredict(dir)).equals(ref.B.pred)).toBe(true);
  }
  return { boundaries: seen.length, outcomes };
}

describe('model folders are written as one unit: killed at every boundary, a reader sees the old model or the new one', () => {
  const models: Record<'A' | 'B', tf.LayersModel> = {} as never;
  beforeAll(async () => {
    await useBackend();
    models.A = buildZooModel('lenet300', { seed: 1 });
    models.B = buildZooModel('lenet300', { seed: 2 });
  });
  afterEach(() => setWriteFaultHook(undefined));
  afterAll(() => {
    tf.dispose([models.A, models.B].flatMap((m) => m.weights.map((w) => w.read())));
    rmSync(tmp, { recursive: true, force: true });
  });

  it('export --format tfjs: a 1,066,440-byte float32 export over a 266,610-byte uint8 one (the mix stock tfjs loads as garbage)', async () => {
    const r = await killEverywhere({
      name: 'export',
      write: async (w, dir) => void (await exportTfjs(models[w], dir, w === 'A' ? { quantize: 'uint8' } : { shardBytes: 400_000 })),
    });
    // Three shards, model.json, the swap: every boundary was tried and both versions were seen.
    expect(r.boundaries).toBe(2 * 4 + 4);
    expect([...r.outcomes].sort()).toEqual(['cleanup:B', 'file:A', 'ready:A', 'rename:A', 'swap-in:recovered B', 'swap-out:A']);
    const sizes = readdirSync(join(tmp, 'export', 'ref-B')).sort();
    expect(sizes).toEqual(['group1-shard1of3.bin', 'group1-shard2of3.bin', 'group1-shard3of3.bin', 'model.json']);
  });

  it('saveLayersModel (train, prune, distill, convert, quantize, recipe outputs): model and report.json together', async () => {
    await killEverywhere({
      name: 'save',
      write: (w, dir) => saveLayersModel(models[w], dir, { files: { 'report.json': { model: w } } }),
      companion: (dir) => readFileSync(join(dir, 'report.json'), 'utf8'),
    });
  });

  it('saveLayersModel keeping a checkpoint folder: it survives every kill point intact', async () => {
    const ckpt = (dir: string) => (existsSync(join(dir, 'checkpoint')) ? readFileSync(join(dir, 'checkpoint', 'gen-4', 'weights.bin'), 'hex') : 'none');
    await killEverywhere({
      name: 'keep',
      write: async (w, dir) => {
        if (!existsSync(join(dir, 'checkpoint'))) writeFileAtomic(join(dir, 'checkpoint', 'gen-4', 'weights.bin'), new Uint8Array([1, 2, 3, 4]));
        await saveLayersModel(models[w], dir, { files: { 'report.json': { model: w } }, keep: ['checkpoint'] });
      },
      companion: (dir) => `${readFileSync(join(dir, 'report.json'), 'utf8')} ${ckpt(dir)}`,
    });
  });

  it('unpack (the CLI command) over an earlier unpack', async () => {
    const files: Record<string, string> = {};
    for (const w of ['A', 'B'] as const) {
      const d = join(tmp, `src-${w}`);
      await saveLayersModel(models[w], d);
      files[w] = join(tmp, `${w}.tfjsc`);
      await runCommands(registerPackCommand, ['pack', d, '--out', files[w]]);
    }
    await killEverywhere({ name: 'unpack', write: async (w, dir) => void (await runCommands(registerPackCommand, ['unpack', files[w]!, '--out', dir])) });
  });

  it('an I/O failure at any boundary (ENOSPC injected) names the path and the problem, keeps the old model and leaves nothing behind', async () => {
    const parent = join(tmp, 'enospc');
    const dir = join(parent, 'model');
    const kinds = new Set<string>();
    for (let at = 0; ; at++) {
      await saveLayersModel(models.A, dir, { files: { 'report.json': { model: 'A' } } });
      const before = await stockPredict(dir);
      let n = 0;
      let hit: WriteBoundary | undefined;
      setWriteFaultHook((b) => {
        if (n++ === at) {
          hit = b;
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
      });
      const err = await saveLayersModel(models.B, dir, { files: { 'report.json': { model: 'B' } } }).then(() => undefined, (e: Error) => e);
      setWriteFaultHook(undefined);
      if (!hit) {
        expect(err).toBeUndefined(); // past the last boundary: the write went through
        break;
      }
      if (hit.kind === 'cleanup') {
        // The new folder is already in place: failing to delete the old one is not an error, just debris the next write removes.
        expect(err).toBeUndefined();
        expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')).model).toBe('B');
        expect(readdirSync(parent).filter((n) => n !== 'model')).toEqual([expect.stringMatching(/^\.model\.old-[0-9a-f]{8}$/)]);
        kinds.add(hit.kind);
        continue;
      }
      // One line naming the path the user asked for (never the temp folder) and the problem.
      expect(err?.message, hit.kind).toMatch(/^cannot write \S+: no space left on device \(ENOSPC\)$/);
      expect(err!.message).not.toMatch(/\.tmp-|\.new-|\.old-/);
      expect(err!.message.startsWith(`cannot write ${dir}`), err!.message).toBe(true);
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
      kinds.add(hit.kind);
      expect(readdirSync(parent), `after ENOSPC at ${hit.kind}`).toEqual(['model']);
      expect((await stockPredict(dir)).equals(before)).toBe(true);
      expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')).model).toBe('A');
    }
    expect([...kinds].sort()).toEqual(['cleanup', 'file', 'ready', 'rename', 'swap-in', 'swap-out']);
  });

  it('real write failures name the path: a parent that is a file, a non-model folder', async () => {
    const file = join(tmp, 'plain.txt');
    writeFileSync(file, 'x');
    await expect(saveLayersModel(models.B, join(file, 'model'))).rejects.toThrow(/^cannot create folder \S*plain\.txt: (a parent is not a folder \(ENOTDIR\)|already exists \(EEXIST\))$/);
    const mine = join(tmp, 'not-a-model');
    mkdirSync(mine);
    writeFileSync(join(mine, 'notes.txt'), 'mine');
    await expect(saveLayersModel(models.B, mine)).rejects.toThrow(/not-a-model is a non-empty folder without a model.json: refusing to replace it/);
    expect(readdirSync(mine)).toEqual(['notes.txt']);
  });
});
