import * as tf from '@tensorflow/tfjs';
import type { Dataset, Group } from 'jsfive';
import { child, isGroup, readWeight, stringAttr, stringListAttr, type KerasWeight } from './hdf5.js';

/*
 * Where each layer's weights sit in the three Keras layouts, and how they go into a tfjs model:
 * - Keras 2 (and Keras 3 legacy .h5): `<group>/<layer>` with a `weight_names` attribute giving the
 *   order; `<group>` is `model_weights` in a whole-model file, the root in a weights-only file.
 * - Keras 3 (`model.weights.h5` in a .keras zip, or `save_weights('x.weights.h5')`):
 *   `layers/<snake_case(class)>[_k]/vars/0..n`, nested models under their own `layers/`, sublayers
 *   (an RNN's `cell`) as child groups. Keras 2.13-2.15 wrote `_layer_checkpoint_dependencies`.
 */

/** The weights a file holds for one layer: a flat list, or per-sublayer for a nested model (Keras 3). */
export type WeightSource =
  | { kind: 'flat'; weights: KerasWeight[]; path: string }
  | { kind: 'nested'; layers: LayerWeights; path: string };

/** Layer name -> its weights. */
export type LayerWeights = Map<string, WeightSource>;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `conv2d_1_1/kernel:0` -> `kernel`. */
const shortName = (n: string) => n.split('/').pop()!.replace(/:\d+$/, '');

/** Read a Keras-2 style weights group (`layer_names` / `weight_names` attributes). */
export function readLegacyWeights(group: Group, file: string): LayerWeights {
  const layerNames = stringListAttr(group, 'layer_names');
  if (!layerNames) throw new Error(`${file}: weights group '${group.name}' has no 'layer_names' attribute`);
  const out: LayerWeights = new Map();
  for (const layer of layerNames) {
    const g = child(group, layer);
    if (!isGroup(g)) throw new Error(`${file}: layer '${layer}' is listed in 'layer_names' but its weights group is missing`);
    const weights = (stringListAttr(g, 'weight_names') ?? []).map((wn) => {
      const ds = child(g, wn);
      if (ds === undefined || isGroup(ds)) throw new Error(`${file}: weight '${wn}' of layer '${layer}' is listed in 'weight_names' but missing`);
      return readWeight(ds, `${file}: ${g.name}/${wn}`, shortName(wn));
    });
    out.set(layer, { kind: 'flat', weights, path: g.name });
  }
  return out;
}

/** Keras's `naming.to_snake_case`, which names a layer's group in Keras 3 weight files. */
export function toSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

const MODEL_CLASSES = new Set(['Sequential', 'Functional', 'Model']);

/** A layer's own `vars/0..n`, then its sublayers' (Bidirectional: forward before backward, as tfjs orders them). */
function collectVars(g: Group, file: string): KerasWeight[] {
  const vars = child(g, 'vars');
  const own = isGroup(vars)
    ? vars.keys
        .filter((k) => /^\d+$/.test(k))
        .sort((a, b) => Number(a) - Number(b))
        .map((k) => readWeight(vars.get(k) as Dataset, `${file}: ${vars.name}/${k}`))
    : [];
  const rank = (k: string) => (k === 'forward_layer' ? 0 : k === 'backward_layer' ? 1 : 2);
  const kids = g.keys
    .filter((k) => k !== 'vars' && isGroup(child(g, k)))
    .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return [...own, ...kids.flatMap((k) => collectVars(g.get(k) as Group, file))];
}

function v3Layers(group: Group | undefined, layerConfigs: unknown[], file: string, path: string): LayerWeights {
  const found = group && (child(group, 'layers') ?? child(group, '_layer_checkpoint_dependencies'));
  const layersGroup = isGroup(found) ? found : undefined;
  const used = new Map<string, number>();
  const out: LayerWeights = new Map();
  for (const cfg of layerConfigs) {
    if (!isObj(cfg) || typeof cfg.class_name !== 'string') continue;
    const config = isObj(cfg.config) ? cfg.config : {};
    const name = String(config.name ?? cfg.name);
    let key = toSnakeCase(cfg.class_name);
    const n = used.get(key);
    used.set(key, n === undefined ? 0 : n + 1);
    if (n !== undefined) key = `${key}_${n + 1}`;
    const g = layersGroup && child(layersGroup, key);
    const at = `${path}layers/${key}`;
    if (MODEL_CLASSES.has(cfg.class_name) && Array.isArray(config.layers)) {
      out.set(name, { kind: 'nested', layers: v3Layers(isGroup(g) ? g : undefined, config.layers, file, `${at}/`), path: at });
    } else {
      // Keras >= 3.6 records the layer name on its vars: a safety net for the class-based path.
      const vars = isGroup(g) ? child(g, 'vars') : undefined;
      const recorded = isGroup(vars) ? stringAttr(vars, 'name') : undefined;
      if (recorded !== undefined && recorded !== name) {
        throw new Error(`${file}: '${at}/vars' holds the weights of layer '${recorded}', the config puts layer '${name}' there`);
      }
      out.set(name, { kind: 'flat', weights: isGroup(g) ? collectVars(g, file) : [], path: at });
    }
  }
  return out;
}

/** Read a Keras 3 weights file, locating each layer of `modelConfig` (the Keras config, untranslated). */
export function readV3Weights(root: Group, modelConfig: unknown, file: string): LayerWeights {
  const config = isObj(modelConfig) && isObj(modelConfig.config) ? modelConfig.config : undefined;
  if (!config || !Array.isArray(config.layers)) throw new Error(`${file}: the model config has no 'layers' list to match the weights to`);
  return v3Layers(root, config.layers, file, '');
}

const countOf = (s: WeightSource): number =>
  s.kind === 'flat' ? s.weights.length : [...s.layers.values()].reduce((a, b) => a + countOf(b), 0);

const flatten = (s: WeightSource): KerasWeight[] => (s.kind === 'flat' ? s.weights : [...s.layers.values()].flatMap(flatten));

/** Reorder `given` to match `expected` by short name when the names say so unambiguously. */
function byName(given: KerasWeight[], expected: tf.LayerVariable[]): KerasWeight[] | undefined {
  const want = expected.map((v) => shortName(v.originalName));
  const names = given.map((w) => w.name);
  if (names.some((n) => n === undefined) || new Set(names).size !== names.length || new Set(want).size !== want.length) return undefined;
  const picked = want.map((n) => given.find((w) => w.name === n));
  return picked.every((w) => w !== undefined) ? (picked as KerasWeight[]) : undefined;
}

interface WithLayers {
  layers: tf.layers.Layer[];
}

/**
 * Set every layer's weights of a freshly built tfjs model from a Keras file's weights, checking
 * counts and shapes; errors name the file, the layer and what was expected.
 */
export function assignWeights(container: WithLayers, source: LayerWeights, file: string, prefix = ''): void {
  const known = new Set(container.layers.map((l) => l.name));
  const stray = [...source].filter(([n, s]) => !known.has(n) && countOf(s) > 0).map(([n]) => n);
  if (stray.length > 0) throw new Error(`${file}: weights for layers the model config does not have: ${stray.join(', ')}`);
  for (const layer of container.layers) {
    const src = source.get(layer.name);
    const where = `${file}: layer '${prefix}${layer.name}'`;
    if (src?.kind === 'nested' && 'layers' in layer) {
      assignWeights(layer as unknown as WithLayers, src.layers, file, `${prefix}${layer.name}/`);
      continue;
    }
    const expected = layer.weights;
    const given = src ? flatten(src) : [];
    if (expected.length === 0 && given.length === 0) continue;
    if (given.length !== expected.length) {
      const names = expected.map((v) => shortName(v.originalName)).join(', ');
      throw new Error(`${where} needs ${expected.length} weights (${names}) but the file has ${given.length}${src ? ` at '${src.path}'` : ''}`);
    }
    const ordered = byName(given, expected) ?? given;
    ordered.forEach((w, i) => {
      const e = expected[i]!;
      if (w.shape.join(',') !== e.shape.join(',')) {
        throw new Error(`${where}: weight '${shortName(e.originalName)}' has shape [${w.shape}] in the file, the model expects [${e.shape}]`);
      }
    });
    tf.tidy(() => layer.setWeights(ordered.map((w) => tf.tensor(w.data, w.shape, w.dtype))));
  }
}
