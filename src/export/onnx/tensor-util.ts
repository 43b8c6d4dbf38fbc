/** Small dense-array helpers used when reshaping weights at export time. */

/** Row-major strides of a shape. */
export function strides(shape: number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** Number of elements of a shape. */
export function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Transpose a row-major array: output axis `i` is input axis `perm[i]` (numpy semantics).
 * @example transpose(kernel, [3, 3, 1, 8], [3, 2, 0, 1]) // HWIO -> OIHW
 */
export function transpose<T extends Float32Array>(data: T, shape: number[], perm: number[]): { data: T; shape: number[] } {
  if (perm.length !== shape.length) throw new Error(`transpose: perm [${perm}] does not match rank ${shape.length}`);
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = strides(shape);
  const permStrides = perm.map((p) => inStrides[p]!);
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = data[src]!;
    // Odometer increment over the output index, tracking the matching input offset.
    for (let a = rank - 1; a >= 0; a--) {
      idx[a]!++;
      src += permStrides[a]!;
      if (idx[a]! < outShape[a]!) break;
      src -= permStrides[a]! * outShape[a]!;
      idx[a] = 0;
    }
  }
  return { data: out, shape: outShape };
}
