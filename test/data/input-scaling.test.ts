import { describe, expect, it } from 'vitest';
import { inputScalingOf, loadDataArg } from '../../src/cli/data-arg.js';
import { loadMnist } from '../../src/data/mnist.js';
import { DEFAULT_INPUT_SCALING, inputScaling, scaleInputs } from '../../src/data/transform.js';

describe('input scaling from raw 0..255 pixels (Keras Rescaling)', () => {
  it('named ranges and scale/offset give the hand-computed values', () => {
    const raw = loadMnist({ split: 'test', limit: 20, normalize: false });
    const ds = loadMnist({ split: 'test', limit: 20 });
    const cases: Array<[Parameters<typeof inputScaling>[0], (v: number) => number]> = [
      [{}, (v) => v / 255],
      [{ range: '0..1' }, (v) => v / 255],
      [{ range: '0..255' }, (v) => v],
      [{ range: '-1..1' }, (v) => v / 127.5 - 1],
      [{ scale: 1 / 128, offset: -127.5 / 128 }, (v) => (v - 127.5) / 128],
      [{ scale: 2 }, (v) => v * 2],
    ];
    for (const [args, f] of cases) {
      const x = scaleInputs(ds, inputScaling(args)).x;
      for (const i of [0, 150, 300, 400, 783]) expect(x[i]).toBeCloseTo(f(raw.x[i]!), 5);
    }
    // Extremes: 0 and 255 map to the ends of the named range.
    const m = scaleInputs(ds, inputScaling({ range: '-1..1' }));
    const iMax = raw.x.indexOf(255);
    expect(m.x[iMax]).toBeCloseTo(1, 6);
    expect(m.x[raw.x.indexOf(0)]).toBeCloseTo(-1, 6);
  });

  it('the default changes nothing and inputs are never modified', () => {
    const ds = loadMnist({ split: 'test', limit: 5 });
    expect(scaleInputs(ds, DEFAULT_INPUT_SCALING)).toBe(ds);
    const copy = ds.x.slice();
    const s = scaleInputs(ds, inputScaling({ range: '0..255' }));
    expect(s).not.toBe(ds);
    expect(ds.x).toEqual(copy);
    expect(s.labels).toBe(ds.labels);
  });

  it('bad settings name the field and the allowed values', () => {
    expect(() => inputScaling({ range: '0..2' })).toThrow("unknown input range '0..2': expected one of 0..1, 0..255, -1..1, imagenet");
    expect(() => inputScaling({ range: '0..1', offset: 1 })).toThrow(/cannot be combined/);
    expect(() => inputScaling({ scale: 0 })).toThrow('input scale must be a non-zero number, got 0');
    expect(() => inputScalingOf({ inputScale: Number.NaN })).toThrow(/^--input-scale: input scale/);
  });

  it('--data loading applies the scaling to both splits', async () => {
    const { train, test } = await loadDataArg('mnist', { limit: 10, testLimit: 10, scaling: inputScaling({ range: '0..255' }) });
    const raw = loadMnist({ split: 'train', limit: 10, normalize: false });
    expect(Math.max(...train.x)).toBe(255);
    expect(train.x[200]).toBeCloseTo(raw.x[200]!, 4);
    expect(Math.max(...test.x)).toBe(255);
  });
});
