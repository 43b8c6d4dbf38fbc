import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpy, loadNpyDataset, parseNpy, readNpy, writeNpy, type NpyDtype } from '../../src/data/npy.js';

/** Run Python with real numpy; `dir` is available as the variable `d`. Returns parsed JSON stdout. */
function py(dir: string, code: string): unknown {
  const script = `import json, numpy as np, os\nd = ${JSON.stringify(dir)}\n${code}`;
  const r = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'npy-'));

// Values chosen per dtype to hit signs, fractions and extremes that a wrong decoder would garble.
const CASES: Array<{ dtype: NpyDtype; expr: string }> = [
  { dtype: '<f4', expr: "np.array([[1.5, -2.25, 3e-8], [1e30, 0.0, -0.1]], dtype='<f4')" },
  { dtype: '<f8', expr: "np.array([np.pi, -1e300, 5e-324, 2.0**53], dtype='<f8')" },
  { dtype: '|u1', expr: "np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 11" },
  { dtype: '<i4', expr: "np.array([-2**31, -1, 0, 2**31 - 1], dtype='<i4').reshape(2, 2)" },
  { dtype: '<i8', expr: "np.array([-2**62, -5, 7, 2**53 + 1], dtype='<i8')" },
  { dtype: '|b1', expr: 'np.array([[True, False, True], [False, False, True]])' },
];

function plain(data: ArrayLike<number | bigint>): Array<number | string> {
  return Array.from(data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? v.toString() : v));
}

describe('.npy reading (files written by numpy)', () => {
  it('reads every supported dtype in format versions 1.0, 2.0 and 3.0', () => {
    const dir = tmp();
    const ref = py(
      dir,
      `out = {}
cases = ${JSON.stringify(CASES.map((c) => c.expr))}
for i, e in enumerate(cases):
    a = eval(e)
    np.save(os.path.join(d, f'{i}_v1.npy'), a)
    for v in [(2, 0), (3, 0)]:
        with open(os.path.join(d, f'{i}_v{v[0]}.npy'), 'wb') as f:
            np.lib.format.write_array(f, a, version=v)
    # int64 values go through strings: JSON floats would round them.
    vals = [str(x) for x in a.ravel().tolist()] if a.dtype == np.int64 else [float(x) for x in a.ravel().tolist()]
    out[i] = {'shape': list(a.shape), 'descr': a.dtype.str, 'values': vals}
print(json.dumps(out))`,
    ) as Record<string, { shape: number[]; descr: string; values: Array<number | string> }>;
    CASES.forEach((c, i) => {
      for (const v of [1, 2, 3]) {
        const bytes = readFileSync(join(dir, `${i}_v${v}.npy`));
        expect(bytes[6]).toBe(v); // the file really is that format version
        const arr = readNpy(join(dir, `${i}_v${v}.npy`));
        expect(arr.dtype).toBe(c.dtype);
        expect(ref[i]!.descr).toBe(c.dtype);
        expect(arr.shape).toEqual(ref[i]!.shape);
        const got = plain(arr.data);
        if (c.dtype === '<f4') {
          // numpy reports float32 values widened to float64; compare after the same widening.
          expect(got).toEqual(ref[i]!.values.map((x) => Math.fround(x as number)));
        } else {
          expect(got).toEqual(ref[i]!.values);
        }
      }
    });
  });

  it('reads 0-d scalars and empty arrays', () => {
    const dir = tmp();
    py(dir, `np.save(os.path.join(d, 's.npy'), np.float64(2.5)); np.save(os.path.join(d, 'e.npy'), np.zeros((0, 3), dtype='<f4')); print(1)`);
    const s = readNpy(join(dir, 's.npy'));
    expect(s.shape).toEqual([]);
    expect(Array.from(s.data as Float64Array)).toEqual([2.5]);
    const e = readNpy(join(dir, 'e.npy'));
    expect(e.shape).toEqual([0, 3]);
    expect(e.data.length).toBe(0);
  });

  it('rejects big-endian, Fortran-order, unsupported and broken files with clear errors', () => {
    const dir = tmp();
    py(
      dir,
      `np.save(os.path.join(d, 'be.npy'), np.arange(4, dtype='>f4'))
np.save(os.path.join(d, 'fo.npy'), np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)))
np.save(os.path.join(d, 'f2.npy'), np.arange(4, dtype='<f2'))
np.save(os.path.join(d, 'rec.npy'), np.zeros(2, dtype=[('a', '<f4'), ('b', '<i4')]))
np.save(os.path.join(d, 'ok.npy'), np.arange(10, dtype='<f8'))
print(1)`,
    );
    expect(() => readNpy(join(dir, 'be.npy'))).toThrow(/be\.npy: big-endian dtype '>f4' is not supported/);
    expect(() => readNpy(join(dir, 'fo.npy'))).toThrow(/fo\.npy: fortran_order=True arrays are not supported/);
    expect(() => readNpy(join(dir, 'f2.npy'))).toThrow(/f2\.npy: unsupported dtype '<f2'; supported: <f4, <f8/);
    expect(() => readNpy(join(dir, 'rec.npy'))).toThrow(/rec\.npy: structured \(record\) dtypes are not supported/);
    const ok = readFileSync(join(dir, 'ok.npy'));
    writeFileSync(join(dir, 'cut.npy'), ok.subarray(0, ok.length - 8));
    expect(() => readNpy(join(dir, 'cut.npy'))).toThrow(
      /cut\.npy: header declares shape \[10\] of <f8 \(80 data bytes\) but the file has 72 data bytes/,
    );
    writeFileSync(join(dir, 'junk.npy'), 'hello world, not numpy');
    expect(() => readNpy(join(dir, 'junk.npy'))).toThrow(/junk\.npy: not a \.npy file/);
    expect(() => readNpy(join(dir, 'missing.npy'))).toThrow(/cannot read \.npy file .*missing\.npy/);
  });
});

describe('.npy writing (files read back by numpy)', () => {
  it('writes each dtype so numpy.load returns the same dtype, shape and values', () => {
    const dir = tmp();
    const i8 = BigInt64Array.from([-(2n ** 62n), -5n, 7n, 2n ** 53n + 1n]);
    writeNpy(join(dir, 'f4.npy'), Float32Array.from([1.5, -2.25, 3e-8, 1e30, 0, -0.1]), [2, 3]);
    writeNpy(join(dir, 'f8.npy'), [Math.PI, -1e300, 5e-324], [3]);
    writeNpy(join(dir, 'u1.npy'), Uint8Array.from({ length: 24 }, (_, i) => (i * 11) % 256), [2, 3, 4]);
    writeNpy(join(dir, 'i4.npy'), Int32Array.from([-(2 ** 31), -1, 0, 2 ** 31 - 1]), [2, 2]);
    writeNpy(join(dir, 'i8.npy'), i8, [4]);
    writeNpy(join(dir, 'b1.npy'), Uint8Array.from([1, 0, 7, 0]), [2, 2], { dtype: '|b1' });
    writeNpy(join(dir, 'conv.npy'), Float32Array.from([3, -4]), [2], { dtype: '<i8' });
    writeNpy(join(dir, 'scalar.npy'), [42], []);
    const got = py(
      dir,
      `out = {}
for n in ['f4', 'f8', 'u1', 'i4', 'i8', 'b1', 'conv', 'scalar']:
    a = np.load(os.path.join(d, n + '.npy'))
    vals = [str(x) for x in a.ravel().tolist()] if a.dtype == np.int64 else [float(x) for x in a.ravel().tolist()]
    out[n] = {'descr': a.dtype.str, 'shape': list(a.shape), 'values': vals, 'c': bool(a.flags['C_CONTIGUOUS'])}
print(json.dumps(out))`,
    ) as Record<string, { descr: string; shape: number[]; values: Array<number | string>; c: boolean }>;
    expect(got.f4).toEqual({
      descr: '<f4',
      shape: [2, 3],
      values: [1.5, -2.25, 3e-8, 1e30, 0, -0.1].map(Math.fround),
      c: true,
    });
    expect(got.f8).toMatchObject({ descr: '<f8', shape: [3], values: [Math.PI, -1e300, 5e-324] });
    expect(got.u1).toMatchObject({ descr: '|u1', shape: [2, 3, 4], values: Array.from({ length: 24 }, (_, i) => (i * 11) % 256) });
    expect(got.i4).toMatchObject({ descr: '<i4', shape: [2, 2], values: [-(2 ** 31), -1, 0, 2 ** 31 - 1] });
    expect(got.i8).toMatchObject({ descr: '<i8', shape: [4], values: plain(i8) });
    expect(got.b1).toMatchObject({ descr: '|b1', shape: [2, 2], values: [1, 0, 1, 0] });
    expect(got.conv).toMatchObject({ descr: '<i8', shape: [2], values: ['3', '-4'] });
    expect(got.scalar).toMatchObject({ descr: '<f8', shape: [], values: [42] });
    // Atomic writes leave no temp files behind.
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('round-trips through encodeNpy/parseNpy with 64-byte aligned data', () => {
    const data = Float64Array.from({ length: 30 }, (_, i) => Math.sin(i) * 1e6);
    const bytes = encodeNpy(data, [5, 6]);
    const headerLen = new DataView(bytes.buffer).getUint16(8, true);
    expect((10 + headerLen) % 64).toBe(0);
    const back = parseNpy(bytes);
    expect(back).toMatchObject({ dtype: '<f8', shape: [5, 6] });
    expect(Array.from(back.data as Float64Array)).toEqual(Array.from(data));
    // A subarray view writes only its own values, not the whole underlying buffer.
    const view = Int32Array.from([9, 8, 7, 6, 5]).subarray(1, 4);
    expect(Array.from(parseNpy(encodeNpy(view, [3])).data as Int32Array)).toEqual([8, 7, 6]);
  });

  it('validates the shape against the data', () => {
    expect(() => encodeNpy(new Float32Array(5), [2, 3])).toThrow(/shape \[2,3\] needs 6 values but the array has 5/);
    expect(() => encodeNpy(new Float32Array(2), [2, -1])).toThrow(/bad dimension -1/);
    expect(() => encodeNpy([1.5], [1], { dtype: '<i8' })).toThrow(/value 1.5 at index 0 is not an integer/);
  });
});

describe('loadNpyDataset', () => {
  it('one-hot encodes integer labels and scales uint8 inputs (numpy-made files)', () => {
    const dir = tmp();
    py(
      dir,
      `x = (np.arange(5 * 4 * 4) % 256).astype(np.uint8).reshape(5, 4, 4)
np.save(os.path.join(d, 'x.npy'), x)
np.save(os.path.join(d, 'y.npy'), np.array([2, 0, 1, 2, 1], dtype=np.int64))
np.save(os.path.join(d, 'y_onehot.npy'), np.eye(3, dtype=np.float32)[[2, 0, 1, 2, 1]] * 0.9)
np.save(os.path.join(d, 'y_short.npy'), np.array([1, 0], dtype=np.int32))
np.save(os.path.join(d, 'y_float_labels.npy'), np.array([2., 0., 1., 2., 1.]))
np.save(os.path.join(d, 'y_frac.npy'), np.array([[0.5], [1.5], [0.], [2.], [1.]]))
print(1)`,
    );
    const x = join(dir, 'x.npy');
    const ds = loadNpyDataset(x, join(dir, 'y.npy'), { xScale: 1 / 255, numClasses: 4 });
    expect(ds.size).toBe(5);
    expect(ds.xShape).toEqual([4, 4]);
    expect(ds.yShape).toEqual([4]);
    expect(Array.from(ds.labels!)).toEqual([2, 0, 1, 2, 1]);
    expect(Array.from(ds.y.subarray(0, 8))).toEqual([0, 0, 1, 0, 1, 0, 0, 0]);
    expect(ds.x[17]).toBeCloseTo(17 / 255, 7);

    const t = loadNpyDataset(x, join(dir, 'y_onehot.npy'), { limit: 3 });
    expect(t.size).toBe(3);
    expect(t.yShape).toEqual([3]);
    expect(Array.from(t.labels!)).toEqual([2, 0, 1]);
    expect(t.y[2]).toBeCloseTo(0.9, 6);

    const fl = loadNpyDataset(x, join(dir, 'y_float_labels.npy'), { yMode: 'labels' });
    expect(fl.numClasses).toBe(3);
    expect(Array.from(fl.labels!)).toEqual([2, 0, 1, 2, 1]);
    // In auto mode float [N, 1] targets are regression targets, used as-is.
    const reg = loadNpyDataset(x, join(dir, 'y_frac.npy'));
    expect(reg.yShape).toEqual([1]);
    expect(Array.from(reg.y)).toEqual([0.5, 1.5, 0, 2, 1]);

    expect(() => loadNpyDataset(x, join(dir, 'y_short.npy'))).toThrow(
      /sample counts differ: .*x\.npy has 5 samples .* but .*y_short\.npy has 2/,
    );
    expect(() => loadNpyDataset(x, join(dir, 'y.npy'), { numClasses: 2 })).toThrow(/y\.npy: label 2 at sample 0 is outside 0\.\.1/);
    expect(() => loadNpyDataset(x, join(dir, 'y_frac.npy'), { yMode: 'labels' })).toThrow(
      /y_frac\.npy: label 0\.5 at sample 0 is not a non-negative integer/,
    );
    expect(() => loadNpyDataset(x, join(dir, 'y_onehot.npy'), { numClasses: 10 })).toThrow(
      /y_onehot\.npy: targets have 3 classes .* but numClasses is 10/,
    );
  });
});
