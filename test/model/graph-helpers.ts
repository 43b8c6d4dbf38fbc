import * as tf from '@tensorflow/tfjs';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const f32 = { type: 'DT_FLOAT' };
const dims = (d: number[]) => ({ dim: d.map((s) => ({ size: String(s) })) });
const constNode = (name: string, shape: number[], dtype: 'DT_FLOAT' | 'DT_INT32') => ({
  name,
  op: 'Const',
  attr: { dtype: { type: dtype }, value: { tensor: { dtype, tensorShape: dims(shape) } } },
});

/** A dense softmax classifier over flattened 28x28 images, as a layers model (the graph's twin). */
export function denseClassifier(inputShape: number[], seed = 1): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed }), biasInitializer: tf.initializers.randomNormal({ seed: seed + 1, stddev: 0.1 }) }),
    ],
  });
}

/**
 * The same function as {@link denseClassifier} (its weights) written as a GraphDef the way
 * tensorflowjs_converter emits Keras classifiers: `... -> Softmax -> Identity` (or IdentityN,
 * or logits only), with the input declared as `inputShape` (e.g. [-1, 28, 28]).
 */
export async function denseGraph(
  twin: tf.LayersModel,
  inputShape: number[],
  end: 'identity' | 'identityN' | 'logits' = 'identity',
  /** Put a Cumsum (an op with no layers conversion) before the softmax. */
  unconvertible = false,
): Promise<GraphModel> {
  const [w, b] = twin.getWeights();
  const node: object[] = [
    { name: 'x', op: 'Placeholder', attr: { dtype: f32, shape: { shape: dims(inputShape) } } },
    constNode('flat_shape', [2], 'DT_INT32'),
    { name: 'flat', op: 'Reshape', input: ['x', 'flat_shape'], attr: { T: f32, Tshape: { type: 'DT_INT32' } } },
    constNode('w', w!.shape, 'DT_FLOAT'),
    constNode('b', b!.shape, 'DT_FLOAT'),
    { name: 'mm', op: 'MatMul', input: ['flat', 'w'], attr: { T: f32, transpose_a: { b: false }, transpose_b: { b: false } } },
    { name: unconvertible ? 'pre' : 'logits', op: 'BiasAdd', input: ['mm', 'b'], attr: { T: f32 } },
  ];
  if (unconvertible) {
    node.push(constNode('axis', [], 'DT_INT32'));
    node.push({ name: 'logits', op: 'Cumsum', input: ['pre', 'axis'], attr: { T: f32, Tidx: { type: 'DT_INT32' }, exclusive: { b: false }, reverse: { b: false } } });
  }
  if (end !== 'logits') node.push({ name: 'probs', op: 'Softmax', input: ['logits'], attr: { T: f32 } });
  if (end === 'identity') node.push({ name: 'Identity', op: 'Identity', input: ['probs'], attr: { T: f32 } });
  // IdentityN passes input k to output k: output 1 is the softmax, output 0 the logits.
  if (end === 'identityN') node.push({ name: 'out', op: 'IdentityN', input: ['logits', 'probs', '^flat'], attr: { T: { list: { type: ['DT_FLOAT', 'DT_FLOAT'] } } } });
  const flat = tf.tensor1d([-1, 784], 'int32');
  const axis = tf.scalar(1, 'int32');
  const named = [{ name: 'flat_shape', tensor: flat }, { name: 'w', tensor: w! }, { name: 'b', tensor: b! }];
  const { data, specs } = await tf.io.encodeWeights(unconvertible ? [...named, { name: 'axis', tensor: axis }] : named);
  tf.dispose([flat, axis]);
  return loadGraphModel(
    tf.io.fromMemory({ modelTopology: { node, versions: { producer: 1 }, library: {} }, format: 'graph-model', weightSpecs: specs, weightData: data }),
  );
}

/** Load a graph model folder with stock tfjs only (tf.io.fromMemory over the raw files), as an independent reference. */
export async function stockGraphModel(jsonPath: string): Promise<GraphModel> {
  const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as tf.io.ModelJSON;
  const group = json.weightsManifest;
  const bins = group.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(jsonPath), p))));
  const weightData = new Uint8Array(Buffer.concat(bins)).buffer;
  return loadGraphModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: group.flatMap((g) => g.weights), weightData, format: json.format }),
  );
}

/** Load a layers model folder with stock tfjs only. */
export async function stockLayersModel(jsonPath: string): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as tf.io.ModelJSON;
  const group = json.weightsManifest;
  const bins = group.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(jsonPath), p))));
  const weightData = new Uint8Array(Buffer.concat(bins)).buffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: group.flatMap((g) => g.weights), weightData }));
}

/** Folder of the read-only real models. */
export { REAL_MODELS as REAL } from '../helpers/fixtures.js';

/** Write a loaded graph model as a model.json + weights.bin folder (for the file-based commands). */
export async function saveGraphFolder(model: GraphModel, dir: string): Promise<string> {
  let art: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => ((art = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'weights.bin'), new Uint8Array(tf.io.CompositeArrayBuffer.join(art!.weightData!)));
  writeFileSync(
    join(dir, 'model.json'),
    JSON.stringify({ format: 'graph-model', modelTopology: art!.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: art!.weightSpecs }] }),
  );
  return dir;
}
