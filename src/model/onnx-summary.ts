import { readFileSync } from 'node:fs';
import { modelProtoType } from '../export/onnx/schema.js';
import { oneLine } from '../util/errors.js';
import { opHistogram, summarizeWeights, type GraphSummary, type TensorSignature, type WeightSummary } from './graph-summary.js';
import { countNonZeros } from './summary.js';

/** TensorProto.DataType code -> [dtype name, bytes per value]. */
const ONNX_TYPES: Record<number, [string, number]> = {
  1: ['float32', 4], 2: ['uint8', 1], 3: ['int8', 1], 4: ['uint16', 2], 5: ['int16', 2], 6: ['int32', 4],
  7: ['int64', 8], 9: ['bool', 1], 10: ['float16', 2], 11: ['float64', 8], 12: ['uint32', 4], 13: ['uint64', 8],
};

interface TensorProto {
  name?: string;
  dims?: number[];
  dataType?: number;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  doubleData?: number[];
  rawData?: Uint8Array;
}

interface ValueInfo {
  name?: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: Array<{ dimValue?: number; dimParam?: string }> } } };
}

interface OnnxModel {
  graph?: { node?: Array<{ opType?: string }>; initializer?: TensorProto[]; input?: ValueInfo[]; output?: ValueInfo[] };
}

/** The values of an initializer, as numbers (only what non-zero counting needs). */
function initializerValues(t: TensorProto, count: number): ArrayLike<number | bigint> {
  const raw = t.rawData;
  if (raw && raw.byteLength) {
    const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
    switch (t.dataType) {
      case 1: return new Float32Array(buf);
      case 6: return new Int32Array(buf);
      case 7: return new BigInt64Array(buf);
      case 11: return new Float64Array(buf);
      // float16 zero is 0x0000 (or 0x8000): compare the half words with the sign masked.
      case 10: return Array.from(new Uint16Array(buf), (h) => h & 0x7fff);
      default: return new Uint8Array(buf);
    }
  }
  const list = t.floatData?.length ? t.floatData : t.int32Data?.length ? t.int32Data : t.int64Data?.length ? t.int64Data : t.doubleData ?? [];
  return list.length ? list : new Array<number>(count).fill(0);
}

function signatureOf(v: ValueInfo): TensorSignature {
  const tt = v.type?.tensorType;
  const dims = tt?.shape?.dim;
  return {
    name: v.name ?? '',
    ...(dims ? { shape: dims.map((d) => (d.dimValue !== undefined && d.dimValue > 0 ? Number(d.dimValue) : -1)) } : {}),
    ...(tt?.elemType !== undefined ? { dtype: ONNX_TYPES[tt.elemType]?.[0] ?? `type ${tt.elemType}` } : {}),
  };
}

/**
 * Op histogram, initializers (name, shape, dtype, params, non-zeros, bytes), totals and the
 * inputs/outputs of an `.onnx` file, decoded with the exporter's ONNX protobuf schema.
 *
 * @example
 * console.log(formatGraphSummary(onnxSummary('out/model.onnx')));
 */
export function onnxSummary(path: string): GraphSummary {
  let model: OnnxModel;
  try {
    const bytes = readFileSync(path);
    const T = modelProtoType();
    model = T.toObject(T.decode(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)), { longs: Number, bytes: Uint8Array as never, defaults: false }) as OnnxModel;
  } catch (err) {
    throw new Error(`${path}: not a readable ONNX model (${oneLine((err as Error).message, 160)})`);
  }
  const g = model.graph;
  if (!g) throw new Error(`${path}: ONNX model has no graph`);
  const inits = g.initializer ?? [];
  const weights: WeightSummary[] = inits.map((t) => {
    const shape = (t.dims ?? []).map(Number);
    const params = shape.reduce((a, b) => a * b, 1);
    const [dtype, width] = ONNX_TYPES[t.dataType ?? 0] ?? [`type ${t.dataType}`, 0];
    return { name: t.name ?? '', shape, dtype, params, nonZeros: countNonZeros(initializerValues(t, params)), bytes: params * width };
  });
  const initNames = new Set(inits.map((t) => t.name));
  // Older exporters list initializers among the inputs too; those are weights, not inputs.
  const inputs = (g.input ?? []).filter((v) => !initNames.has(v.name)).map(signatureOf);
  const ops = opHistogram((g.node ?? []).map((n) => n.opType ?? '?'));
  return summarizeWeights('onnx', ops, weights, inputs, (g.output ?? []).map(signatureOf));
}
