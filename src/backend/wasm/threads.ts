import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Multi-threaded wasm (XNNPACK thread pool) in Node. tfjs-backend-wasm 4.22 ships the
 * threaded-simd binary but never uses it in Node, for three reasons this works around, only for
 * the duration of backend initialisation:
 *  1. `WASM_HAS_MULTITHREAD_SUPPORT` is hard-wired to false when `IS_NODE`: we set the flag.
 *  2. pthread workers are started from `blob:` URLs (the worker source, and the main script as a
 *     Blob posted to the worker), which Node's `worker_threads` cannot load: we record the Blob
 *     text, write the worker source to a temp file with its `importScripts(blob)` pointed at the
 *     package's own `wasm-out/tfjs-backend-wasm-threaded-simd.js`, and hand out that file path.
 *  3. The C++ side caps the pool at `os.cpus().length / 2` (assumes hyper-threading), i.e. 1 on
 *     a 2-vCPU machine: `os.cpus()` reports 2x the requested threads while the module starts.
 * Afterwards the pool's workers are unref()'d so they do not keep the process alive.
 */
export interface WasmThreadsArgs {
  /** XNNPACK threads including the calling thread (default: os.cpus().length). */
  threads?: number;
}

const requireHere = createRequire(import.meta.url);

/**
 * Initialise the wasm backend with a multi-threaded XNNPACK pool and make it current. Must run
 * before anything else initialises the wasm backend (afterwards the single-threaded module is
 * already loaded and this throws). Returns the thread count XNNPACK actually uses.
 *
 * @example
 * const n = await initWasmThreads({ threads: 2 });
 * await setBackend('wasm'); // already initialised: keeps the threaded module, adds our kernels
 */
export async function initWasmThreads(args: WasmThreadsArgs = {}): Promise<number> {
  const threads = args.threads ?? os.cpus().length;
  if (!Number.isInteger(threads) || threads < 1 || threads > 8) {
    throw new Error(`initWasmThreads: threads must be an integer in 1..8 (the prebuilt worker pool size), got ${threads}`);
  }
  const wasmPkg = await import('@tensorflow/tfjs-backend-wasm');
  if (tf.engine().registry['wasm'] !== undefined) {
    throw new Error('initWasmThreads: the wasm backend is already initialised; call this before setBackend(\'wasm\')');
  }
  const glue = path.join(path.dirname(requireHere.resolve('@tensorflow/tfjs-backend-wasm')), '../wasm-out/tfjs-backend-wasm-threaded-simd.js');
  if (!fs.existsSync(glue)) throw new Error(`initWasmThreads: ${glue} not found (unexpected @tensorflow/tfjs-backend-wasm layout)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-wasm-threads-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const texts = new WeakMap<Blob, string>();
  const RealBlob = globalThis.Blob;
  const realCreate = URL.createObjectURL;
  const realCpus = os.cpus;
  class RecordingBlob extends RealBlob {
    constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
      super(parts, options);
      if (parts?.every((p) => typeof p === 'string')) texts.set(this, parts.join(''));
    }
  }
  const patchPoint = 'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}';
  globalThis.Blob = RecordingBlob;
  URL.createObjectURL = (obj: Blob | MediaSource) => {
    const text = obj instanceof RealBlob ? texts.get(obj) : undefined;
    if (text === undefined || !text.includes(patchPoint)) return realCreate(obj as Blob);
    const file = path.join(dir, 'worker.cjs');
    fs.writeFileSync(file, text.replace(patchPoint, `if(true){importScripts(${JSON.stringify(glue)})}`));
    return file;
  };
  os.cpus = () => {
    const c = realCpus();
    return Array.from({ length: 2 * threads }, (_, i) => c[i % c.length]);
  };
  try {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    wasmPkg.setThreadsCount(threads);
    if (!(await tf.setBackend('wasm'))) throw new Error('initWasmThreads: the threaded wasm backend failed to initialise');
    await tf.ready();
  } finally {
    globalThis.Blob = RealBlob;
    URL.createObjectURL = realCreate;
    os.cpus = realCpus;
  }
  // Emscripten ref()s a pthread's worker while it runs, and XNNPACK's pool threads run forever,
  // so without this the Node process never exits on its own.
  const pthreads = (tf.backend() as unknown as { wasm?: { PThread?: { runningWorkers: { unref(): void }[]; unusedWorkers: { unref(): void }[] } } }).wasm?.PThread;
  for (const w of [...(pthreads?.runningWorkers ?? []), ...(pthreads?.unusedWorkers ?? [])]) w.unref();
  return wasmPkg.getThreadsCount();
}
