import { quantizeAffine } from './affine.js';
import { quantizeCodebook } from './codebook.js';
import { toHalfBits } from './half.js';
import type { ChannelAxes } from './channels.js';
import type { QuantizedTensor } from './types.js';

/** Per-call options a quantizer may read. */
export interface QuantizerArgs {
  /** Codebook index width (2..8). */
  bits?: number;
  /** Output-channel axes for per-channel modes (default: the last axis; `null`: per tensor). */
  channels?: ChannelAxes | null;
}

/** A weight quantizer: float32 values in, quantized record out. */
export interface WeightQuantizer {
  /** Registry key, also the CLI `--mode` value. */
  name: string;
  /** One line for help texts. */
  describe: string;
  quantize(values: Float32Array, shape: number[], args: QuantizerArgs): QuantizedTensor;
  /**
   * Finer modes to try, in order, for a tensor whose reconstruction error exceeds the bound
   * (after them the tensor stays float32). Stock-tfjs modes fall back to stock-tfjs modes only,
   * so a graph model written in the converter's format stays loadable by tf.loadGraphModel.
   */
  fallback?: readonly string[];
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

/** Per-channel affine along the weight's output-channel axes (default: the last axis, as for Dense and Conv2D). */
function perChannel(dtype: 'int8' | 'uint8', v: Float32Array, shape: number[], args: QuantizerArgs) {
  const ch = args.channels === undefined ? (shape.length > 1 ? { axis: shape.length - 1, count: 1 } : null) : args.channels;
  return quantizeAffine(v, shape, { dtype, axis: ch && shape.length > 1 ? ch.axis : null, axisCount: ch?.count });
}

registerQuantizer({
  name: 'float16',
  describe: 'IEEE half precision (round to nearest even); relative error <= 2^-11',
  quantize: (v, shape) => ({ kind: 'float16', shape: [...shape], bits: toHalfBits(v) }),
  fallback: [],
});
registerQuantizer({
  name: 'fp16',
  describe: 'alias of float16',
  quantize: (v, shape) => ({ kind: 'float16', shape: [...shape], bits: toHalfBits(v) }),
  fallback: [],
});
registerQuantizer({
  name: 'int8',
  describe: 'int8 affine, one scale/zero point per tensor; error <= scale/2',
  quantize: (v, shape) => quantizeAffine(v, shape, { dtype: 'int8' }),
  fallback: ['int8-channel', 'float16'],
});
registerQuantizer({
  name: 'uint8',
  describe: 'uint8 affine, one scale/zero point per tensor (tensorflowjs_converter --quantize_uint8); error <= scale/2',
  quantize: (v, shape) => quantizeAffine(v, shape, { dtype: 'uint8' }),
  fallback: ['uint16', 'float16'],
});
for (const dtype of ['int8', 'uint8'] as const) {
  registerQuantizer({
    name: `${dtype}-channel`,
    describe: `${dtype} affine, one scale/zero point per output channel (depthwise kernels: per channel of axis 2); error <= scale/2`,
    quantize: (v, shape, args) => perChannel(dtype, v, shape, args),
    fallback: ['float16'],
  });
}
registerQuantizer({
  name: 'uint16',
  describe: 'uint16 affine, one scale/zero point per tensor (tensorflowjs_converter --quantize_uint16); error <= scale/2',
  quantize: (v, shape) => quantizeAffine(v, shape, { dtype: 'uint16' }),
  fallback: ['float16'],
});
registerQuantizer({
  name: 'codebook',
  describe: 'k-means weight sharing with 2^bits shared values; zeros kept exact',
  quantize: (v, shape, args) => quantizeCodebook(v, shape, { bits: args.bits }),
  fallback: ['int8-channel', 'float16'],
});
