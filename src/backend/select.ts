import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { registerWasmTrainingKernels } from './wasm/index.js';

/** Backend names accepted by {@link setBackend} and the CLI's `--backend` flag. */
export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

/** The backend that was actually activated, and why. */
export interface BackendInfo {
  /** tfjs backend name now active (`tensorflow`, `wasm` or `cpu`). */
  name: string;
  /** Human-readable reason, e.g. "auto: @tensorflow/tfjs-node not installed, using wasm". */
  reason: string;
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

async function activate(name: string): Promise<boolean> {
  if (name === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
  }
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
export async function setBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (choice === 'tensorflow') {
    if (!((await tryNode('@tensorflow/tfjs-node-gpu')) || (await tryNode('@tensorflow/tfjs-node')))) {
      throw new Error(
        "backend 'tensorflow' needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu installed; use --backend wasm or auto",
      );
    }
    await activate('tensorflow');
    current = { name: 'tensorflow', reason: 'requested' };
    return current;
  }
  if (choice === 'wasm' || choice === 'cpu') {
    if (!(await activate(choice))) throw new Error(`backend '${choice}' failed to initialise`);
    current = { name: choice, reason: 'requested' };
    return current;
  }
  if (choice !== 'auto') {
    throw new Error(`unknown backend '${String(choice)}': expected one of auto, tensorflow, wasm, cpu`);
  }
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if ((await tryNode(pkg)) && (await activate('tensorflow'))) {
      current = { name: 'tensorflow', reason: `auto: found ${pkg}` };
      return current;
    }
  }
  if (await activate('wasm')) {
    current = { name: 'wasm', reason: 'auto: @tensorflow/tfjs-node not installed, using wasm' };
    return current;
  }
  await activate('cpu');
  current = { name: 'cpu', reason: 'auto: wasm failed to initialise, using the pure-JS cpu backend' };
  return current;
}

/** The backend chosen by the last {@link setBackend} call, if any. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}
