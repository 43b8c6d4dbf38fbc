import * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import type * as ort from 'onnxruntime-node';
import { loadOnnxRuntime } from '../../../util/onnxruntime.js';
import { gzipSize } from '../../../util/gzip.js';
import { GraphBuilder, dtypeCode, ints, valueInfo } from '../builder.js';
import { irVersionFor } from '../convert.js';
import { modelProtoType } from '../schema.js';
import { runOnnx } from '../verify.js';
import { seededRandom } from '../../../data/dataset.js';
import { graphOps, type GraphOpContext, type TfNode } from './ops.js';

/** Options of {@link exportGraphOnnx}. */
export interface ExportGraphOnnxArgs {
  /** ONNX opset, 13 (default) to 17. */
  opset?: number;
  /** Parity check against `model.execute` (default on; tolerance 1e-4, 8 seeded random samples). */
  verify?: { inputs?: tf.Tensor[]; samples?: number; tolerance?: number } | false;
}

/** Report of {@link exportGraphOnnx}. */
export interface GraphOnnxReport {
  opset: number;
  bytes: number;
  gzipBytes: number;
  nodes: number;
  opCounts: Record<string, number>;
  inputNames: string[];
  outputNames: string[];
  verify?: { samples: number; tolerance: number; maxAbsDiff: number; ok: boolean };
}

/** TensorFlow graph ops the graph-model exporter understands. */
export function supportedGraphOps(): string[] {
  return ['Placeholder', 'Const', ...Object.keys(graphOps)].sort();
}

const baseName = (ref: string) => ref.replace(/^\^/, '').replace(/:0$/, '');

/**
 * Convert a tfjs GraphModel (tensorflowjs_converter output) to ONNX, keeping its NHWC inputs and
 * outputs. Convs and pools run NCHW inside; a conv feeding a conv reuses the NCHW tensor, so only
 * boundary Transposes remain. Throws naming every unsupported op before converting anything.
 */
export function convertGraphToOnnx(model: GraphModel, args: { opset?: number } = {}): { bytes: Uint8Array; opCounts: Record<string, number>; inputNames: string[]; outputNames: string[] } {
  const opset = args.opset ?? 13;
  if (!Number.isInteger(opset) || opset < 13 || opset > 17) throw new Error(`opset must be an integer from 13 to 17, got ${opset}`);
  const topo = (model as unknown as { artifacts?: tf.io.ModelArtifacts }).artifacts?.modelTopology as { node?: TfNode[] } | undefined;
  if (!topo?.node) throw new Error('graph model has no GraphDef topology (was it loaded with loadGraphModel?)');
  const nodes = new Map(topo.node.map((n) => [n.name, n]));
  const weights = model.weights;
  const inputNames = model.inputNodes.map(baseName);
  const outputNames = model.outputNodes.map(baseName);

  // Reachable nodes and the unsupported ops among them, before any work.
  const reach = new Set<string>();
  const stack = [...outputNames];
  while (stack.length) {
    const n = stack.pop()!;
    if (reach.has(n)) continue;
    const node = nodes.get(n);
    if (!node) throw new Error(`graph model: node '${n}' is referenced but not defined`);
    reach.add(n);
    for (const i of node.input ?? []) if (!i.startsWith('^')) stack.push(baseName(i).split(':')[0]!);
  }
  const bad = [...reach].map((n) => nodes.get(n)!).filter((n) => !['Placeholder', 'Const'].includes(n.op) && !graphOps[n.op]);
  if (bad.length) {
    throw new Error(
      `cannot export graph model to ONNX: unsupported op${bad.length > 1 ? 's' : ''} ${bad.map((n) => `'${n.name}' (${n.op})`).join(', ')}. Supported ops: ${supportedGraphOps().join(', ')}`,
    );
  }

  const b = new GraphBuilder();
  for (const n of [...outputNames, ...inputNames]) b.reserve(n);
  const values = new Map<string, string>();
  const nchwOf = new Map<string, string>();
  const graphInputs = model.inputs.map((info, i) => {
    values.set(inputNames[i]!, inputNames[i]!);
    const dtype = info.dtype === 'int32' ? 'int32' : 'float32';
    return info.shape ? valueInfo(inputNames[i]!, dtype, info.shape.map((d) => (d < 0 ? null : d))) : { name: inputNames[i], type: { tensorType: { elemType: dtypeCode(dtype) } } };
  });

  const constTensor = (name: string) => (nodes.get(name)?.op === 'Const' ? weights[name]?.[0] : undefined);
  const resolve = (ref: string): string => {
    const [name, idx] = baseName(ref).split(':') as [string, string | undefined];
    if (idx && idx !== '0') throw new Error(`graph node '${name}': output ${idx} is used, only single-output ops are supported`);
    const hit = values.get(name);
    if (hit) return hit;
    const node = nodes.get(name)!;
    let out: string;
    if (node.op === 'Const') {
      const t = constTensor(name);
      if (!t) throw new Error(`graph model: no weight data for Const '${name}'`);
      const data = t.dataSync();
      out = t.dtype === 'int32' ? b.initializer(name, 'int32', t.shape, Int32Array.from(data)) : b.initializer(name, 'float32', t.shape, Float32Array.from(data));
    } else {
      const refs = (node.input ?? []).filter((i) => !i.startsWith('^'));
      const ctx: GraphOpContext = {
        b,
        node,
        inputs: refs.map(resolve),
        constOf: (i) => constTensor(baseName(refs[i] ?? '')),
        toNchw: (x) => {
          let y = nchwOf.get(x);
          if (!y) {
            y = b.node('Transpose', [x], { perm: ints([0, 3, 1, 2]) }, `${x}/to_nchw`)[0]!;
            nchwOf.set(x, y);
          }
          return y;
        },
        toNhwc: (x, base) => {
          const y = b.node('Transpose', [x], { perm: ints([0, 2, 3, 1]) }, base)[0]!;
          nchwOf.set(y, x);
          return y;
        },
      };
      out = graphOps[node.op]!(ctx);
    }
    values.set(name, out);
    return out;
  };

  const outShapes = outputShapes(model);
  const taken = new Set(inputNames);
  const graphOutputs = outputNames.map((name, i) => {
    const v = resolve(name);
    if (taken.has(v) || b.initializers.some((x) => x.name === v) || taken.has(name)) {
      const fresh = taken.has(name) ? b.unique(name) : name;
      b.nodeWithOutputs('Identity', [v], {}, `${fresh}/identity`, [fresh]);
      name = fresh;
    } else b.renameReserved(v, name);
    taken.add(name);
    return valueInfo(name, 'float32', outShapes[i]!) as { name: string };
  });

  pruneDead(b, new Set(graphOutputs.map((o) => o.name)));
  const proto = {
    irVersion: irVersionFor(opset),
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'tfjs-compress',
    producerVersion: '0.1.0',
    graph: b.toGraphProto('graph_model', graphInputs, graphOutputs),
  };
  const T = modelProtoType();
  const bytes = T.encode(T.fromObject(proto)).finish();
  const opCounts: Record<string, number> = {};
  for (const n of b.nodes) opCounts[n.opType] = (opCounts[n.opType] ?? 0) + 1;
  return { bytes, opCounts, inputNames, outputNames: graphOutputs.map((o) => o.name) };
}

/**
 * Output shapes from one batch-1 dry run of the graph (GraphDefs carry no output shapes); the batch
 * dimension becomes symbolic when the inputs' batch is.
 */
function outputShapes(model: GraphModel): (number | null)[][] {
  const feeds: Record<string, tf.Tensor> = {};
  let dynamicBatch = false;
  model.inputs.forEach((info, i) => {
    if (!info.shape || info.shape.slice(1).some((d) => d < 0)) {
      throw new Error(`graph input '${info.name}' needs a static shape (except the batch dimension), got [${info.shape ?? '?'}]`);
    }
    dynamicBatch ||= info.shape[0]! < 0;
    feeds[model.inputNodes[i]!] = tf.zeros(info.shape.map((d) => (d < 0 ? 1 : d)), info.dtype);
  });
  try {
    const out = model.execute(feeds, model.outputNodes);
    const list = Array.isArray(out) ? out : [out];
    const shapes = list.map((t) => t.shape.map((d, j) => (j === 0 && dynamicBatch ? null : d)));
    list.forEach((t) => t.dispose());
    return shapes;
  } finally {
    Object.values(feeds).forEach((t) => t.dispose());
  }
}

/** Drop nodes and initializers nothing live depends on (e.g. Transposes a conv chain skipped). */
function pruneDead(b: GraphBuilder, outputs: Set<string>): void {
  const live = new Set(outputs);
  const keep: boolean[] = new Array<boolean>(b.nodes.length).fill(false);
  for (let i = b.nodes.length - 1; i >= 0; i--) {
    const n = b.nodes[i]!;
    if (n.output.some((o) => live.has(o))) {
      keep[i] = true;
      n.input.forEach((x) => live.add(x));
    }
  }
  const nodes = b.nodes.filter((_, i) => keep[i]);
  b.nodes.splice(0, b.nodes.length, ...nodes);
  const inits = b.initializers.filter((x) => live.has(x.name));
  b.initializers.splice(0, b.initializers.length, ...inits);
}

/**
 * Convert a tfjs GraphModel to ONNX and check it in onnxruntime-node against `model.execute`.
 * @example const { bytes, report } = await exportGraphOnnx(await loadGraphModel(url));
 */
export async function exportGraphOnnx(model: GraphModel, args: ExportGraphOnnxArgs = {}): Promise<{ bytes: Uint8Array; report: GraphOnnxReport }> {
  const conv = convertGraphToOnnx(model, args);
  const report: GraphOnnxReport = {
    opset: args.opset ?? 13,
    bytes: conv.bytes.length,
    gzipBytes: gzipSize(conv.bytes),
    nodes: Object.values(conv.opCounts).reduce((a, c) => a + c, 0),
    opCounts: conv.opCounts,
    inputNames: conv.inputNames,
    outputNames: conv.outputNames,
  };
  if (args.verify === false) return { bytes: conv.bytes, report };
  const v = args.verify ?? {};
  const tolerance = v.tolerance ?? 1e-4;
  const rand = seededRandom(1);
  const xs =
    v.inputs ??
    model.inputs.map((info) => {
      if (!info.shape) throw new Error(`graph input '${info.name}' has no static shape: pass verify.inputs`);
      const shape = info.shape.map((d) => (d < 0 ? (v.samples ?? 8) : d));
      return tf.tensor(Float32Array.from({ length: shape.reduce((a, c) => a * c, 1) }, () => rand()), shape);
    });
  try {
    const feeds: Record<string, tf.Tensor> = {};
    const ortRt = await loadOnnxRuntime();
    const ortFeeds: Record<string, ort.Tensor> = {};
    xs.forEach((x, i) => {
      feeds[model.inputNodes[i]!] = x;
      ortFeeds[conv.inputNames[i]!] = new ortRt.Tensor('float32', Float32Array.from(x.dataSync()), x.shape);
    });
    const outs = tf.tidy(() => {
      const out = model.execute(feeds, model.outputNodes);
      return Array.isArray(out) ? out : [out];
    });
    // Read outside tidy: tidy walks returned typed arrays element by element.
    const ref = outs.map((t) => t.dataSync() as Float32Array);
    tf.dispose(outs);
    const got = await runOnnx(conv.bytes, ortFeeds);
    let maxAbsDiff = 0;
    ref.forEach((r, i) => {
      const g = got[conv.outputNames[i]!]!.data as Float32Array;
      if (g.length !== r.length) throw new Error(`output '${conv.outputNames[i]}': onnx has ${g.length} values, tfjs ${r.length}`);
      r.forEach((x, j) => (maxAbsDiff = Math.max(maxAbsDiff, Math.abs(x - g[j]!))));
    });
    report.verify = { samples: xs[0]?.shape[0] ?? 0, tolerance, maxAbsDiff, ok: maxAbsDiff <= tolerance };
    if (!report.verify.ok) {
      throw new Error(`ONNX export of graph model failed verification: max |onnxruntime - tfjs| = ${maxAbsDiff.toExponential(3)} > tolerance ${tolerance}`);
    }
  } finally {
    if (!v.inputs) xs.forEach((x) => x.dispose());
  }
  return { bytes: conv.bytes, report };
}
