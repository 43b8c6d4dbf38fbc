import type * as tf from '@tensorflow/tfjs';
import type { ConvertContext, OnnxValue } from './context.js';

/** What a layer converter receives for one call (inbound node) of a layer. */
export interface ConverterArgs {
  layer: tf.layers.Layer;
  /** `layer.getConfig()`: the layer's serialisable settings (strides, padding, activation, ...). */
  config: Record<string, unknown>;
  /** Input values (tfjs logical shapes; their ONNX layout may be channels-first). */
  inputs: OnnxValue[];
  /** tfjs output shapes of this call, batch dimension `null`. */
  outputShapes: (number | null)[][];
  ctx: ConvertContext;
}

/** Turns one tfjs layer call into ONNX nodes and returns its output value(s). */
export type OnnxConverter = (a: ConverterArgs) => OnnxValue | OnnxValue[];

const registry = new Map<string, OnnxConverter>();

/**
 * Register (or replace) the ONNX converter for a tfjs layer class, e.g. for your own custom layers.
 * The converter appends nodes through `ctx` and returns the output value(s).
 *
 * @example
 * registerOnnxConverter('Scale', ({ layer, inputs, ctx }) => {
 *   const x = inputs[0]!;
 *   const k = ctx.b.constFloat([(layer.getConfig().factor as number)], []);
 *   return ctx.op('Mul', [x.name, k], {}, layer.name, x);   // elementwise: keeps x's layout
 * });
 */
export function registerOnnxConverter(className: string, fn: OnnxConverter): void {
  registry.set(className, fn);
}

/** The converter for a layer class, if any. */
export function getOnnxConverter(className: string): OnnxConverter | undefined {
  return registry.get(className);
}

/** Layer classes that can be exported to ONNX, sorted. */
export function supportedOnnxLayers(): string[] {
  return [...registry.keys()].sort();
}
