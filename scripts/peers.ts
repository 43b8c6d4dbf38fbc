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
