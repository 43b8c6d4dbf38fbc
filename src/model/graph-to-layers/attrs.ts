/** One GraphDef node as tensorflowjs_converter writes it in model.json (`modelTopology.node[i]`). */
export interface GraphDefNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, GraphDefAttr>;
}

/** A GraphDef attribute in the converter's JSON form: int64 as strings, strings base64. */
export interface GraphDefAttr {
  i?: string | number;
  f?: number;
  b?: boolean;
  s?: string;
  type?: string;
  list?: { i?: (string | number)[]; s?: string[]; f?: number[]; type?: string[] };
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  tensor?: unknown;
}

const decode = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

/**
 * Typed reads of a node's attributes with defaults, e.g. `attrs(node).ints('strides')`.
 * Missing attributes give the default (TensorFlow's own default where the op defines one).
 */
export function attrs(node: GraphDefNode) {
  const a = node.attr ?? {};
  return {
    has: (k: string): boolean => a[k] !== undefined,
    int: (k: string, def = 0): number => (a[k]?.i === undefined ? def : Number(a[k]!.i)),
    float: (k: string, def = 0): number => a[k]?.f ?? def,
    bool: (k: string, def = false): boolean => a[k]?.b ?? def,
    str: (k: string, def = ''): string => (a[k]?.s === undefined ? def : decode(a[k]!.s!)),
    ints: (k: string, def: number[] = []): number[] => (a[k]?.list ? (a[k]!.list!.i ?? []).map(Number) : def),
    strs: (k: string): string[] => (a[k]?.list?.s ?? []).map(decode),
    type: (k: string, def = 'DT_FLOAT'): string => a[k]?.type ?? def,
  };
}

/** `'name:1'` -> `{ node: 'name', index: 1 }`; control inputs (`^name`) are not data refs. */
export function parseRef(ref: string): { node: string; index: number } {
  const m = /^(.*?)(?::(\d+))?$/.exec(ref)!;
  return { node: m[1]!, index: m[2] === undefined ? 0 : Number(m[2]) };
}

/** Data inputs of a node (control dependencies dropped). */
export function dataInputs(node: GraphDefNode): string[] {
  return (node.input ?? []).filter((i) => !i.startsWith('^'));
}
