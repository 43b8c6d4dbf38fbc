import { channelLayout } from './dequantize.js';
import { sizeOf, type QuantizedTensor, type QuantizedWeights } from './types.js';

/** JSON form of {@link QuantizedWeights} (typed arrays as little-endian base64), e.g. a sidecar file. */
export interface QuantizedWeightsJson {
  format: 'tfjs-compress-quantized';
  version: 1;
  weights: Record<string, Record<string, unknown>>;
}

// Typed arrays are stored in their platform byte order; every platform tfjs supports is little-endian.
function toBase64(a: ArrayBufferView): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(s: unknown, field: string): Uint8Array {
  if (typeof s !== 'string') throw new Error(`quantized weights JSON: ${field} must be a base64 string`);
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function typed<T>(ctor: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number }, s: unknown, field: string, count: number): T {
  const bytes = fromBase64(s, field);
  if (bytes.length !== count * ctor.BYTES_PER_ELEMENT) {
    throw new Error(`quantized weights JSON: ${field} holds ${bytes.length} bytes, expected ${count * ctor.BYTES_PER_ELEMENT}`);
  }
  return new ctor(bytes.slice().buffer);
}

/** Serialise quantized records to plain JSON. */
export function quantizedWeightsToJson(q: QuantizedWeights): QuantizedWeightsJson {
  const weights: Record<string, Record<string, unknown>> = {};
  for (const [name, t] of Object.entries(q)) {
    switch (t.kind) {
      case 'float16':
        weights[name] = { kind: t.kind, shape: t.shape, bits: toBase64(t.bits) };
        break;
      case 'affine':
        weights[name] = {
          kind: t.kind,
          shape: t.shape,
          dtype: t.dtype,
          axis: t.axis,
          ...(t.axisCount && t.axisCount > 1 ? { axisCount: t.axisCount } : {}),
          q: toBase64(t.q),
          scales: Array.from(t.scales),
          zeroPoints: Array.from(t.zeroPoints),
        };
        break;
      case 'codebook':
        weights[name] = { kind: t.kind, shape: t.shape, bits: t.bits, centroids: Array.from(t.centroids), assignments: toBase64(t.assignments) };
        break;
    }
  }
  return { format: 'tfjs-compress-quantized', version: 1, weights };
}

/** Parse the JSON written by {@link quantizedWeightsToJson}, validating every field. */
export function quantizedWeightsFromJson(json: unknown): QuantizedWeights {
  const j = json as Partial<QuantizedWeightsJson> | null;
  if (!j || j.format !== 'tfjs-compress-quantized') throw new Error("quantized weights JSON: 'format' must be 'tfjs-compress-quantized'");
  if (j.version !== 1) throw new Error(`quantized weights JSON: unsupported version ${String(j.version)} (this reader supports 1)`);
  const out: QuantizedWeights = {};
  for (const [name, w] of Object.entries(j.weights ?? {})) {
    const shape = w.shape as number[];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new Error(`quantized weights JSON: '${name}'.shape must be an array of non-negative integers`);
    }
    const n = sizeOf(shape);
    let t: QuantizedTensor;
    if (w.kind === 'float16') {
      t = { kind: 'float16', shape, bits: typed(Uint16Array, w.bits, `'${name}'.bits`, n) };
    } else if (w.kind === 'affine') {
      if (w.dtype !== 'int8' && w.dtype !== 'uint8' && w.dtype !== 'uint16') throw new Error(`quantized weights JSON: '${name}'.dtype must be int8, uint8 or uint16`);
      const scales = Float32Array.from(w.scales as number[]);
      const zeroPoints = Int32Array.from(w.zeroPoints as number[]);
      const axis = w.axis as number | null;
      const axisCount = w.axisCount ?? 1;
      if (axis !== null && !(Number.isInteger(axis) && axis >= 0 && Number.isInteger(axisCount) && (axisCount as number) >= 1 && axis + (axisCount as number) <= shape.length)) {
        throw new Error(`quantized weights JSON: '${name}'.axis ${String(axis)} (axisCount ${String(axisCount)}) is out of range for shape [${shape.join(', ')}]`);
      }
      const channels = axis === null ? 1 : channelLayout(shape, axis, axisCount as number).length;
      if (scales.length !== channels || zeroPoints.length !== channels) {
        throw new Error(`quantized weights JSON: '${name}' needs ${channels} scales and zero points`);
      }
      const field = `'${name}'.q`;
      const q = w.dtype === 'int8' ? typed(Int8Array, w.q, field, n) : w.dtype === 'uint8' ? typed(Uint8Array, w.q, field, n) : typed(Uint16Array, w.q, field, n);
      t = { kind: 'affine', shape, dtype: w.dtype, axis, q, scales, zeroPoints, ...(axis !== null && axisCount !== 1 ? { axisCount: axisCount as number } : {}) };
    } else if (w.kind === 'codebook') {
      const centroids = Float32Array.from(w.centroids as number[]);
      const assignments = typed(Int16Array, w.assignments, `'${name}'.assignments`, n);
      for (const a of assignments) {
        if (a < -1 || a >= centroids.length) throw new Error(`quantized weights JSON: '${name}' assignment ${a} is outside -1..${centroids.length - 1}`);
      }
      t = { kind: 'codebook', shape, bits: w.bits as number, centroids, assignments };
    } else {
      throw new Error(`quantized weights JSON: '${name}' has unknown kind '${String(w.kind)}'`);
    }
    out[name] = t;
  }
  return out;
}
