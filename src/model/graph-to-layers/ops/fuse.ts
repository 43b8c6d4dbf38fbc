import type { GraphDefNode } from '../attrs.js';
import type { BuildContext } from '../context.js';
import { perChannel } from '../values.js';

/** Graph activation ops that are also tfjs activation names (applied exactly as the graph does). */
export const ACTIVATIONS: Record<string, string> = { Relu: 'relu', Relu6: 'relu6', Elu: 'elu', Sigmoid: 'sigmoid', Tanh: 'tanh' };

/** Bias and activation of a conv/dense layer under construction. */
export interface Tail {
  bias?: Float32Array;
  /** tfjs activation name; absent = linear. */
  activation?: string;
}

/** The per-channel constant of a bias-like node (BiasAdd, or Add/AddV2 with a [C] constant), if it is one. */
export function biasOf(c: BuildContext, node: GraphDefNode, channels: number, rank: number): { bias: Float32Array; tensorAt: number } | undefined {
  if (!['BiasAdd', 'Add', 'AddV2'].includes(node.op)) return undefined;
  for (const at of node.op === 'BiasAdd' ? [1] : [1, 0]) {
    const k = c.peekConst(node, at);
    const bias = k && perChannel(k, channels, rank);
    if (bias && !c.peekConst(node, 1 - at)) return { bias, tensorAt: 1 - at };
  }
  return undefined;
}

/**
 * Fold the sole consumers of `from` into the layer being built: a per-channel bias add (when the
 * layer has no bias yet), then an activation (when it has none). Returns the absorbed node names,
 * last one last; the caller gives them the layer's output as their value.
 */
export function absorbTail(c: BuildContext, from: string, tail: Tail, channels: number, rank: number): string[] {
  const absorbed: string[] = [];
  let last = from;
  for (;;) {
    const next = c.soleConsumer(last);
    if (!next) break;
    const b = tail.bias || tail.activation ? undefined : biasOf(c, next, channels, rank);
    if (b) tail.bias = b.bias;
    else if (!tail.activation && ACTIVATIONS[next.op]) tail.activation = ACTIVATIONS[next.op];
    else break;
    absorbed.push(next.name);
    last = next.name;
  }
  return absorbed;
}
