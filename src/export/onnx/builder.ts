import { AttrType, DataType } from './schema.js';

/** One ONNX node attribute, typed explicitly (JS numbers cannot tell INT from FLOAT). */
export type Attr =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'string'; value: string }
  | { type: 'strings'; value: string[] };

/** Attribute helpers: `{ axis: int(1), kernel_shape: ints([3, 3]) }`. */
export const int = (value: number): Attr => ({ type: 'int', value });
/** FLOAT attribute. */
export const float = (value: number): Attr => ({ type: 'float', value });
/** INTS attribute. */
export const ints = (value: number[]): Attr => ({ type: 'ints', value });
/** FLOATS attribute. */
export const floats = (value: number[]): Attr => ({ type: 'floats', value });
/** STRING attribute. */
export const str = (value: string): Attr => ({ type: 'string', value });
/** STRINGS attribute (e.g. the activations of an LSTM). */
export const strs = (value: string[]): Attr => ({ type: 'strings', value });

/** Element types the exporter writes. */
export type OnnxDType = 'float32' | 'float16' | 'int8' | 'uint8' | 'int32' | 'int64';

const DTYPE_CODE: Record<OnnxDType, number> = {
  float32: DataType.FLOAT,
  float16: DataType.FLOAT16,
  int8: DataType.INT8,
  uint8: DataType.UINT8,
  int32: DataType.INT32,
  int64: DataType.INT64,
};

/** ONNX TensorProto.DataType code of a dtype. */
export function dtypeCode(dtype: OnnxDType): number {
  return DTYPE_CODE[dtype];
}

/** An initializer as the builder stores it before encoding. */
export interface Initializer {
  name: string;
  dtype: OnnxDType;
  dims: number[];
  /** Little-endian element bytes (ONNX raw_data). */
  raw: Uint8Array;
}

/** A node as the builder stores it before encoding. */
export interface BuiltNode {
  opType: string;
  name: string;
  input: string[];
  output: string[];
  attrs: Record<string, Attr>;
}

function rawBytes(data: Float32Array | Int8Array | Uint8Array | Uint16Array | Int32Array | BigInt64Array): Uint8Array {
  // Typed arrays are little-endian on every platform Node supports; copy to own the buffer.
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

/**
 * Accumulates ONNX nodes and initializers with unique names. Converters never touch protobuf:
 * {@link GraphBuilder.toGraphProto} turns everything into the plain object protobufjs encodes.
 */
export class GraphBuilder {
  readonly nodes: BuiltNode[] = [];
  readonly initializers: Initializer[] = [];
  private readonly used = new Set<string>();
  private readonly constCache = new Map<string, string>();

  /** Reserve `base` (or `base_1`, `base_2`, ...) as a value/node name. */
  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'v';
    let name = clean;
    for (let i = 1; this.used.has(name); i++) name = `${clean}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Mark a name as taken (graph inputs). */
  reserve(name: string): void {
    if (this.used.has(name)) throw new Error(`duplicate ONNX value name '${name}'`);
    this.used.add(name);
  }

  /**
   * Append a node and return its output names (fresh names derived from `name`).
   * @example const [y] = b.node('Relu', [x], {}, 'dense_1/relu');
   */
  node(opType: string, input: string[], attrs: Record<string, Attr>, name: string, numOutputs = 1): string[] {
    const nodeName = this.unique(name);
    const output: string[] = [];
    for (let i = 0; i < numOutputs; i++) output.push(numOutputs === 1 ? nodeName : this.unique(`${nodeName}:${i}`));
    this.nodes.push({ opType, name: nodeName, input, output, attrs });
    return output;
  }

  /** Append a node whose outputs use names already reserved with {@link unique}. */
  nodeWithOutputs(opType: string, input: string[], attrs: Record<string, Attr>, name: string, output: string[]): void {
    this.nodes.push({ opType, name: this.unique(name), input, output, attrs });
  }

  /** Add an initializer from typed data; returns its name. */
  initializer(name: string, dtype: OnnxDType, dims: number[], data: Float32Array | Int8Array | Uint8Array | Uint16Array | Int32Array | BigInt64Array): string {
    const n = dims.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new Error(`initializer '${name}': ${data.length} values for dims [${dims}] (expected ${n})`);
    const unique = this.unique(name);
    this.initializers.push({ name: unique, dtype, dims: [...dims], raw: rawBytes(data) });
    return unique;
  }

  /** A (deduplicated) int64 constant such as a Reshape shape or Pad pads. */
  constInt64(values: number[], name = 'const_i64'): string {
    const key = `i64:${values.join(',')}`;
    let got = this.constCache.get(key);
    if (!got) {
      got = this.initializer(name, 'int64', [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));
      this.constCache.set(key, got);
    }
    return got;
  }

  /** A (deduplicated) float32 constant with the given dims. */
  constFloat(values: number[], dims: number[] = [values.length], name = 'const_f32'): string {
    const key = `f32:${dims.join('x')}:${values.join(',')}`;
    let got = this.constCache.get(key);
    if (!got) {
      got = this.initializer(name, 'float32', dims, Float32Array.from(values));
      this.constCache.set(key, got);
    }
    return got;
  }

  /**
   * Rename a value everywhere it is produced or consumed (gives outputs their final names). `to`
   * must already be reserved and not used by any value.
   */
  renameReserved(from: string, to: string): void {
    if (from === to) return;
    for (const n of this.nodes) {
      n.input = n.input.map((x) => (x === from ? to : x));
      n.output = n.output.map((x) => (x === from ? to : x));
    }
  }

  /** Plain-object GraphProto (camelCase fields, as protobufjs's fromObject expects). */
  toGraphProto(name: string, inputs: object[], outputs: object[]): object {
    return {
      name,
      node: this.nodes.map((n) => ({
        opType: n.opType,
        name: n.name,
        input: n.input,
        output: n.output,
        attribute: Object.entries(n.attrs).map(([k, a]) => encodeAttr(k, a)),
      })),
      initializer: this.initializers.map((t) => ({ name: t.name, dataType: dtypeCode(t.dtype), dims: t.dims, rawData: t.raw })),
      input: inputs,
      output: outputs,
    };
  }
}

function encodeAttr(name: string, a: Attr): object {
  switch (a.type) {
    case 'int':
      return { name, type: AttrType.INT, i: a.value };
    case 'float':
      return { name, type: AttrType.FLOAT, f: a.value };
    case 'ints':
      return { name, type: AttrType.INTS, ints: a.value };
    case 'floats':
      return { name, type: AttrType.FLOATS, floats: a.value };
    case 'string':
      return { name, type: AttrType.STRING, s: new TextEncoder().encode(a.value) };
    case 'strings':
      return { name, type: AttrType.STRINGS, strings: a.value.map((v) => new TextEncoder().encode(v)) };
  }
}

/** ValueInfoProto for a tensor with a symbolic batch dimension (`null` dims become `N`). */
export function valueInfo(name: string, dtype: OnnxDType, shape: (number | null)[]): object {
  return {
    name,
    type: {
      tensorType: {
        elemType: dtypeCode(dtype),
        shape: { dim: shape.map((d) => (d == null ? { dimParam: 'N' } : { dimValue: d })) },
      },
    },
  };
}
