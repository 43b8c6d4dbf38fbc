import { dirname, resolve, sep } from 'node:path';
import { locateModel } from '../model/load.js';
import { CONTAINER_EXTENSION } from '../serialize/format.js';

/** True when an output path names a container file rather than a model folder. */
export const isContainerPath = (out: string) => out.toLowerCase().endsWith(CONTAINER_EXTENSION);

/**
 * Refuse an `--out` that would overwrite the input model (its folder or file), or that holds it
 * (output folders are replaced as a whole): inputs are never modified. Call before anything is
 * written. `advice` ends the message (what to do instead).
 *
 * @example refuseOverwrite('out/teacher', 'out/teacher'); // throws: --out out/teacher would overwrite the input model ...
 */
export function refuseOverwrite(spec: string, out: string, advice = ': write to another path'): void {
  if (spec.startsWith('zoo:')) return;
  const loc = locateModel(spec);
  const target = resolve(out);
  const inputs = [loc.path && resolve(loc.path), loc.path && loc.format !== 'container' && loc.format !== 'onnx' ? dirname(resolve(loc.path)) : undefined];
  if (inputs.includes(target)) throw new Error(`--out ${out} would overwrite the input model ${spec}${advice}`);
  if (inputs.some((p) => p && p.startsWith(target + sep))) throw new Error(`--out ${out} holds the input model ${spec} and would be replaced with it${advice}`);
}

/**
 * Refuse `--out x.tfjsc` for a command that writes a model folder (with its report beside the
 * model): a folder named like a container would read as one to the user and to scripts.
 */
export function refuseContainerOut(command: string, out: string, report: string): void {
  if (isContainerPath(out)) {
    throw new Error(`${command} --out ${out}: ${command} writes a model folder (model.json, weights.bin, ${report}), not a container; ` +
      `give a folder and pack it afterwards: tfjs-compress pack <folder> --out ${out}`);
  }
}
