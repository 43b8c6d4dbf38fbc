import * as tf from '@tensorflow/tfjs';

/** `[layer, nodeIndex, tensorIndex, kwargs]`: one tensor of a functional config, as tfjs writes it. */
type Ref = [string, number, number, Record<string, unknown>];

/** One entry of a functional model's `layers` config (tfjs camelCase form). */
interface LayerEntry {
  name: string;
  className: string;
  config: Record<string, unknown>;
  inboundNodes: Ref[][];
}

/** Functional config as `Container.getConfig()` returns it. */
interface FunctionalConfig {
  name: string;
  layers: LayerEntry[];
  inputLayers: [string, number, number][];
  outputLayers: [string, number, number][];
}

/** A model whose nested models were inlined, and where each flat layer came from. */
export interface FlatModel {
  model: tf.LayersModel;
  /** Flat layer name -> path of the original leaf layer (`outer/inner/name`). */
  paths: Map<string, string>;
}

/**
 * Whether `model` holds another model as a layer (Teachable Machine, Keras transfer learning).
 *
 * @example
 * hasNestedModels(tmModel); // true
 */
export function hasNestedModels(model: tf.LayersModel): boolean {
  return model.layers.some((l) => l instanceof tf.LayersModel);
}

/** Original inbound-node indices of each layer's nodes that belong to `model`, ascending. */
function originalNodeIndices(model: tf.LayersModel): (layer: string) => number[] {
  // `containerNodes` is internal to tfjs (keys `${layer}_ib-${index}`); without it, indices are taken as is.
  const keys = [...((model as unknown as { containerNodes?: Set<string> }).containerNodes ?? [])];
  return (layer) =>
    keys
      .filter((k) => k.startsWith(`${layer}_ib-`) && /^\d+$/.test(k.slice(layer.length + 4)))
      .map((k) => Number(k.slice(layer.length + 4)))
      .sort((a, b) => a - b);
}

/** Builds the flat config: leaf layers get unique names and inbound nodes in the flat graph. */
class Flattener {
  readonly layers: LayerEntry[] = [];
  readonly paths = new Map<string, string>();
  readonly sources = new Map<string, tf.layers.Layer>();
  private readonly flatName = new Map<tf.layers.Layer, string>();

  /** Add one application of a leaf layer; returns refs to its outputs. */
  leaf(layer: tf.layers.Layer, path: string, inputs: Ref[]): Ref[] {
    let name = this.flatName.get(layer);
    if (name === undefined) {
      name = this.unique(layer.name, path);
      this.flatName.set(layer, name);
      this.paths.set(name, path);
      this.sources.set(name, layer);
      const config: Record<string, unknown> = { ...(layer.getConfig() as Record<string, unknown>), name };
      // Only an input layer may fix the batch shape; inner layers of a nested model still carry it.
      delete config.batchInputShape;
      delete config.inputShape;
      this.layers.push({ name, className: layer.getClassName(), config, inboundNodes: [] });
    }
    const entry = this.layers.find((e) => e.name === name)!;
    entry.inboundNodes.push(inputs.map(([l, n, t, kw]) => [l, n, t, kw]));
    const node = entry.inboundNodes.length - 1;
    // getOutputAt(0): `.output` throws for a layer with several inbound nodes.
    const first = layer.getOutputAt(0);
    const outputs = Array.isArray(first) ? first.length : 1;
    return Array.from({ length: outputs }, (_, i): Ref => [name!, node, i, {}]);
  }

  input(layer: tf.layers.Layer, shape: (number | null)[], dtype: string): Ref {
    const name = this.unique(layer.name, layer.name);
    this.layers.push({ name, className: 'InputLayer', config: { batchInputShape: shape, dtype, sparse: false, name }, inboundNodes: [] });
    return [name, 0, 0, {}];
  }

  /** Inline `model` applied to `inputs`; returns refs to its outputs in the flat graph. */
  expand(model: tf.LayersModel, inputs: Ref[], prefix: string): Ref[] {
    if (model instanceof tf.Sequential) {
      let refs = inputs;
      for (const layer of model.layers) {
        if (layer.getClassName() === 'InputLayer') continue;
        refs = this.apply(layer, refs, prefix);
      }
      return refs;
    }
    const cfg = model.getConfig() as unknown as FunctionalConfig;
    // tfjs numbers a layer's own nodes within this model (0, 1, ...) but writes references to it
    // with the layer's original node index (a nested Sequential's node 0 is its own construction):
    // key outputs by original index and accept either form in references.
    const original = originalNodeIndices(model);
    const key = (n: string, k: number) => `${n}:${original(n)[k] ?? k}`;
    const local = new Map<string, Ref[]>();
    const read = (n: string, node: number, t: number, who: string) => {
      const r = (local.get(`${n}:${node}`) ?? local.get(key(n, node)))?.[t];
      if (!r) throw new Error(`flatten: layer '${who}' reads '${n}' node ${node} before it is computed`);
      return r;
    };
    cfg.inputLayers.forEach(([n, node, t], i) => {
      const refs = local.get(key(n, node)) ?? [];
      refs[t] = inputs[i]!;
      local.set(key(n, node), refs);
    });
    for (const entry of cfg.layers) {
      if (entry.className === 'InputLayer') continue;
      const layer = model.getLayer(entry.name);
      entry.inboundNodes.forEach((nodeData, k) => {
        const ins = nodeData.map(([n, node, t]) => read(n, node, t, prefix + entry.name));
        local.set(key(entry.name, k), this.apply(layer, ins, prefix));
      });
    }
    return cfg.outputLayers.map(([n, node, t]) => read(n, node, t, `${prefix}(outputs)`));
  }

  private apply(layer: tf.layers.Layer, inputs: Ref[], prefix: string): Ref[] {
    return layer instanceof tf.LayersModel ? this.expand(layer, inputs, `${prefix}${layer.name}/`) : this.leaf(layer, prefix + layer.name, inputs);
  }

  private unique(name: string, path: string): string {
    const taken = (n: string) => this.layers.some((e) => e.name === n);
    if (!taken(name)) return name;
    // Two nested models may each have a 'dense': fall back to the path, made name-safe.
    let candidate = path.replace(/\//g, '__');
    for (let i = 1; taken(candidate); i++) candidate = `${path.replace(/\//g, '__')}_${i}`;
    return candidate;
  }
}

/**
 * Inline nested models (a Sequential holding a Sequential holding a functional MobileNetV2, as
 * Teachable Machine writes them) into one functional model with the same leaf layers, the same
 * weights (copied) and the same outputs. Structured pruning needs this: a nested model's inner
 * layers have inbound nodes in both the inner and the outer graph, which the dependency graph
 * cannot tell from sharing. Leaf layers keep their names unless two nested models use the same
 * one (then the flat name is the path with `__` for `/`); `paths` maps back.
 *
 * @example
 * const { model: flat, paths } = flattenNested(tmModel);
 */
export function flattenNested(model: tf.LayersModel): FlatModel {
  const f = new Flattener();
  let inputRefs: Ref[];
  if (model instanceof tf.Sequential) {
    const t = model.inputs[0]!;
    inputRefs = [f.input(t.sourceLayer as tf.layers.Layer, t.shape, t.dtype)];
  } else {
    inputRefs = model.inputs.map((t) => f.input(t.sourceLayer as tf.layers.Layer, t.shape, t.dtype));
  }
  const outputs = f.expand(model, inputRefs, '');
  const config: FunctionalConfig = {
    name: model.name,
    layers: f.layers,
    inputLayers: inputRefs.map(([n, node, t]) => [n, node, t]),
    outputLayers: outputs.map(([n, node, t]) => [n, node, t]),
  };
  const flat = tf.LayersModel.fromConfig(tf.LayersModel, config as unknown as tf.serialization.ConfigDict) as tf.LayersModel;
  try {
    for (const [name, source] of f.sources) {
      if (source.weights.length) flat.getLayer(name).setWeights(source.weights.map((w) => w.read()));
    }
  } catch (err) {
    flat.dispose();
    throw err;
  }
  return { model: flat, paths: f.paths };
}
