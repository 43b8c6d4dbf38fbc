import type { GraphModel } from '@tensorflow/tfjs-converter';

/** One node of a graph model's GraphDef, as stored in its model.json. */
export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

/**
 * The GraphDef nodes of a loaded graph model. GraphModel keeps its artifacts private; this is
 * the one place that reads them.
 */
export function graphNodes(model: GraphModel): GraphNode[] {
  const topology = (model as unknown as { artifacts?: { modelTopology?: { node?: GraphNode[] } } }).artifacts?.modelTopology;
  return topology?.node ?? [];
}

// Ops that pass a tensor through unchanged (the converter ends graphs with Identity/IdentityN).
const PASS_THROUGH = new Set(['Identity', 'IdentityN', 'StopGradient', 'Snapshot']);

/** `name:2` -> ['name', 2]; `name` -> ['name', 0]. */
function splitOutput(ref: string): [string, number] {
  const m = /^(.*):(\d+)$/.exec(ref);
  return m ? [m[1]!, Number(m[2])] : [ref, 0];
}

/**
 * The tensor name behind an output as GraphModel names it: with a signature, `outputNodes` holds
 * the signature keys (e.g. `output_0`), which map to tensors (`Identity:0`).
 */
function signatureTensor(model: GraphModel, output: string): string {
  const sig = model.modelSignature as { outputs?: Record<string, { name?: string }> } | undefined;
  return sig?.outputs?.[output]?.name ?? output;
}

/**
 * The op that really produces an output, looking through Identity/IdentityN chains
 * (IdentityN's k-th output is its k-th input). `undefined` when the node is not in the graph.
 *
 * @example
 * producingOp(graph); // 'Softmax' for a converted Keras classifier ending in Softmax -> Identity
 */
export function producingOp(model: GraphModel, output: string = model.outputNodes[0]!): string | undefined {
  const byName = new Map(graphNodes(model).map((n) => [n.name, n]));
  let [name, index] = splitOutput(signatureTensor(model, output));
  for (let hops = 0; hops < byName.size; hops++) {
    const node = byName.get(name);
    if (!node) return undefined;
    if (!PASS_THROUGH.has(node.op)) return node.op;
    const data = (node.input ?? []).filter((i) => !i.startsWith('^'));
    const next = data[node.op === 'IdentityN' ? index : 0];
    if (next === undefined) return node.op;
    [name, index] = splitOutput(next);
  }
  return undefined;
}

/** True when the graph's (first) output is a softmax, i.e. probabilities rather than logits. */
export function graphOutputsProbabilities(model: GraphModel, output?: string): boolean {
  return producingOp(model, output) === 'Softmax';
}
