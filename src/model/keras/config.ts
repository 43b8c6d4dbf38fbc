import * as tf from '@tensorflow/tfjs';

/*
 * Keras model configs -> the Keras-2 form tfjs-layers 4.22 deserialises. Keras 3 (and the tfjs
 * converter 4.22 run on Keras 3 models) writes forms stock tfjs refuses: `batch_shape`,
 * `DTypePolicy` objects, `{module, class_name, config, registered_name}` wrappers, and functional
 * `inbound_nodes` as `{args: [__keras_tensor__...], kwargs}`. Keras 2 configs pass through unchanged.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keys Keras 3 adds that tfjs does not read (and that would only be carried along). */
const DROPPED_KEYS = new Set(['module', 'registered_name', 'build_config', 'compile_config', 'shared_object_id']);

/** Dtype policy classes (Keras 3 `DTypePolicy`/`FloatDTypePolicy`, Keras 2 mixed-precision `Policy`). */
const DTYPE_POLICIES = new Set(['DTypePolicy', 'FloatDTypePolicy', 'Policy']);

/** Non-layer classes (initializers, regularizers) Keras names differently from tfjs. */
const OBJECT_RENAMES: Record<string, (config: Obj) => { class_name: string; config: Obj }> = {
  LecunNormal: (c) => ({ class_name: 'LeCunNormal', config: c }),
  LecunUniform: (c) => ({ class_name: 'LeCunUniform', config: c }),
  OrthogonalInitializer: (c) => ({ class_name: 'Orthogonal', config: c }),
  IdentityInitializer: (c) => ({ class_name: 'Identity', config: c }),
  L1: (c) => ({ class_name: 'L1L2', config: { l1: c.l1 ?? 0.01, l2: 0 } }),
  L2: (c) => ({ class_name: 'L1L2', config: { l1: 0, l2: c.l2 ?? 0.01 } }),
};

const base = (c: Obj): Obj => ({ name: c.name ?? null, trainable: c.trainable ?? true, dtype: c.dtype ?? null });
/** A linear Activation: what layers that pass their input through at inference become. */
const passThrough = (c: Obj) => ({ class_name: 'Activation', config: { ...base(c), activation: 'linear' } });

/**
 * Keras layer classes tfjs lacks but has a stock equivalent for (config rewritten to match).
 * Augmentation layers are identities at inference; as tfjs layers they no longer augment in training.
 */
const LAYER_RENAMES: Record<string, (config: Obj) => { class_name: string; config: Obj }> = {
  Identity: passThrough,
  ActivityRegularization: passThrough,
  RandomFlip: passThrough,
  RandomRotation: passThrough,
  RandomZoom: passThrough,
  RandomTranslation: passThrough,
  RandomContrast: passThrough,
  RandomBrightness: passThrough,
  // Keras implements it as exactly this: one dropout decision per sample and channel.
  SpatialDropout2D: (c) => ({
    class_name: 'Dropout',
    config: { ...base(c), rate: c.rate ?? 0.5, noise_shape: c.data_format === 'channels_first' ? [null, null, 1, 1] : [null, 1, 1, null] },
  }),
};

/** Per-class config fields Keras 3 renamed. */
const LAYER_FIELD_FIXES: Record<string, (config: Obj) => void> = {
  LeakyReLU: (c) => {
    if ('negative_slope' in c) c.alpha = c.negative_slope;
    delete c.negative_slope;
  },
};

const pooled = (cls: string) => (c: Obj) => (c.keepdims === true ? `${cls}(keepdims)` : undefined);
const grouped = (cls: string) => (c: Obj) => (typeof c.groups === 'number' && c.groups > 1 ? `${cls}(groups)` : undefined);

/** Options tfjs-layers silently ignores, so a layer using them would compute something else: refused. */
const UNSUPPORTED_OPTIONS: Record<string, (config: Obj) => string | undefined> = {
  ReLU: (c) => (Number(c.negative_slope ?? 0) !== 0 || Number(c.threshold ?? 0) !== 0 ? 'ReLU(negative_slope/threshold)' : undefined),
  GlobalAveragePooling1D: pooled('GlobalAveragePooling1D'),
  GlobalAveragePooling2D: pooled('GlobalAveragePooling2D'),
  GlobalMaxPooling1D: pooled('GlobalMaxPooling1D'),
  GlobalMaxPooling2D: pooled('GlobalMaxPooling2D'),
  Conv1D: grouped('Conv1D'),
  Conv2D: grouped('Conv2D'),
};

/** Keras activation names tfjs spells differently (after tfjs camel-cases them). */
const ACTIVATION_RENAMES: Record<string, string> = { silu: 'swish' };

const VARIANCE_DISTRIBUTIONS: Record<string, string> = { untruncated_normal: 'normal' };

function policyDtype(policy: Obj): string {
  const name = isObj(policy.config) ? String(policy.config.name ?? 'float32') : 'float32';
  // Mixed precision keeps float32 variables; tfjs computes in float32 throughout.
  return name.startsWith('mixed_') ? 'float32' : name;
}

/** Config fields holding layers, translated by {@link fixLayer} rather than cleaned as values. */
const LAYER_FIELDS = ['layers', 'layer', 'backward_layer', 'cell', 'cells'];

/**
 * Strip Keras 3 wrappers and dtype policies from any value (initializers, regularizers, ...);
 * `keep` names fields copied untouched.
 */
function cleanValue(v: Json, keep: readonly string[] = []): Json {
  if (Array.isArray(v)) return v.map((x) => cleanValue(x));
  if (!isObj(v)) return v;
  const cls = typeof v.class_name === 'string' ? v.class_name : undefined;
  if (cls && DTYPE_POLICIES.has(cls)) return policyDtype(v);
  const out: Obj = {};
  for (const [k, val] of Object.entries(v)) if (!DROPPED_KEYS.has(k)) out[k] = keep.includes(k) ? val : cleanValue(val);
  if (cls && OBJECT_RENAMES[cls] && isObj(out.config)) return { ...out, ...OBJECT_RENAMES[cls]!(out.config) };
  if (cls === 'VarianceScaling' && isObj(out.config) && typeof out.config.distribution === 'string') {
    out.config.distribution = VARIANCE_DISTRIBUTIONS[out.config.distribution] ?? out.config.distribution;
  }
  return out;
}

const isKerasTensor = (v: Json): v is Obj => isObj(v) && v.class_name === '__keras_tensor__';

function kerasTensors(v: Json, into: Json[][] = []): Json[][] {
  if (isKerasTensor(v) && isObj(v.config) && Array.isArray(v.config.keras_history)) into.push(v.config.keras_history);
  else if (Array.isArray(v)) v.forEach((x) => kerasTensors(x, into));
  return into;
}

/**
 * Keras 3 numbers a nested Sequential's calls from 0, tfjs (like Keras 2) from 1: its node 0 is
 * the model's own input. `[layer, node, tensor]` shifted accordingly.
 */
const shifted = (h: Json[], sequentials: Set<string>): Json[] =>
  sequentials.has(String(h[0])) && typeof h[1] === 'number' ? [h[0]!, h[1] + 1, ...h.slice(2, 3)] : h.slice(0, 3);

/** A Keras 3 node `{args, kwargs}` -> the Keras 2 list `[[layer, node, tensor, kwargs], ...]`. */
function kerasNode(node: Json, layer: string, sequentials: Set<string>): Json {
  if (!isObj(node)) return node;
  const inputs = kerasTensors(node.args ?? []).map((h) => shifted(h, sequentials));
  if (inputs.length === 0) throw new Error(`layer '${layer}': an inbound node has no input tensors (expected __keras_tensor__ args)`);
  const kwargs: Obj = {};
  for (const [k, val] of Object.entries(isObj(node.kwargs) ? node.kwargs : {})) {
    if (kerasTensors(val).length === 0) kwargs[k] = cleanValue(val);
  }
  return inputs.map((h) => [...h, kwargs]);
}

/** `["in", 0, 0]` (Keras 3, one tensor) -> `[["in", 0, 0]]`. */
const tensorList = (v: Json | undefined): Json | undefined => (Array.isArray(v) && typeof v[0] === 'string' ? [v] : v);

const MODEL_CLASSES = new Set(['Sequential', 'Functional', 'Model']);

/** Translate one layer entry (`{class_name, config, name?, inbound_nodes?}`), recursing into models and wrappers. */
function fixLayer(entry: Json, unsupported: Map<string, number>, sequentials = new Set<string>()): Json {
  if (!isObj(entry) || typeof entry.class_name !== 'string') return entry;
  const buildShape = isObj(entry.build_config) ? entry.build_config.input_shape : undefined;
  let { class_name: cls } = entry;
  let config = isObj(entry.config) ? (cleanValue(entry.config, LAYER_FIELDS) as Obj) : entry.config;
  if (LAYER_RENAMES[cls] && isObj(config)) ({ class_name: cls, config } = LAYER_RENAMES[cls]!(config));
  const out: Obj = { class_name: cls, config };
  if (typeof entry.name === 'string') out.name = entry.name;
  if (Array.isArray(entry.inbound_nodes)) out.inbound_nodes = entry.inbound_nodes.map((n) => kerasNode(n, String(entry.name), sequentials));
  const refused = !registered(cls) ? cls : isObj(config) ? UNSUPPORTED_OPTIONS[cls]?.(config) : undefined;
  if (refused) unsupported.set(refused, (unsupported.get(refused) ?? 0) + 1);
  if (!isObj(config)) return out;
  // Keras 3 (entries carry `module`) redefined hard_sigmoid as relu6(x + 3) / 6; tfjs computes 0.2x + 0.5.
  if ('module' in entry && [config.activation, config.recurrent_activation].includes('hard_sigmoid')) {
    const what = `${cls}(hard_sigmoid: Keras 3 computes x/6+0.5, tfjs 0.2x+0.5)`;
    unsupported.set(what, (unsupported.get(what) ?? 0) + 1);
  }
  if ('batch_shape' in config) {
    config.batch_input_shape = config.batch_shape;
    delete config.batch_shape;
  }
  if (typeof config.activation === 'string') config.activation = ACTIVATION_RENAMES[config.activation] ?? config.activation;
  LAYER_FIELD_FIXES[cls]?.(config);
  if (MODEL_CLASSES.has(cls) && Array.isArray(config.layers)) fixModelConfig(cls, config, unsupported);
  for (const key of ['layer', 'backward_layer', 'cell']) if (isObj(config[key])) config[key] = fixLayer(config[key], unsupported);
  if (Array.isArray(config.cells)) config.cells = config.cells.map((c) => fixLayer(c, unsupported));
  if (buildShape !== undefined) out.build_input_shape = buildShape;
  return out;
}

function fixModelConfig(cls: string, config: Obj, unsupported: Map<string, number>): void {
  const entries = (config.layers as Json[]).filter(isObj);
  const keras3 = entries.some((l) => Array.isArray(l.inbound_nodes) && l.inbound_nodes.some(isObj));
  const sequentials = new Set(keras3 ? entries.filter((l) => l.class_name === 'Sequential').map((l) => String(l.name)) : []);
  const layers = (config.layers as Json[]).map((l) => fixLayer(l, unsupported, sequentials)) as Obj[];
  for (const key of ['input_layers', 'output_layers']) {
    const list = tensorList(config[key]);
    if (Array.isArray(list)) config[key] = list.map((h) => (Array.isArray(h) ? shifted(h, sequentials) : h));
  }
  // A Sequential without an InputLayer: tfjs needs the first layer's batch_input_shape, which
  // Keras keeps in `build_config` (Keras 3) or the model's `build_input_shape` (Keras 2).
  const first = layers[0];
  if (cls === 'Sequential' && first && first.class_name !== 'InputLayer' && isObj(first.config) && !first.config.batch_input_shape) {
    const shape = first.build_input_shape ?? config.build_input_shape;
    if (Array.isArray(shape)) first.config.batch_input_shape = shape;
  }
  for (const l of layers) delete l.build_input_shape;
  config.layers = layers;
}

function registered(cls: string): boolean {
  return cls in tf.serialization.SerializationMap.getMap().classNameMap;
}

/** Result of {@link translateKerasConfig}. */
export interface TranslatedConfig {
  /** The model config (`{class_name, config}`) in the form tfjs-layers reads. */
  modelConfig: { class_name: string; config: unknown };
  /** Layer classes tfjs-layers has no class for (or options it would ignore, e.g. `ReLU(negative_slope/threshold)`), with counts. */
  unsupported: Map<string, number>;
}

/**
 * Translate a Keras model config (Keras 2 or 3, `{class_name, config}`) into the form
 * tfjs-layers 4.22 deserialises. Pure: the input is not modified.
 *
 * @example
 * const { modelConfig } = translateKerasConfig(JSON.parse(configJson));
 * const model = await tf.models.modelFromJSON({ modelTopology: modelConfig });
 */
export function translateKerasConfig(config: unknown): TranslatedConfig {
  if (!isObj(config) || typeof config.class_name !== 'string' || !isObj(config.config)) {
    throw new Error(`model config: expected an object with 'class_name' and 'config'`);
  }
  const unsupported = new Map<string, number>();
  const fixed = fixLayer(structuredClone(config), unsupported) as Obj;
  delete fixed.build_input_shape;
  return { modelConfig: { class_name: fixed.class_name as string, config: fixed.config }, unsupported };
}

/** The one-line message for layer classes tfjs-layers lacks: `unsupported Keras layer classes: Foo x2, Bar x1`. */
export function unsupportedMessage(unsupported: Map<string, number>): string {
  const list = [...unsupported].map(([cls, n]) => `${cls} x${n}`).join(', ');
  return `unsupported Keras layer classes: ${list} (tfjs-layers 4.22 has no equivalent)`;
}

/** Throw the one-line message when the config has layer classes tfjs-layers lacks. */
export function assertSupported(t: TranslatedConfig, where: string): void {
  if (t.unsupported.size > 0) throw new Error(`${where}: ${unsupportedMessage(t.unsupported)}`);
}

/** The model config inside a topology: a tfjs `modelTopology` (`{model_config, ...}`) or a bare Keras config. */
export function modelConfigOf(topology: unknown): unknown {
  return isObj(topology) && isObj(topology.model_config) ? topology.model_config : topology;
}

/** True when a layers-model topology carries Keras-3 forms tfjs-layers cannot read as they are. */
export function isKeras3Topology(topology: unknown): boolean {
  if (isObj(topology) && typeof topology.keras_version === 'string' && topology.keras_version.startsWith('3')) return true;
  return /"(batch_shape|registered_name|__keras_tensor__|DTypePolicy)"/.test(JSON.stringify(topology ?? null));
}

/**
 * Rewrite a tfjs layers-model `modelTopology` written from Keras 3 (tensorflowjs converter 4.22
 * writes `batch_shape` and dtype policies stock tfjs refuses); other topologies are returned as is.
 */
export function translateTopology(topology: unknown, where: string): unknown {
  if (!isKeras3Topology(topology)) return topology;
  const t = translateKerasConfig(modelConfigOf(topology));
  assertSupported(t, where);
  return isObj(topology) && isObj(topology.model_config) ? { ...topology, model_config: t.modelConfig } : t.modelConfig;
}
