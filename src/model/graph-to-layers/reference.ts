import type * as tf from '@tensorflow/tfjs';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { attrs, dataInputs, type GraphDefNode } from './attrs.js';

const FUSED_CONV: Record<string, string> = { _FusedConv2D: 'Conv2D', FusedDepthwiseConv2dNative: 'DepthwiseConv2dNative' };
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** True for a fused conv whose fused_ops start with FusedBatchNorm (stock tfjs refuses to run it). */
function hasFusedBatchNorm(n: GraphDefNode): boolean {
  return FUSED_CONV[n.op] !== undefined && attrs(n).strs('fused_ops')[0] === 'FusedBatchNorm';
}

/** The same computation as separate Conv + FusedBatchNormV3 (+ activation) nodes, the last one keeping the name. */
function unfuse(n: GraphDefNode): GraphDefNode[] {
  const a = n.attr ?? {};
  const [x, filter, scale, offset, mean, variance] = dataInputs(n);
  const keep = ['T', 'strides', 'padding', 'explicit_paddings', 'data_format', 'dilations'];
  const convAttr = Object.fromEntries(Object.entries(a).filter(([k]) => keep.includes(k)));
  const act = attrs(n).strs('fused_ops')[1];
  const bnName = act ? `${n.name}/batch_norm` : n.name;
  const out: GraphDefNode[] = [
    { name: `${n.name}/conv`, op: FUSED_CONV[n.op]!, input: [x!, filter!], attr: convAttr },
    {
      name: bnName,
      op: 'FusedBatchNormV3',
      input: [`${n.name}/conv`, scale!, offset!, mean!, variance!],
      attr: { T: a.T ?? { type: 'DT_FLOAT' }, epsilon: { f: attrs(n).float('epsilon', 1e-4) }, is_training: { b: false }, data_format: { s: b64('NHWC') } },
    },
  ];
  if (act) out.push({ name: n.name, op: act, input: [bnName], attr: act === 'LeakyRelu' ? { alpha: { f: attrs(n).float('leakyrelu_alpha', 0.2) } } : {} });
  return out;
}

/**
 * The parity reference for a graph. Usually the graph itself; when it holds fused convs with a
 * fused FusedBatchNorm (which stock tfjs cannot execute), a twin loaded by stock `loadGraphModel`
 * from the same weights, with those nodes spelled out as Conv + FusedBatchNormV3 + activation.
 * The caller disposes a twin (`twin !== graph`).
 */
export async function parityReference(graph: GraphModel, nodes: GraphDefNode[]): Promise<GraphModel> {
  if (!nodes.some(hasFusedBatchNorm)) return graph;
  const art = (graph as unknown as { artifacts: tf.io.ModelArtifacts }).artifacts;
  const topo = art.modelTopology as { node: GraphDefNode[] };
  const node = topo.node.flatMap((n) => (hasFusedBatchNorm(n) ? unfuse(n) : [n]));
  return loadGraphModel({ load: async () => ({ ...art, modelTopology: { ...topo, node } }) });
}
