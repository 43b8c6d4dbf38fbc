import * as tf from '@tensorflow/tfjs';

/**
 * A set of coupled channels: the output channels of one or more producer layers (Conv, Dense...)
 * that must keep the same indices because they meet in an Add (or similar) layer.
 */
export interface ChannelGroup {
  id: number;
  /** Number of channels. */
  size: number;
  /** Layers whose output channels are this group (empty for the model input). */
  producers: tf.layers.Layer[];
  /** Batch-norm layers normalising these channels, with the channel offset into their axis. */
  batchNorms: { layer: tf.layers.Layer; offset: number }[];
  /** Why the group cannot be pruned (model input/output, unsupported consumer...), if it cannot. */
  pinned?: string;
}

/** One run of channels of a tensor's last axis, all from one group. */
export interface Segment {
  group: number;
  size: number;
}

/**
 * Channel layout of a tensor: its last axis is the concatenation of `segments`; after a Flatten
 * the features are `spatial` positions times those channels, channels fastest (NHWC order).
 */
export interface ChannelLayout {
  segments: Segment[];
  spatial: number;
  flattened: boolean;
}

/** How a layer takes part in structured pruning. */
export type LayerRole = 'input' | 'producer' | 'channelwise' | 'passthrough' | 'merge' | 'concat' | 'flatten' | 'opaque';

/** Per-layer facts of the dependency graph. */
export interface LayerInfo {
  layer: tf.layers.Layer;
  role: LayerRole;
  /** Layouts of the layer's inputs, in order. */
  inputs: ChannelLayout[];
  output: ChannelLayout;
}

/** The dependency graph of a layers model: groups of coupled channels and each layer's layouts. */
export interface DependencyGraph {
  groups: ChannelGroup[];
  /** In topological order. */
  layers: LayerInfo[];
  info: Map<string, LayerInfo>;
}

/** Layers that create a new channel space from their input, and the config field sizing it. */
export const PRODUCERS: Record<string, string> = {
  Conv1D: 'filters',
  Conv2D: 'filters',
  Conv2DTranspose: 'filters',
  SeparableConv2D: 'filters',
  Dense: 'units',
};

// Per-channel layers with no weights: channel i of the output depends only on channel i of the input.
const PASSTHROUGH = new Set([
  'ReLU', 'LeakyReLU', 'ELU', 'ThresholdedReLU', 'Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise',
  'GaussianDropout', 'AlphaDropout', 'MaxPooling1D', 'MaxPooling2D', 'AveragePooling1D', 'AveragePooling2D',
  'GlobalAveragePooling1D', 'GlobalAveragePooling2D', 'GlobalMaxPooling1D', 'GlobalMaxPooling2D', 'UpSampling2D',
  'ZeroPadding2D', 'Cropping2D',
]);
const MERGE = new Set(['Add', 'Multiply', 'Subtract', 'Average', 'Maximum', 'Minimum']);
// Activations that mix channels (normalise over the last axis): removing a channel changes the others.
const CHANNEL_MIXING_ACTIVATIONS = new Set(['softmax', 'logSoftmax', 'log_softmax']);

function config(layer: tf.layers.Layer): Record<string, unknown> {
  return layer.getConfig() as Record<string, unknown>;
}

function lastDim(t: tf.SymbolicTensor, layer: tf.layers.Layer): number {
  const d = t.shape[t.shape.length - 1];
  if (typeof d !== 'number') throw new Error(`layer '${layer.name}': channel dimension of its input is unknown`);
  return d;
}

function isLastAxis(axis: unknown, rank: number): boolean {
  const a = Array.isArray(axis) ? (axis.length === 1 ? axis[0] : NaN) : axis;
  return a === -1 || a === rank - 1;
}

function flatIndexCount(l: ChannelLayout): number {
  return l.segments.reduce((s, g) => s + g.size, 0);
}

/**
 * Build the dependency graph by walking each layer's inbound node (`layer.inboundNodes`,
 * `node.inboundLayers`). Unsupported layers that consume prunable channels pin those channels
 * and are reported through `opaqueUses` (the caller turns them into errors).
 */
export function buildDependencyGraph(model: tf.LayersModel): DependencyGraph & { opaqueUses: { layer: tf.layers.Layer; groups: number[]; reason: string }[] } {
  const groups: ChannelGroup[] = [];
  const parent: number[] = [];
  const find = (g: number): number => (parent[g] === g ? g : (parent[g] = find(parent[g]!)));
  const newGroup = (size: number, producers: tf.layers.Layer[], pinned?: string): number => {
    groups.push({ id: groups.length, size, producers, batchNorms: [], pinned });
    parent.push(groups.length - 1);
    return groups.length - 1;
  };
  const union = (a: number, b: number, at: tf.layers.Layer) => {
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) return;
    if (groups[ra]!.size !== groups[rb]!.size) throw new Error(`layer '${at.name}': merges ${groups[ra]!.size} and ${groups[rb]!.size} channels`);
    parent[rb] = ra;
    groups[ra]!.producers.push(...groups[rb]!.producers);
    groups[ra]!.batchNorms.push(...groups[rb]!.batchNorms);
    groups[ra]!.pinned ??= groups[rb]!.pinned;
  };
  const opaqueUses: { layer: tf.layers.Layer; groups: number[]; reason: string }[] = [];
  const info = new Map<string, LayerInfo>();
  const order: LayerInfo[] = [];
  const fresh = (size: number): ChannelLayout => ({ segments: [{ group: newGroup(size, []), size }], spatial: 1, flattened: false });

  const visit = (layer: tf.layers.Layer): LayerInfo => {
    const done = info.get(layer.name);
    if (done) return done;
    const cls = layer.getClassName();
    if (layer instanceof tf.LayersModel) throw new Error(`layer '${layer.name}' is a nested model (${cls}): flatten it first with flattenNested() (planStructured does)`);
    const nodes = layer.inboundNodes;
    if (cls !== 'InputLayer' && nodes.length !== 1) {
      throw new Error(`layer '${layer.name}' (${cls}) is applied ${nodes.length} times; shared layers are not supported by structured pruning`);
    }
    const inLayers = cls === 'InputLayer' ? [] : nodes[0]!.inboundLayers;
    const inputs = inLayers.map((l) => visit(l).output);
    const inTensors = cls === 'InputLayer' ? [] : (Array.isArray(layer.input) ? layer.input : [layer.input]);
    const outTensor = layer.output as tf.SymbolicTensor;
    if (Array.isArray(layer.output)) throw new Error(`layer '${layer.name}' (${cls}) has several outputs; not supported by structured pruning`);
    let role: LayerRole;
    let output: ChannelLayout;
    const cfg = config(layer);
    const opaque = (reason: string) => {
      role = 'opaque';
      const used = inputs.flatMap((l) => l.segments.map((s) => s.group));
      if (used.length) opaqueUses.push({ layer, groups: used, reason });
      output = { segments: [{ group: newGroup(lastDim(outTensor, layer), [], `output of '${layer.name}' (${cls}), which structured pruning does not re-index`), size: lastDim(outTensor, layer) }], spatial: 1, flattened: false };
    };
    if (cls === 'InputLayer') {
      role = 'input';
      const size = lastDim(outTensor, layer);
      output = { segments: [{ group: newGroup(size, [], 'model input'), size }], spatial: 1, flattened: false };
    } else if (cls in PRODUCERS) {
      role = 'producer';
      if (inputs[0]!.flattened && cls !== 'Dense') opaque(`${cls} after Flatten`);
      const size = lastDim(outTensor, layer);
      output = { segments: [{ group: newGroup(size, [layer]), size }], spatial: 1, flattened: false };
    } else if (cls === 'BatchNormalization') {
      role = 'channelwise';
      const rank = inTensors[0]!.shape.length;
      if (!isLastAxis(cfg.axis, rank)) opaque(`normalises axis ${String(cfg.axis)}, not the channel axis`);
      else if (inputs[0]!.flattened) opaque('normalises flattened features');
      else {
        let off = 0;
        for (const s of inputs[0]!.segments) {
          groups[find(s.group)]!.batchNorms.push({ layer, offset: off });
          off += s.size;
        }
        output = inputs[0]!;
      }
    } else if (cls === 'DepthwiseConv2D') {
      role = 'channelwise';
      if ((cfg.depthMultiplier ?? 1) !== 1) opaque(`depthMultiplier ${String(cfg.depthMultiplier)} (only 1 is supported)`);
      else output = inputs[0]!;
    } else if (cls === 'Softmax' || (cls === 'Activation' && CHANNEL_MIXING_ACTIVATIONS.has(String(cfg.activation)))) {
      // A softmax head (separate layer in converted graph models) normalises over its channels:
      // they stay whole, but that is no reason to refuse pruning the rest of the model.
      role = 'passthrough';
      for (const s of inputs[0]!.segments) groups[find(s.group)]!.pinned ??= `feeds '${layer.name}' (${cls}), which mixes channels`;
      output = inputs[0]!;
    } else if (cls === 'Activation') {
      role = 'passthrough';
      output = inputs[0]!;
    } else if (PASSTHROUGH.has(cls)) {
      role = 'passthrough';
      output = inputs[0]!;
    } else if (cls === 'Flatten') {
      role = 'flatten';
      const shape = inTensors[0]!.shape.slice(1, -1);
      if (inputs[0]!.flattened) output = inputs[0]!;
      else if (shape.some((d) => typeof d !== 'number')) opaque('spatial size unknown');
      else output = { segments: inputs[0]!.segments, spatial: (shape as number[]).reduce((a, b) => a * b, 1), flattened: true };
    } else if (MERGE.has(cls)) {
      role = 'merge';
      const first = inputs[0]!;
      const sameShape = inputs.every((l) => l.flattened === first.flattened && l.spatial === first.spatial && l.segments.length === first.segments.length && l.segments.every((s, i) => s.size === first.segments[i]!.size));
      if (!sameShape) opaque('inputs have different channel layouts');
      else {
        for (const l of inputs.slice(1)) l.segments.forEach((s, i) => union(first.segments[i]!.group, s.group, layer));
        output = first;
      }
    } else if (cls === 'Concatenate') {
      role = 'concat';
      const rank = outTensor.shape.length;
      if (!isLastAxis(cfg.axis, rank)) opaque(`concatenates along axis ${String(cfg.axis)}, not the channel axis`);
      else if (inputs.some((l) => l.flattened)) opaque('concatenates flattened features');
      else output = { segments: inputs.flatMap((l) => l.segments), spatial: 1, flattened: false };
    } else {
      opaque(`class ${cls} is not known to structured pruning`);
    }
    const li: LayerInfo = { layer, role: role!, inputs, output: output! };
    info.set(layer.name, li);
    order.push(li);
    return li;
  };
  for (const t of model.outputs) visit(t.sourceLayer as tf.layers.Layer);
  for (const l of model.layers) visit(l);
  // The model's outputs keep all their channels.
  for (const t of model.outputs) for (const s of info.get(t.sourceLayer.name)!.output.segments) groups[find(s.group)]!.pinned ??= 'reaches a model output';
  for (const u of opaqueUses) u.groups = u.groups.map(find);
  // Point every layout at group roots so callers need no union-find.
  for (const li of order) for (const l of [li.output, ...li.inputs]) l.segments = l.segments.map((s) => ({ group: find(s.group), size: s.size }));
  const roots = groups.filter((g) => find(g.id) === g.id);
  return { groups: roots, layers: order, info, opaqueUses };
}

/** Channel indices (into the layout's flat feature axis) of the kept channels. */
export function keptIndices(layout: ChannelLayout, keep: Map<number, Int32Array>, groupSize: (g: number) => number): Int32Array {
  const channels: number[] = [];
  let off = 0;
  for (const s of layout.segments) {
    const k = keep.get(s.group) ?? Int32Array.from({ length: groupSize(s.group) }, (_, i) => i);
    for (const c of k) channels.push(off + c);
    off += s.size;
  }
  if (!layout.flattened) return Int32Array.from(channels);
  const total = flatIndexCount(layout);
  const out = new Int32Array(layout.spatial * channels.length);
  let n = 0;
  for (let p = 0; p < layout.spatial; p++) for (const c of channels) out[n++] = p * total + c;
  return out;
}
