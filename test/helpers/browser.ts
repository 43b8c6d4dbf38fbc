/**
 * Headless Chromium for tests: serve a page and its files on 127.0.0.1 (node:http), open it in
 * /usr/bin/chromium, and wait for the page to POST its result back. A page includes
 * `<script src="/__report.js"></script>` first and calls `report(value)` when done; uncaught errors
 * and rejections are reported as `{ error }` so a broken page fails fast with its message.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';

/** The Chromium binary CI installs (`.ci/run`: apt-get install chromium). */
export const CHROMIUM = '/usr/bin/chromium';

/** True when Chromium is installed; tests skip (with {@link CHROMIUM_MISSING}) when it is not. */
export const hasChromium = existsSync(CHROMIUM);

/** Suffix for the title of a test skipped because Chromium is absent. */
export const CHROMIUM_MISSING = `SKIPPED, ${CHROMIUM} is not installed (apt-get install -y chromium; CI installs it)`;

/** Flags for a throw-away headless profile that makes no network calls of its own. */
export function chromiumFlags(profileDir: string): string[] {
  return ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-extensions', '--mute-audio', `--user-data-dir=${profileDir}`];
}

/** A served file: its bytes or text, or a path on disk read when requested. */
export type Served = string | Uint8Array | { path: string };

/** What to serve: exact routes (`/index.html`) and folders under a prefix (`/web/` -> a directory). */
export interface Site {
  files?: Record<string, Served>;
  dirs?: Record<string, string>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
};

const REPORTER = `
window.report = (value) => fetch('/__result', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });
const fail = (e) => window.report({ error: String((e && (e.stack || e.message)) || e) });
window.addEventListener('error', (e) => fail(e.error || e.message));
window.addEventListener('unhandledrejection', (e) => fail(e.reason));
`;

function lookup(site: Site, path: string): Uint8Array | string | undefined {
  if (path === '/__report.js') return REPORTER;
  const f = site.files?.[path];
  if (f !== undefined) return typeof f === 'object' && !(f instanceof Uint8Array) ? readFileSync(f.path) : f;
  for (const [prefix, dir] of Object.entries(site.dirs ?? {})) {
    if (!path.startsWith(prefix)) continue;
    const root = realpathSync(dir);
    const file = resolve(root, decodeURIComponent(path.slice(prefix.length)));
    // Only files inside the served folder.
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile() || !realpathSync(file).startsWith(root + sep)) return undefined;
    return readFileSync(file);
  }
  return undefined;
}

/**
 * Serve `site`, open `page` (a path such as `/index.html`) in headless Chromium and return what
 * the page reported. Rejects with the page's error, or on timeout with Chromium's last stderr lines.
 *
 * @example
 * const r = await runPage({ files: { '/index.html': html } }, '/index.html');
 */
export async function runPage<T = unknown>(site: Site, page: string, timeoutMs = 120_000): Promise<T> {
  let settle!: { resolve: (v: unknown) => void; reject: (e: Error) => void };
  const result = new Promise<unknown>((res, rej) => (settle = { resolve: res, reject: rej }));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (req.method === 'POST' && path === '/__result') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(204).end();
        try {
          settle.resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          settle.reject(new Error(`the page posted a result that is not JSON: ${(err as Error).message}`));
        }
      });
      return;
    }
    const body = req.method === 'GET' ? lookup(site, path) : undefined;
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;
  const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  const chrome = spawn(CHROMIUM, [...chromiumFlags(profile), '--enable-logging=stderr', '--v=0', `http://127.0.0.1:${port}${page}`], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  chrome.stderr!.on('data', (c: Buffer) => void (stderr = (stderr + c.toString('utf8')).slice(-20_000)));
  chrome.on('exit', (code) => settle.reject(new Error(`chromium exited (code ${code}) before the page reported: ${stderr.trim().split('\n').slice(-5).join(' | ')}`)));
  const timer = setTimeout(() => settle.reject(new Error(`no result from the page within ${timeoutMs} ms; chromium stderr: ${stderr.trim().split('\n').slice(-8).join(' | ')}`)), timeoutMs);
  try {
    const value = (await result) as { error?: string };
    if (value && typeof value === 'object' && typeof value.error === 'string') throw new Error(`the page failed: ${value.error}`);
    return value as T;
  } finally {
    clearTimeout(timer);
    chrome.removeAllListeners('exit');
    // Chromium runs in its own process group (detached): end the browser and its renderer/GPU
    // children together, so none keeps writing into the profile folder removed below.
    const exited = chrome.exitCode === null && chrome.signalCode === null ? new Promise((res) => chrome.once('exit', res)) : undefined;
    try {
      process.kill(-chrome.pid!, 'SIGKILL');
    } catch {
      // the group is already gone
    }
    await exited;
    server.closeAllConnections();
    await new Promise((res) => server.close(res));
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}
