import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { initWasmThreads, registerWasmTrainingKernels } from './wasm/index.js';

/** Backend names accepted by {@link setBackend} and the CLI's `--backend` flag. */
export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

/** The backend that was actually activated, and why. */
export interface BackendInfo {
  /** tfjs backend name now active (`tensorflow`, `wasm` or `cpu`). */
  name: string;
  /** Human-readable reason, e.g. "auto: @tensorflow/tfjs-node not installed, using wasm". */
  reason: string;
  /** XNNPACK threads of the wasm backend (1 = single-threaded build); absent for other backends. */
  threads?: number;
}

/** Options of {@link setBackend}. */
export interface BackendOptions {
  /**
   * Threads for the wasm backend's XNNPACK pool (1..8). Default: the `TFJS_COMPRESS_THREADS`
   * environment variable, else the number of CPUs (at most 8). Only takes effect when wasm is
   * first initialised in this process; 1 selects the single-threaded build.
   */
  threads?: number;
  /**
   * Milliseconds to wait for the threaded wasm build to initialise before falling back to the
   * single-threaded build (default 60000).
   */
  threadsInitTimeoutMs?: number;
}

/** Thread count asked for: explicit option, then TFJS_COMPRESS_THREADS, then the CPU count. */
export function requestedThreads(options: BackendOptions = {}): number {
  const env = process.env.TFJS_COMPRESS_THREADS;
  const n = options.threads ?? (env !== undefined && env !== '' ? Number(env) : Math.min(8, os.availableParallelism?.() ?? os.cpus().length));
  if (!Number.isInteger(n) || n < 1 || n > 8) {
    const from = options.threads !== undefined ? 'threads' : 'TFJS_COMPRESS_THREADS';
    throw new Error(`${from} must be an integer in 1..8, got ${String(options.threads ?? env)}`);
  }
  return n;
}

const requireFromHere = createRequire(import.meta.url);

/** True when a package can be resolved from this install (it may still fail to load). */
function canResolve(pkg: string): boolean {
  try {
    requireFromHere.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

async function tryNode(pkg: string): Promise<boolean> {
  if (!canResolve(pkg)) return false;
  try {
    // tfjs-node registers the 'tensorflow' backend as a side effect of being imported.
    await import(/* @vite-ignore */ pkg);
    return tf.findBackend('tensorflow') !== null || tf.engine().registryFactory['tensorflow'] !== undefined;
  } catch {
    return false;
  }
}

let wasmNote = '';

/**
 * First wasm initialisation of the process: the threaded build when more than one thread is
 * asked for (falls back to the single-threaded build, saying why, if that fails).
 */
async function initWasm(threads: number, timeoutMs?: number): Promise<void> {
  // Importing the package registers the wasm backend.
  await import('@tensorflow/tfjs-backend-wasm');
  if (tf.engine().registry['wasm'] !== undefined || threads === 1) return;
  try {
    await initWasmThreads({ threads, timeoutMs });
  } catch (e) {
    // initWasmThreads has already set the flags back for the single-threaded build.
    wasmNote = `; threaded wasm failed (${(e as Error).message}), single-threaded`;
  }
}

async function activate(name: string, options: BackendOptions = {}): Promise<boolean> {
  if (name === 'wasm') await initWasm(requestedThreads(options), options.threadsInitTimeoutMs);
  const ok = await tf.setBackend(name);
  if (!ok) return false;
  await tf.ready();
  if (name === 'wasm') registerWasmTrainingKernels();
  return true;
}

let current: BackendInfo | undefined;

/**
 * Activate a tfjs backend. `auto` prefers tfjs-node-gpu, then tfjs-node, then wasm, then cpu.
 * On wasm it also registers the gradient kernels stock wasm lacks (so conv nets can train).
 *
 * @example
 * const info = await setBackend('auto');
 * console.log(`using ${info.name}: ${info.reason}`);
 */
export async function setBackend(choice: BackendChoice = 'auto', options: BackendOptions = {}): Promise<BackendInfo> {
  const info = await choose(choice, options);
  if (info.name === 'wasm') {
    const wasmThreads = (await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount();
    info.threads = wasmThreads;
    info.reason += `; ${wasmThreads} XNNPACK thread${wasmThreads === 1 ? '' : 's'}${wasmNote}`;
  }
  current = info;
  return info;
}

async function choose(choice: BackendChoice, options: BackendOptions): Promise<BackendInfo> {
  if (choice === 'tensorflow') {
    if (!((await tryNode('@tensorflow/tfjs-node-gpu')) || (await tryNode('@tensorflow/tfjs-node')))) {
      throw new Error(
        "backend 'tensorflow' needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu installed; use --backend wasm or auto",
      );
    }
    await activate('tensorflow');
    return { name: 'tensorflow', reason: 'requested' };
  }
  if (choice === 'wasm' || choice === 'cpu') {
    if (!(await activate(choice, options))) throw new Error(`backend '${choice}' failed to initialise`);
    return { name: choice, reason: 'requested' };
  }
  if (choice !== 'auto') {
    throw new Error(`unknown backend '${String(choice)}': expected one of auto, tensorflow, wasm, cpu`);
  }
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if ((await tryNode(pkg)) && (await activate('tensorflow'))) {
      return { name: 'tensorflow', reason: `auto: found ${pkg}` };
    }
  }
  if (await activate('wasm', options)) {
    return { name: 'wasm', reason: 'auto: @tensorflow/tfjs-node not installed, using wasm' };
  }
  await activate('cpu');
  return { name: 'cpu', reason: 'auto: wasm failed to initialise, using the pure-JS cpu backend' };
}

/** The backend chosen by the last {@link setBackend} call, if any. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}
