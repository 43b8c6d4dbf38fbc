import { z } from 'zod';
import { checkNesting, zodFileError } from '../../util/errors.js';
import { checkGraphReferences } from './graph-json.js';

/*
 * The shape of a tfjs model.json, checked before tfjs sees it: tfjs trusts these fields and fails
 * deep inside (`spec.shape.reduce is not a function`, `Cannot read properties of undefined`) or,
 * worse, loads something else. Only what the readers rely on is checked; unknown extra fields pass.
 */

const WEIGHT_DTYPES = ['float32', 'int32', 'bool', 'string', 'complex64'] as const;
const dim = z.number({ error: 'expected a non-negative integer' }).int({ error: 'expected a non-negative integer' }).min(0, { error: 'expected a non-negative integer' }).max(2 ** 31, { error: 'expected a dimension below 2^31' });

/** One entry of `weightsManifest[i].weights`. */
export const weightEntrySchema = z
  .object({
    name: z.string({ error: 'expected a weight name (string)' }).min(1, { error: 'expected a non-empty weight name' }),
    shape: z.array(dim, { error: 'expected an array of non-negative integers' }).max(16, { error: 'expected at most 16 dimensions' }),
    dtype: z.enum(WEIGHT_DTYPES, { error: `expected one of ${WEIGHT_DTYPES.join(', ')}` }),
    group: z.string({ error: 'expected a string' }).optional(),
    quantization: z
      .object({
        dtype: z.enum(['uint8', 'uint16', 'float16'], { error: 'expected uint8, uint16 or float16' }),
        scale: z.number({ error: 'expected a number' }).refine(Number.isFinite, { error: 'expected a finite number' }).optional(),
        min: z.number({ error: 'expected a number' }).refine(Number.isFinite, { error: 'expected a finite number' }).optional(),
        original_dtype: z.enum(WEIGHT_DTYPES, { error: `expected one of ${WEIGHT_DTYPES.join(', ')}` }).optional(),
      })
      .refine((q) => q.dtype === 'float16' || (q.scale !== undefined && q.min !== undefined), { error: 'uint8/uint16 quantization needs scale and min' })
      .optional(),
  })
  .loose();

/** `weightsManifest`: groups of shard paths and the weights they hold, in order; names unique. */
export const weightsManifestSchema = z
  .array(
    z.object({
      paths: z.array(z.string({ error: 'expected a relative file path' }).min(1, { error: 'expected a relative file path' }), { error: 'expected an array of file paths' }),
      weights: z.array(weightEntrySchema, { error: 'expected an array of weight entries' }),
    }),
    { error: 'expected an array of {paths, weights} groups' },
  )
  .superRefine((groups, ctx) => {
    // tfjs keys decoded weights by name: a repeated name silently drops (and leaks) one of them.
    const seen = new Set<string>();
    groups.forEach((g, gi) =>
      g.weights.forEach((w, wi) => {
        if (seen.has(w.name)) ctx.addIssue({ code: 'custom', path: [gi, 'weights', wi, 'name'], message: `weight '${w.name}' appears twice` });
        seen.add(w.name);
      }),
    );
  });

/** Largest layer size (units, filters, a shape dimension) a config may declare: far above any real model. */
const MAX_LAYER_DIM = 2 ** 24;
const DTYPES = ['float32', 'int32', 'bool', 'complex64', 'string'];
const SIZE_KEYS = ['units', 'filters', 'input_dim', 'output_dim', 'depth_multiplier', 'n'];
const SHAPE_KEYS = ['batch_input_shape', 'batch_shape', 'input_shape', 'target_shape', 'kernel_size', 'pool_size', 'strides', 'dilation_rate', 'size'];

const positiveDim = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= MAX_LAYER_DIM;

/**
 * The fields of a layer config that tfjs sizes weights and tensors from, or reads as names and
 * types, checked here so that a damaged one fails naming the field (tfjs would say
 * `name.match is not a function`, `Invalid typed array length` or `[object Object]`).
 */
function checkLayerConfig(cfg: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: ['config', key], message });
  if ('name' in cfg && typeof cfg.name !== 'string') issue('name', 'expected a layer name (string)');
  if ('dtype' in cfg && cfg.dtype !== null) {
    const d = cfg.dtype as { class_name?: unknown; config?: { name?: unknown } } | string;
    // Keras 3 writes a DTypePolicy object; translated later.
    const ok = typeof d === 'string' ? DTYPES.includes(d) : typeof d === 'object' && typeof d.class_name === 'string';
    if (!ok) issue('dtype', `expected one of ${DTYPES.join(', ')}`);
  }
  for (const key of SIZE_KEYS) {
    if (key in cfg && cfg[key] !== null && !positiveDim(cfg[key])) issue(key, `expected a positive integer <= ${MAX_LAYER_DIM}`);
  }
  for (const key of SHAPE_KEYS) {
    const v = cfg[key];
    if (v === undefined || v === null || positiveDim(v)) continue;
    const batch = key.startsWith('batch_');
    const ok = Array.isArray(v) && v.length <= 16 && v.every((d, i) => positiveDim(d) || ((batch || key === 'input_shape' || key === 'target_shape') && (d === null || (d === -1 && key === 'target_shape')) && (batch || i >= 0)));
    if (!ok) issue(key, `expected a list of positive integers <= ${MAX_LAYER_DIM}${batch ? ' (null for the batch and unknown dims)' : ''}`);
  }
  for (const [key, v] of Object.entries(cfg)) {
    if (!/_(initializer|regularizer|constraint)$/.test(key) || v === null || v === undefined || typeof v === 'string') continue;
    const o = v as { class_name?: unknown; config?: unknown };
    if (typeof o !== 'object' || Array.isArray(o) || typeof o.class_name !== 'string' || (o.config !== undefined && (typeof o.config !== 'object' || o.config === null))) {
      issue(key, "expected null, a name or {class_name, config}");
    }
  }
}

const layerSchema: z.ZodType = z.lazy(() =>
  z
    .object({
      class_name: z.string({ error: 'expected a layer class name (string)' }).min(1, { error: 'expected a layer class name' }),
      config: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())], { error: 'expected a config object' }),
      name: z.string({ error: 'expected a string' }).optional(),
      inbound_nodes: z.array(z.unknown(), { error: 'expected an array' }).optional(),
    })
    .loose()
    .superRefine((layer, ctx) => {
      if (!Array.isArray(layer.config)) checkLayerConfig(layer.config as Record<string, unknown>, ctx);
      // Nested models: their own config holds layers again.
      const cfg = layer.config as { layers?: unknown };
      if (!Array.isArray(layer.config) && cfg.layers !== undefined && !Array.isArray(cfg.layers)) {
        ctx.addIssue({ code: 'custom', path: ['config', 'layers'], message: 'expected an array of layers' });
      }
      const list = Array.isArray(layer.config) ? layer.config : Array.isArray(cfg.layers) ? cfg.layers : undefined;
      const where = Array.isArray(layer.config) ? ['config'] : ['config', 'layers'];
      if (layer.class_name === 'Sequential' && !list?.length) ctx.addIssue({ code: 'custom', path: where, message: 'a Sequential model needs a non-empty list of layers' });
      if (layer.class_name === 'Model' || layer.class_name === 'Functional') {
        const c = layer.config as Record<string, unknown>;
        for (const key of ['layers', 'input_layers', 'output_layers']) {
          if (!Array.isArray(c[key]) || (c[key] as unknown[]).length === 0) ctx.addIssue({ code: 'custom', path: ['config', key], message: `a functional model needs a non-empty '${key}' array` });
        }
      }
      list?.forEach((l, i) => {
        const r = layerSchema.safeParse(l);
        if (!r.success) for (const issue of r.error.issues) ctx.addIssue({ ...issue, path: [...(Array.isArray(layer.config) ? ['config'] : ['config', 'layers']), i, ...issue.path] } as never);
      });
    }),
);

/** A Keras model config as tfjs layers models store it (optionally under `model_config`). */
const layersTopologySchema = z.custom<unknown>().superRefine((topo, ctx) => {
  const wrapped = typeof topo === 'object' && topo !== null && 'model_config' in topo;
  const r = layerSchema.safeParse(wrapped ? (topo as { model_config: unknown }).model_config : topo);
  if (!r.success) for (const issue of r.error.issues) ctx.addIssue({ ...issue, path: [...(wrapped ? ['model_config'] : []), ...issue.path] } as never);
});

const graphNodeSchema = z
  .object({
    name: z.string({ error: 'expected a node name (string)' }).min(1, { error: 'expected a node name' }),
    op: z.string({ error: 'expected an op name (string)' }).min(1, { error: 'expected an op name' }),
    input: z.array(z.string({ error: 'expected an input name (string)' }), { error: 'expected an array of input names' }).optional(),
    attr: z.record(z.string(), z.record(z.string(), z.unknown(), { error: 'expected an attribute value object' }), { error: 'expected an object of attributes' }).optional(),
    device: z.string({ error: 'expected a string' }).optional(),
  })
  .loose();

/** A GraphDef as tensorflowjs_converter writes it. */
const graphTopologySchema = z
  .object({
    node: z.array(graphNodeSchema, { error: 'expected an array of nodes' }),
    library: z.record(z.string(), z.unknown(), { error: 'expected an object' }).optional(),
    versions: z.record(z.string(), z.unknown(), { error: 'expected an object' }).optional(),
  })
  .loose();

const signatureSchema = z
  .object({
    inputs: z.record(z.string(), z.record(z.string(), z.unknown(), { error: 'expected a tensor info object' }), { error: 'expected an object' }).optional(),
    outputs: z.record(z.string(), z.record(z.string(), z.unknown(), { error: 'expected a tensor info object' }), { error: 'expected an object' }).optional(),
  })
  .loose();

const common = {
  format: z.string({ error: 'expected a string' }).optional(),
  generatedBy: z.string({ error: 'expected a string' }).nullable().optional(),
  convertedBy: z.string({ error: 'expected a string' }).nullable().optional(),
  userDefinedMetadata: z.record(z.string(), z.unknown(), { error: 'expected an object' }).optional(),
};

/** A tfjs layers model.json. */
export const layersModelJsonSchema = z
  .object({
    ...common,
    modelTopology: layersTopologySchema,
    trainingConfig: z.record(z.string(), z.unknown(), { error: 'expected an object' }).nullable().optional(),
    weightsManifest: weightsManifestSchema,
  })
  .loose();

/** A tfjs graph model.json. */
export const graphModelJsonSchema = z
  .object({
    ...common,
    modelTopology: graphTopologySchema,
    signature: signatureSchema.nullable().optional(),
    modelInitializer: graphTopologySchema.nullable().optional(),
    initializerSignature: signatureSchema.nullable().optional(),
    weightsManifest: weightsManifestSchema,
  })
  .loose();

/** True when a parsed model.json describes a graph model (format, or a topology with `node`). */
export function isGraphModelJson(json: { format?: unknown; modelTopology?: unknown }): boolean {
  const topo = json.modelTopology as { node?: unknown } | null | undefined;
  return json.format === 'graph-model' || (typeof topo === 'object' && topo !== null && 'node' in topo);
}

/**
 * Check a parsed model.json (layers or graph, by its `format`/topology) and return it typed;
 * throws one line `<file>: field '<path>': <problem>`.
 *
 * @example
 * const json = validateModelJson(JSON.parse(text), 'web/model.json');
 */
export function validateModelJson<T = Record<string, unknown>>(json: unknown, file: string): T {
  checkNesting(json, file);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${file}: expected a JSON object (a tfjs model.json)`);
  const schema = isGraphModelJson(json as object) ? graphModelJsonSchema : layersModelJsonSchema;
  const r = schema.safeParse(json);
  if (!r.success) throw zodFileError(file, r.error);
  if (schema === graphModelJsonSchema) checkGraphReferences(json as Parameters<typeof checkGraphReferences>[0], file);
  // The input object itself (zod returns a copy): callers keep every field, including unknown ones.
  return json as T;
}
