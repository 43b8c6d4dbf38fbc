import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Path of a peer script from `../shared/peers/` (beside the repository, as on the developers'
 * machines and in CI); `PEERS_DIR` overrides the folder.
 */
export function peerScript(name: 'onnx_check.py' | 'torch_peer.py'): string {
  const dir = process.env.PEERS_DIR ?? resolve(import.meta.dirname, '..', '..', 'shared', 'peers');
  return join(dir, name);
}

/** True when the peer script and the interpreter it needs are both present. */
export function peerAvailable(name: 'onnx_check.py' | 'torch_peer.py'): boolean {
  return existsSync(peerScript(name)) && existsSync('/usr/bin/python3');
}

/** The JSON line `torch_peer.py` prints. */
export interface TorchPeerResult {
  /** Samples/s of the best timed pass. */
  samples_per_s: number;
  /** Seconds of the best timed pass. */
  seconds: number;
  /** Seconds of every timed pass (after the warm-up). */
  seconds_all: number[];
  threads: number;
  version: string;
  /** The BLAS library torch mapped (the peer refuses the netlib reference BLAS). */
  blas: string;
}

/**
 * Like {@link runTorchPeer}, but a peer that cannot run at its best (not installed, reference BLAS,
 * crashed) stops the benchmark with its reason: a ratio against a missing or handicapped peer is not
 * a result. `BENCH_ALLOW_MISSING_PEER=1` measures our side only.
 */
export function requireTorchPeer(args: string[]): TorchPeerResult | string {
  const r = runTorchPeer(args);
  if (typeof r === 'string' && process.env.BENCH_ALLOW_MISSING_PEER !== '1') {
    throw new Error(`the PyTorch peer could not run at its best (${r}); install python3-torch libopenblas0-pthread, or set BENCH_ALLOW_MISSING_PEER=1 to measure our side only`);
  }
  return r;
}

/**
 * Run `torch_peer.py` with the given arguments (e.g. `['--task', 'train', '--model', 'cnn']`),
 * returning its JSON result, or a string saying why it could not run (peer not installed...).
 */
export function runTorchPeer(args: string[]): TorchPeerResult | string {
  const python = '/usr/bin/python3';
  const script = peerScript('torch_peer.py');
  if (!existsSync(python)) return `${python} not found`;
  if (!existsSync(script)) return `${script} not found`;
  const r = spawnSync(python, [script, ...args], { encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0) return `torch peer failed (${r.status}): ${(r.stderr || r.stdout).trim().split('\n').pop()}`;
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchPeerResult;
  } catch {
    return `torch peer printed no JSON: ${r.stdout.slice(0, 200)}`;
  }
}
