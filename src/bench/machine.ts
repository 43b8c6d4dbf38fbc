import os from 'node:os';
import type { MachineInfo } from './report/schema.js';

/** CPU model, core count, Node version and platform of this machine. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: os.platform(),
    arch: os.arch(),
    memoryBytes: os.totalmem(),
  };
}
