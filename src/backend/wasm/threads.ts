import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import workerThreads from 'node:worker_threads';

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
  /**
   * Give up (terminating the pool's workers) when the threaded module has not finished
   * initialising after this many milliseconds (default 60000). A pool worker that never
   * reports back would otherwise leave `setBackend` pending for ever.
   */
  timeoutMs?: number;
}

/**
 * Write the pthread worker source once per process, atomically. Emscripten asks for the
 * worker's URL once per pool worker (8 times) while the first workers are already starting, so
 * rewriting the file in place let a starting worker read it empty: that worker never reported
 * 'loaded' and initialisation hung (about one process in 15 under vitest).
 */
function writeWorkerSource(dir: string, source: string): string {
  const file = path.join(dir, 'worker.cjs');
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, source);
  fs.renameSync(tmp, file);
  return file;
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
  const timeoutMs = args.timeoutMs ?? 60_000;
  if (!(timeoutMs > 0)) throw new Error(`initWasmThreads: timeoutMs must be a positive number, got ${timeoutMs}`);
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
  const RealWorker = workerThreads.Worker;
  const workers: workerThreads.Worker[] = [];
  let workerFile: string | undefined;
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
    workerFile ??= writeWorkerSource(dir, text.replace(patchPoint, `if(true){importScripts(${JSON.stringify(glue)})}`));
    return workerFile;
  };
  // Record the pool's workers (the glue reads worker_threads.Worker when it loads) so a timed-out
  // initialisation can terminate them instead of leaving them to hold the process open.
  workerThreads.Worker = class RecordedWorker extends RealWorker {
    constructor(...args: ConstructorParameters<typeof RealWorker>) {
      super(...args);
      workers.push(this);
    }
  };
  os.cpus = () => {
    const c = realCpus();
    return Array.from({ length: 2 * threads }, (_, i) => c[i % c.length]);
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    wasmPkg.setThreadsCount(threads);
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        for (const w of workers) void w.terminate();
        reject(new Error(`initWasmThreads: the threaded wasm module did not finish initialising within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    if (!(await Promise.race([tf.setBackend('wasm'), timedOut]))) {
      throw new Error('initWasmThreads: the threaded wasm backend failed to initialise');
    }
    await tf.ready();
  } catch (e) {
    // Leave the flags as a later single-threaded setBackend('wasm') needs them.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasmPkg.setThreadsCount(1);
    throw e;
  } finally {
    clearTimeout(timer);
    globalThis.Blob = RealBlob;
    URL.createObjectURL = realCreate;
    os.cpus = realCpus;
    workerThreads.Worker = RealWorker;
  }
  // Emscripten ref()s a pthread's worker while it runs, and XNNPACK's pool threads run forever,
  // so without this the Node process never exits on its own.
  const pthreads = (tf.backend() as unknown as { wasm?: { PThread?: { runningWorkers: { unref(): void }[]; unusedWorkers: { unref(): void }[] } } }).wasm?.PThread;
  for (const w of [...(pthreads?.runningWorkers ?? []), ...(pthreads?.unusedWorkers ?? [])]) w.unref();
  return wasmPkg.getThreadsCount();
}
