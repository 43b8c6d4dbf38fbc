import { AttrType, DataType, modelProtoType } from '../schema.js';

/*
 * A small mutable view of an ONNX model for graph rewrites (batch-norm folding, QDQ insertion):
 * decoded with the exporter's own protobuf schema, edited as plain objects, encoded again.
 */

/** One attribute as protobufjs decodes it (only the fields the exporter writes). */
export interface IrAttr {
  name: string;
  type: number;
  i?: number;
  f?: number;
  ints?: number[];
  floats?: number[];
  s?: Uint8Array;
  strings?: Uint8Array[];
}

/** One node. */
export interface IrNode {
  opType: string;
  name: string;
  input: string[];
  output: string[];
  attribute: IrAttr[];
  domain?: string;
}

/** One initializer, its elements as little-endian bytes. */
export interface IrTensor {
  name: string;
  dataType: number;
  dims: number[];
  raw: Uint8Array;
}

/** A decoded model: graph nodes and initializers editable, everything else carried through. */
export interface IrModel {
  /** The decoded ModelProto minus the graph's nodes and initializers. */
  proto: Record<string, unknown> & { graph: Record<string, unknown> & { input: { name: string }[]; output: { name: string }[] } };
  nodes: IrNode[];
  inits: Map<string, IrTensor>;
}

const BYTES: Record<number, number> = { [DataType.FLOAT]: 4, [DataType.UINT8]: 1, [DataType.INT8]: 1, [DataType.INT32]: 4, [DataType.INT64]: 8, [DataType.FLOAT16]: 2 };

/** Decode ONNX bytes (raw_data or typed-field initializers). */
export function decodeModel(bytes: Uint8Array): IrModel {
  const T = modelProtoType();
  const obj = T.toObject(T.decode(bytes), { longs: Number, defaults: false, arrays: true }) as IrModel['proto'];
  const g = obj.graph as Record<string, unknown>;
  const nodes = ((g.node as IrNode[] | undefined) ?? []).map((n) => ({ ...n, input: n.input ?? [], output: n.output ?? [], attribute: n.attribute ?? [], name: n.name ?? '' }));
  const inits = new Map<string, IrTensor>();
  for (const t of (g.initializer as Record<string, unknown>[] | undefined) ?? []) {
    const dataType = t.dataType as number;
    const dims = ((t.dims as number[] | undefined) ?? []).map(Number);
    let raw = t.rawData as Uint8Array | undefined;
    if (!raw || raw.length === 0) {
      const n = dims.reduce((a, b) => a * b, 1);
      if (dataType === DataType.FLOAT) raw = bytesOf(Float32Array.from((t.floatData as number[] | undefined) ?? []));
      else if (dataType === DataType.INT64) raw = bytesOf(BigInt64Array.from(((t.int64Data as number[] | undefined) ?? []).map((v) => BigInt(v))));
      else raw = bytesOf(Int32Array.from((t.int32Data as number[] | undefined) ?? []));
      if (n > 0 && raw.length === 0) raw = new Uint8Array(n * (BYTES[dataType] ?? 4));
    }
    inits.set(t.name as string, { name: t.name as string, dataType, dims, raw: Uint8Array.from(raw) });
  }
  delete g.node;
  delete g.initializer;
  return { proto: obj, nodes, inits };
}

/** Encode back to ONNX bytes (initializers not referenced by any node or graph output are dropped). */
export function encodeModel(m: IrModel): Uint8Array {
  const used = new Set<string>([...m.nodes.flatMap((n) => n.input), ...m.proto.graph.output.map((o) => o.name)]);
  const graph = {
    ...m.proto.graph,
    node: m.nodes,
    initializer: [...m.inits.values()].filter((t) => used.has(t.name)).map((t) => ({ name: t.name, dataType: t.dataType, dims: t.dims, rawData: t.raw })),
  };
  const T = modelProtoType();
  const proto = { ...m.proto, graph };
  const err = T.verify(proto);
  if (err) throw new Error(`internal: invalid ONNX ModelProto after rewrite: ${err}`);
  return T.encode(T.fromObject(proto)).finish();
}

/** Little-endian bytes of a typed array (copied). */
export function bytesOf(a: Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

/** A float32 initializer's values. */
export function floatsOf(t: IrTensor): Float32Array {
  if (t.dataType !== DataType.FLOAT) throw new Error(`initializer '${t.name}': expected float32, got data type ${t.dataType}`);
  return new Float32Array(t.raw.slice().buffer);
}

/** Add (or replace) an initializer. */
export function setInit(m: IrModel, name: string, dataType: number, dims: number[], data: Float32Array | Int8Array | Uint8Array | Int32Array): void {
  m.inits.set(name, { name, dataType, dims: [...dims], raw: bytesOf(data) });
}

/** An attribute by name. */
export function attr(n: IrNode, name: string): IrAttr | undefined {
  return n.attribute.find((a) => a.name === name);
}

/** INT attribute value or a default. */
export function attrInt(n: IrNode, name: string, fallback: number): number {
  return Number(attr(n, name)?.i ?? fallback);
}

/** INTS attribute value or a default. */
export function attrInts(n: IrNode, name: string, fallback: number[] = []): number[] {
  return (attr(n, name)?.ints ?? fallback).map(Number);
}

/** FLOAT attribute value or a default. */
export function attrFloat(n: IrNode, name: string, fallback: number): number {
  return attr(n, name)?.f ?? fallback;
}

/** INT attribute object. */
export function intAttr(name: string, i: number): IrAttr {
  return { name, type: AttrType.INT, i };
}

/** Consumers of every value, by value name. */
export function consumers(nodes: IrNode[]): Map<string, IrNode[]> {
  const out = new Map<string, IrNode[]>();
  for (const n of nodes) for (const i of n.input) if (i) out.set(i, [...(out.get(i) ?? []), n]);
  return out;
}

/** Producer of every value, by value name. */
export function producers(nodes: IrNode[]): Map<string, IrNode> {
  const out = new Map<string, IrNode>();
  for (const n of nodes) for (const o of n.output) out.set(o, n);
  return out;
}

/** Rename a value wherever it is consumed (and in the graph outputs). */
export function renameValue(m: IrModel, from: string, to: string): void {
  for (const n of m.nodes) n.input = n.input.map((x) => (x === from ? to : x));
  for (const o of m.proto.graph.output) if (o.name === from) o.name = to;
}

/** True when `v` is one of the graph's outputs. */
export function isGraphOutput(m: IrModel, v: string): boolean {
  return m.proto.graph.output.some((o) => o.name === v);
}
