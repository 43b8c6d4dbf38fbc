import {
  closeSync, copyFileSync, existsSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { dirname, join, basename, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsProblem } from './errors.js';

/**
 * A point inside an atomic write where a process may die: before a file is written (`file`),
 * before a written file is renamed into place (`rename`), before a filled temp folder is marked
 * complete (`ready`), before an existing folder is moved aside (`swap-out`), before the new one
 * takes its place (`swap-in`) and before the old one is deleted (`cleanup`). `path` is the final path.
 */
export interface WriteBoundary {
  kind: 'file' | 'rename' | 'ready' | 'swap-out' | 'swap-in' | 'cleanup';
  path: string;
}

let faultHook: ((b: WriteBoundary) => void) | undefined;
/** Errors thrown by the fault hook: they stand for a killed process, so no cleanup runs for them. */
const crashes = new WeakSet<object>();

/**
 * Testing aid: call `hook` at every {@link WriteBoundary} of every atomic write in this process
 * (`undefined` removes it). A hook that throws simulates the process dying at that point: the
 * writer skips its own cleanup, exactly as a killed process would, and rethrows. A hook that
 * throws an error with an errno `code` (e.g. `ENOSPC`) simulates that I/O failure instead: the
 * writer cleans up and reports it as it would the real one.
 *
 * @example
 * let n = 0;
 * setWriteFaultHook(() => { if (n++ === 3) throw new Error('killed'); });
 */
export function setWriteFaultHook(hook: ((b: WriteBoundary) => void) | undefined): void {
  faultHook = hook;
}

function boundary(kind: WriteBoundary['kind'], path: string): void {
  if (!faultHook) return;
  try {
    faultHook({ kind, path });
  } catch (err) {
    // An errno-style error (with a `code`, e.g. ENOSPC) stands for a failed write, anything else for a kill.
    if (typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code !== 'string') crashes.add(err);
    throw err;
  }
}

const isCrash = (err: unknown) => typeof err === 'object' && err !== null && crashes.has(err);

/**
 * One-line error for a failed file-system write, naming the path the user asked for (never the
 * temp path) and the problem, e.g. `cannot write out/m/weights.bin: no space left on device (ENOSPC)`.
 * The original error is kept as `cause`, its `code` copied.
 */
export function writeError(err: unknown, path: string, action = 'write'): Error {
  if (isCrash(err)) return err as Error;
  const e = err as NodeJS.ErrnoException;
  if (e?.code && (e as { atomicPath?: string }).atomicPath) return e as Error; // already named
  const problem = e?.code ? `${fsProblem(e.code) ?? e.message.replace(/^\w+: /, '').replace(/, \w+ '.*$/, '')} (${e.code})` : String(e?.message ?? err);
  const out = new Error(`cannot ${action} ${path}: ${problem}`, { cause: err }) as NodeJS.ErrnoException & { atomicPath: string };
  if (e?.code) out.code = e.code;
  out.atomicPath = path;
  return out;
}

const tag = () => randomBytes(4).toString('hex');

/** Leftovers of interrupted writes of `target`: `.name.tmp-x`, `.name.new-x`, `.name.old-x` beside it. */
function leftovers(target: string): { tmp: string[]; ready: string[]; old: string[] } {
  const parent = dirname(target);
  const re = new RegExp(`^\\.${basename(target).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(tmp|new|old)-[0-9a-f]{8}$`);
  const out = { tmp: [] as string[], ready: [] as string[], old: [] as string[] };
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return out;
  }
  for (const n of names) {
    const m = re.exec(n);
    if (m) out[m[1] === 'new' ? 'ready' : (m[1] as 'tmp' | 'old')].push(join(parent, n));
  }
  return out;
}

/** Flush a folder's entries (renames) to disk; a no-op where folders cannot be opened. */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Windows and some file systems refuse: the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeFile(path: string, data: string | Uint8Array, durable: boolean): void {
  const fd = openSync(path, 'w');
  try {
    writeFileSync(fd, data);
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Flush every file of a tree to disk (before a unit is committed by rename). */
function syncTree(path: string): void {
  const st = lstatSync(path);
  if (st.isDirectory()) {
    for (const n of readdirSync(path)) syncTree(join(path, n));
    fsyncDir(path);
  } else if (st.isFile()) {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

const TEMP_FILE = /^\..+\.tmp-[0-9a-f]{8}$/;
const STALE_MS = 10 * 60_000;
const swept = new Set<string>();

/**
 * Once per folder and process, remove temp files of writes a crash interrupted. Only old ones
 * (10 minutes): a younger one may belong to a write in progress in another process. Once, not at
 * every write, so writing thousands of files into one folder stays linear.
 */
function sweepTempFiles(dir: string): void {
  if (swept.has(dir)) return;
  swept.add(dir);
  const now = Date.now();
  for (const n of readdirSync(dir)) {
    if (!TEMP_FILE.test(n)) continue;
    try {
      const st = lstatSync(join(dir, n));
      if (st.isFile() && now - st.mtimeMs > STALE_MS) rmSync(join(dir, n), { force: true });
    } catch {
      // Gone meanwhile.
    }
  }
}

/** Options of {@link writeFileAtomic}. */
export interface WriteFileArgs {
  /** Flush the data (and the rename) to disk before returning, for commit points such as a checkpoint pointer. */
  durable?: boolean;
}

/**
 * Write a file atomically: write `.name.tmp-<random>` in the same folder, then rename it over
 * `path`. A crash leaves the old file (or none), never a truncated one; a stray temp file is
 * removed by a later process writing into that folder. Errors name `path` and the problem.
 * (Files written into a {@link writeDirAtomic} folder are flushed when the folder is committed.)
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, args: WriteFileArgs = {}): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw writeError(err, dir, 'create folder');
  }
  sweepTempFiles(resolve(dir));
  const tmp = join(dir, `.${basename(path)}.tmp-${tag()}`);
  try {
    boundary('file', path);
    writeFile(tmp, data, args.durable ?? false);
    boundary('rename', path);
    renameSync(tmp, path);
  } catch (err) {
    if (!isCrash(err)) rmSync(tmp, { force: true });
    throw writeError(err, path);
  }
  if (args.durable) fsyncDir(dir);
}

/** Write JSON (2-space indented) atomically. */
export function writeJsonAtomic(path: string, value: unknown, args: WriteFileArgs = {}): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', args);
}

/**
 * Finish or roll back an interrupted {@link writeDirAtomic} of `dir`: when `dir` is missing, the
 * complete new folder (`.name.new-x`) takes its place, else the old one (`.name.old-x`) goes back;
 * then every leftover temp folder of `dir` is removed. Runs at the start of every folder write.
 */
export function recoverDir(dir: string): void {
  const target = resolve(dir);
  const left = leftovers(target);
  if (!existsSync(target)) {
    // Newest complete folder first: a crash between swap-out and swap-in leaves both.
    const byAge = (a: string, b: string) => statSync(b).mtimeMs - statSync(a).mtimeMs;
    const back = [...left.ready.sort(byAge), ...left.old.sort(byAge)][0];
    if (back) renameSync(back, target);
  }
  for (const p of [...left.tmp, ...left.ready, ...left.old]) if (existsSync(p)) rmSync(p, { recursive: true, force: true });
}

/** What a model folder may hold besides kept entries: JSON and weight files, dotfiles, nested model folders. */
function belongsToModelFolder(dir: string, name: string): boolean {
  const st = lstatSync(join(dir, name));
  if (st.isFile()) return /\.(json|bin)$/i.test(name) || name.startsWith('.');
  return st.isDirectory() && existsSync(join(dir, name, 'model.json'));
}

/**
 * Throw unless `dir` may be replaced by a model folder: missing, empty, or a model folder (a
 * `model.json`, and otherwise only JSON/weight files, dotfiles, nested model folders and the
 * `keep` entries, e.g. a training checkpoint). Anything else (a README, source code, a `.git`)
 * means the folder is not ours to replace. Call it before long work so a typo in `--out` fails at
 * once rather than after training.
 */
export function assertReplaceable(dir: string, keep: readonly string[] = []): void {
  const target = resolve(dir);
  if (!existsSync(target)) return;
  if (!statSync(target).isDirectory()) throw new Error(`${dir} exists and is not a folder`);
  const entries = readdirSync(target).filter((n) => !keep.includes(n));
  if (!entries.length) return;
  if (!entries.includes('model.json')) throw new Error(`${dir} is a non-empty folder without a model.json: refusing to replace it`);
  const foreign = entries.filter((n) => !belongsToModelFolder(target, n));
  if (foreign.length) {
    throw new Error(`${dir} holds ${foreign.slice(0, 3).map((n) => `'${n}'`).join(', ')}${foreign.length > 3 ? ` and ${foreign.length - 3} more` : ''}, not part of a model folder: refusing to replace it (move ${foreign.length > 1 ? 'them' : 'it'} or choose another folder)`);
  }
}

/** Hard-link (else copy) a file tree: kept entries are immutable once written, so links are safe. */
function linkTree(src: string, dst: string): void {
  const st = lstatSync(src);
  if (st.isDirectory()) {
    mkdirSync(dst, { recursive: true });
    for (const n of readdirSync(src)) linkTree(join(src, n), join(dst, n));
  } else if (st.isFile()) {
    try {
      linkSync(src, dst);
    } catch {
      copyFileSync(src, dst);
    }
  }
  // Symlinks and special files are not carried.
}

/**
 * Delete a file or folder left over from an earlier write (never following symlinks: a link is
 * removed, not its target). A crash here leaves debris, never a half-written unit.
 */
export function removeLeftover(path: string): void {
  boundary('cleanup', path);
  rmSync(path, { recursive: true, force: true });
}

/** Options of {@link writeDirAtomic}. */
export interface WriteDirArgs {
  /** Entries of the existing folder to carry into the new one (hard-linked), e.g. `['checkpoint']`. */
  keep?: string[];
}

/**
 * Write a folder as one unit: `fill` writes into a fresh sibling `.name.tmp-<random>`; kept
 * entries of the old folder are linked in; the temp folder is renamed `.name.new-<random>`
 * (complete), the old folder is moved aside to `.name.old-<random>`, the new one renamed into
 * place, and the old one deleted. A reader of `dir` sees the old folder or the new one, never a
 * mix; a crash leaves one of them complete (in place, or as `.name.new-x`/`.name.old-x` during
 * the two renames) and {@link recoverDir}, run by the next write, finishes the job. An existing
 * folder must pass {@link assertReplaceable}. Errors name `dir` (not the temp folder).
 *
 * @example await writeDirAtomic('out/model', (tmp) => writeFileAtomic(join(tmp, 'a.txt'), 'a'));
 */
export async function writeDirAtomic(dir: string, fill: (tmp: string) => void | Promise<void>, args: WriteDirArgs = {}): Promise<void> {
  const target = resolve(dir);
  const parent = dirname(target);
  const keep = args.keep ?? [];
  try {
    mkdirSync(parent, { recursive: true });
  } catch (err) {
    throw writeError(err, dirname(dir), 'create folder');
  }
  try {
    recoverDir(target);
  } catch (err) {
    throw writeError(err, dir, 'recover interrupted write of');
  }
  assertReplaceable(dir, keep);
  const t = tag();
  const tmp = join(parent, `.${basename(target)}.tmp-${t}`);
  const ready = join(parent, `.${basename(target)}.new-${t}`);
  const old = join(parent, `.${basename(target)}.old-${t}`);
  try {
    mkdirSync(tmp);
    await fill(tmp);
    for (const k of keep) if (existsSync(join(target, k)) && !existsSync(join(tmp, k))) linkTree(join(target, k), join(tmp, k));
    // On disk before it is committed: after a power cut the renamed folder holds data, not holes.
    syncTree(tmp);
    boundary('ready', dir);
    renameSync(tmp, ready);
  } catch (err) {
    if (isCrash(err)) throw err;
    rmSync(tmp, { recursive: true, force: true });
    // Name the folder asked for, not the temp folder the file system complained about.
    const named = err instanceof Error ? err : new Error(String(err));
    named.message = named.message.split(tmp).join(target);
    throw (named as NodeJS.ErrnoException).code && !(named as { atomicPath?: string }).atomicPath ? writeError(named, dir) : named;
  }
  let moved = false;
  try {
    if (existsSync(target)) {
      boundary('swap-out', dir);
      renameSync(target, old);
      moved = true;
    }
    boundary('swap-in', dir);
    renameSync(ready, target);
  } catch (err) {
    if (isCrash(err)) throw err;
    if (moved && !existsSync(target)) renameSync(old, target);
    rmSync(ready, { recursive: true, force: true });
    throw writeError(err, dir);
  }
  fsyncDir(parent);
  if (moved) {
    try {
      boundary('cleanup', dir);
      rmSync(old, { recursive: true, force: true });
    } catch (err) {
      // The new folder is in place: a failed removal of the old one only leaves debris for recoverDir.
      if (isCrash(err)) throw err;
    }
  }
}
