import { quantizeAffine } from './affine.js';
import { quantizeCodebook } from './codebook.js';
import { toHalfBits } from './half.js';
import type { QuantizedTensor } from './types.js';

/** Per-call options a quantizer may read. */
export interface QuantizerArgs {
  /** Codebook index width (2..8). */
  bits?: number;
  /** Output-channel axis for per-channel modes (default: the last axis). */
  channelAxis?: number;
}

/** A weight quantizer: float32 values in, quantized record out. */
export interface WeightQuantizer {
  /** Registry key, also the CLI `--mode` value. */
  name: string;
  /** One line for help texts. */
  describe: string;
  quantize(values: Float32Array, shape: number[], args: QuantizerArgs): QuantizedTensor;
}

const registry = new Map<string, WeightQuantizer>();

/** Add (or replace) a quantizer in the registry. */
export function registerQuantizer(q: WeightQuantizer): void {
  registry.set(q.name, q);
}

/** Look up a quantizer by name; the error lists the known names. */
export function getQuantizer(name: string): WeightQuantizer {
  const q = registry.get(name);
  if (!q) throw new Error(`unknown quantization mode '${name}': expected one of ${[...registry.keys()].join(', ')}`);
  return q;
}

/** Names of all registered quantizers. */
export function quantizerNames(): string[] {
  return [...registry.keys()];
}

registerQuantizer({
  name: 'float16',
  describe: 'IEEE half precision (round to nearest even); relative error <= 2^-11',
  quantize: (v, shape) => ({ kind: 'float16', shape: [...shape], bits: toHalfBits(v) }),
});
registerQuantizer({
  name: 'fp16',
  describe: 'alias of float16',
  quantize: (v, shape) => ({ kind: 'float16', shape: [...shape], bits: toHalfBits(v) }),
});
for (const dtype of ['int8', 'uint8'] as const) {
  registerQuantizer({
    name: dtype,
    describe: `${dtype} affine, one scale/zero point per tensor; error <= scale/2`,
    quantize: (v, shape) => quantizeAffine(v, shape, { dtype }),
  });
  registerQuantizer({
    name: `${dtype}-channel`,
    describe: `${dtype} affine, one scale/zero point per output channel; error <= scale/2`,
    // Per-channel scales run along the output channel: the last axis of Dense and Conv2D kernels.
    quantize: (v, shape, args) => quantizeAffine(v, shape, { dtype, axis: shape.length > 1 ? (args.channelAxis ?? -1) : null }),
  });
}
registerQuantizer({
  name: 'codebook',
  describe: 'k-means weight sharing with 2^bits shared values; zeros kept exact',
  quantize: (v, shape, args) => quantizeCodebook(v, shape, { bits: args.bits }),
});
