import type { GraphModel } from '@tensorflow/tfjs-converter';

/*
 * A graph model.json's references, checked before tfjs builds the graph: tfjs looks every node
 * input, signature entry and weight up by name and fails on a dangling one with `Cannot read
 * properties of undefined (reading 'outputs')`, or later when the graph runs. Also the attribute
 * values' shape (an AttrValue holds one of s, i, f, b, type, shape, tensor, list, func).
 */

interface GraphNodeJson {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, Record<string, unknown>>;
}

interface GraphJson {
  modelTopology: { node: GraphNodeJson[]; versions?: unknown };
  modelInitializer?: { node?: GraphNodeJson[] } | null;
  signature?: { inputs?: Record<string, { name?: unknown }>; outputs?: Record<string, { name?: unknown }> } | null;
  weightsManifest: Array<{ weights: Array<{ name: string }> }>;
}

const ATTR_KINDS = new Set(['s', 'i', 'f', 'b', 'type', 'shape', 'tensor', 'list', 'func', 'placeholder']);
const LIST_KINDS = new Set(['s', 'i', 'f', 'b', 'type', 'shape', 'tensor', 'func']);

const isInt = (x: unknown) => (typeof x === 'number' && Number.isInteger(x)) || (typeof x === 'string' && /^-?\d+$/.test(x));
const isNum = (x: unknown) => (typeof x === 'number' && Number.isFinite(x)) || (typeof x === 'string' && x.trim() !== '' && Number.isFinite(Number(x))) || x === 'NaN' || x === 'Infinity' || x === '-Infinity';

/** 2-D convolution and pooling ops: their strides/ksize/dilations lists hold one entry per NHWC dim. */
const NHWC_OPS = /^(_?Fused)?(Conv2D|DepthwiseConv2dNative|FusedDepthwiseConv2dNative|MaxPool|AvgPool|MaxPoolWithArgmax|Conv2DBackpropInput)$/;

/** `name`, `^name`, `name:1` or `name:out:1` -> `name`. */
function nodeOf(ref: string): string {
  const r = ref.startsWith('^') ? ref.slice(1) : ref;
  return r.split(':')[0]!;
}

function checkShapeAttr(x: { dim?: unknown } | null, bad: (why: string) => Error): void {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw bad("'shape' must be an object");
  if (x.dim === undefined) return;
  if (!Array.isArray(x.dim)) throw bad("'shape.dim' must be an array");
  x.dim.forEach((d: unknown, i) => {
    if (typeof d !== 'object' || d === null || Array.isArray(d)) throw bad(`'shape.dim[${i}]' must be an object {size}`);
    const size = (d as { size?: unknown }).size;
    // tfjs reads a missing size as NaN (proto3 JSON drops a 0 size: no model runs with one).
    if (!isInt(size)) throw bad(`'shape.dim[${i}].size' must be an integer`);
  });
}

function checkAttr(file: string, where: string, v: Record<string, unknown>): void {
  const bad = (why: string) => new Error(`${file}: field '${where}': ${why}`);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('expected an attribute value object');
  if (Object.keys(v).length === 0) throw bad(`empty attribute value (expected one of ${[...ATTR_KINDS].join(', ')})`);
  for (const [k, x] of Object.entries(v)) {
    if (!ATTR_KINDS.has(k)) throw bad(`unknown attribute value kind '${k}' (expected one of ${[...ATTR_KINDS].join(', ')})`);
    if ((k === 's' || k === 'type') && typeof x !== 'string') throw bad(`'${k}' must be a string`);
    if (k === 'i' && !isInt(x)) throw bad("'i' must be an integer (number or string of digits)");
    if (k === 'f' && !isNum(x)) throw bad("'f' must be a number");
    if (k === 'b' && typeof x !== 'boolean') throw bad("'b' must be true or false");
    if ((k === 'shape' || k === 'tensor' || k === 'func' || k === 'list') && (typeof x !== 'object' || x === null || Array.isArray(x))) throw bad(`'${k}' must be an object`);
    if (k === 'shape') checkShapeAttr(x as { dim?: unknown }, bad);
    if (k === 'list' && Array.isArray((x as { shape?: unknown }).shape)) for (const sh of (x as { shape: unknown[] }).shape) checkShapeAttr(sh as { dim?: unknown }, bad);
    if (k === 'list') {
      for (const [lk, lv] of Object.entries(x as object)) {
        if (!LIST_KINDS.has(lk)) throw bad(`unknown list kind '${lk}'`);
        if (!Array.isArray(lv)) throw bad(`'list.${lk}' must be an array`);
        if (lk === 'i' && !lv.every(isInt)) throw bad("'list.i' must hold integers");
        if (lk === 'f' && !lv.every(isNum)) throw bad("'list.f' must hold numbers");
      }
    }
  }
}

/**
 * Check the references inside a graph model.json (already shape-checked by the zod schema):
 * node names unique, every input and signature entry names a node, every weight names a node,
 * `versions` an object when present, attribute values well formed. Throws one line naming the field.
 */
export function checkGraphReferences(json: GraphJson, file: string): void {
  const topo = json.modelTopology;
  if (topo.versions != null && (typeof topo.versions !== 'object' || Array.isArray(topo.versions))) {
    throw new Error(`${file}: field 'modelTopology.versions' must be an object`);
  }
  const names = new Set<string>();
  const all = [...topo.node.map((n, i) => ({ n, at: `modelTopology.node[${i}]` })), ...(json.modelInitializer?.node ?? []).map((n, i) => ({ n, at: `modelInitializer.node[${i}]` }))];
  for (const { n, at } of all) {
    if (names.has(n.name)) throw new Error(`${file}: field '${at}.name': node '${n.name}' appears twice`);
    names.add(n.name);
  }
  for (const { n, at } of all) {
    (n.input ?? []).forEach((ref, j) => {
      if (!names.has(nodeOf(ref))) throw new Error(`${file}: field '${at}.input[${j}]': '${ref}' names no node of the graph`);
    });
    if (NHWC_OPS.test(n.op)) {
      for (const k of /Pool/.test(n.op) ? ['strides', 'ksize'] : ['strides']) {
        if (!n.attr?.[k]) throw new Error(`${file}: field '${at}.attr.${k}' is missing (op ${n.op} needs it)`);
      }
    }
    for (const [k, v] of Object.entries(n.attr ?? {})) {
      checkAttr(file, `${at}.attr.${k}`, v);
      const list = (v as { list?: { i?: unknown[] } }).list;
      if (NHWC_OPS.test(n.op) && ['strides', 'ksize', 'dilations'].includes(k) && list && ((list.i?.length ?? 0) !== 4 || !list.i!.every((d) => Number(d) >= 1))) {
        throw new Error(`${file}: field '${at}.attr.${k}': op ${n.op} needs 4 positive integers (one per NHWC dimension), got [${(list.i ?? []).join(', ')}]`);
      }
    }
  }
  for (const side of ['inputs', 'outputs'] as const) {
    const entries = Object.entries(json.signature?.[side] ?? {});
    for (const [key, entry] of entries) {
      if (typeof entry.name !== 'string') throw new Error(`${file}: field 'signature.${side}.${key}.name': expected a tensor name (string)`);
      // tfjs skips outputs whose node the converter fused away (real models have them); inputs must exist.
      if (side === 'inputs' && !names.has(nodeOf(entry.name))) throw new Error(`${file}: field 'signature.inputs.${key}.name': '${entry.name}' names no node of the graph`);
    }
    if (side === 'outputs' && entries.length && !entries.some(([, e]) => names.has(nodeOf(e.name as string)))) {
      throw new Error(`${file}: field 'signature.outputs': none of its ${entries.length} outputs names a node of the graph`);
    }
  }
  json.weightsManifest.forEach((g, gi) =>
    g.weights.forEach((w, wi) => {
      if (!names.has(w.name)) throw new Error(`${file}: field 'weightsManifest[${gi}].weights[${wi}].name': weight '${w.name}' names no node of the graph`);
    }),
  );
}

interface ExecNode {
  name: string;
  op: string;
  category?: string;
  inputs: ExecNode[];
  inputParams?: Record<string, { inputIndexStart?: number; inputIndexEnd?: number }>;
}

/**
 * After tfjs built the graph: every op the outputs depend on must be one tfjs can run (tfjs
 * resolves ops lazily and would fail on first use with "Unknown op"). Ops in unused branches are
 * tolerated, as tfjs does.
 */
export function checkGraphOps(model: GraphModel, file: string): void {
  const graph = (model as unknown as { executor?: { graph?: { outputs?: ExecNode[] } } }).executor?.graph;
  const stack = [...(graph?.outputs ?? [])];
  const seen = new Set<ExecNode>();
  while (stack.length) {
    const node = stack.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    if (node.category === undefined && !node.op.startsWith('Placeholder')) {
      throw new Error(`${file}: node '${node.name}' uses op '${node.op}', which tfjs cannot run`);
    }
    // Every input the op reads must be there (a list without them fails on first use, naming nothing).
    for (const [param, p] of Object.entries(node.inputParams ?? {})) {
      const at = p.inputIndexStart;
      if (at === undefined || p.inputIndexEnd !== undefined) continue;
      if (at >= 0 ? at >= node.inputs.length : node.inputs.length + at < 0) {
        throw new Error(`${file}: node '${node.name}' (op ${node.op}) has ${node.inputs.length} input(s) but needs input '${param}' at position ${at}`);
      }
    }
    stack.push(...node.inputs);
  }
}
