import type * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { dataInputs, parseRef, type GraphDefNode } from './attrs.js';

/** A consumer of a node output: the consuming node and the position of the input. */
export interface Use {
  node: GraphDefNode;
  input: number;
}

/**
 * The GraphDef of a loaded GraphModel, restricted to what its outputs need: nodes by name, who
 * consumes each node, and the Const values (from `graph.weights`).
 */
export class GraphDef {
  readonly nodes = new Map<string, GraphDefNode>();
  /** Reachable nodes in no particular order. */
  readonly reachable: GraphDefNode[] = [];
  readonly inputNames: string[];
  readonly outputRefs: string[];
  private readonly uses = new Map<string, Use[]>();

  constructor(readonly graph: GraphModel) {
    const topo = (graph as unknown as { artifacts?: tf.io.ModelArtifacts }).artifacts?.modelTopology as { node?: GraphDefNode[] } | undefined;
    if (!Array.isArray(topo?.node)) throw new Error('graph model has no GraphDef topology (modelTopology.node): was it loaded with loadGraphModel?');
    for (const n of topo.node) this.nodes.set(n.name, n);
    // inputs/outputs carry graph tensor names; inputNodes/outputNodes may be signature keys.
    this.inputNames = graph.inputs.map((t) => parseRef(t.name).node);
    this.outputRefs = graph.outputs.map((t) => t.name);
    const seen = new Set<string>();
    const stack = this.outputRefs.map((r) => parseRef(r).node);
    while (stack.length) {
      const name = stack.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const node = this.nodes.get(name);
      if (!node) throw new Error(`graph model: node '${name}' is referenced but not defined`);
      this.reachable.push(node);
      dataInputs(node).forEach((ref, input) => {
        const src = parseRef(ref).node;
        const list = this.uses.get(src) ?? [];
        list.push({ node, input });
        this.uses.set(src, list);
        stack.push(src);
      });
    }
  }

  /** The node, or a clear error. */
  node(name: string): GraphDefNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`graph model: node '${name}' is referenced but not defined`);
    return n;
  }

  /** Every (reachable) use of any output of `name`. */
  usesOf(name: string): Use[] {
    return this.uses.get(name) ?? [];
  }

  /** True when `name` is a model output (its value must survive as is). */
  isOutput(name: string): boolean {
    return this.outputRefs.some((r) => parseRef(r).node === name);
  }

  /** The tensor of a Const node (owned by the GraphModel). */
  constTensor(name: string): tf.Tensor | undefined {
    return this.nodes.get(name)?.op === 'Const' ? this.graph.weights[name]?.[0] : undefined;
  }

  /** Op-type counts of the reachable nodes (Const excluded). */
  opCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const n of this.reachable) if (n.op !== 'Const') counts[n.op] = (counts[n.op] ?? 0) + 1;
    return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
  }
}
