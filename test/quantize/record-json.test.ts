import { describe, expect, it } from 'vitest';
import { quantizeAffine } from '../../src/quantize/affine.js';
import { quantizeCodebook } from '../../src/quantize/codebook.js';
import { toHalfBits } from '../../src/quantize/half.js';
import { quantizedWeightsFromJson, quantizedWeightsToJson } from '../../src/quantize/record-json.js';
import type { QuantizedWeights } from '../../src/quantize/types.js';

describe('QuantizedWeights JSON', () => {
  const v = Float32Array.from({ length: 600 }, (_, i) => (i % 4 === 0 ? 0 : Math.sin(i) * 0.3));
  const record: QuantizedWeights = {
    'a/kernel': quantizeAffine(v, [20, 30], { dtype: 'int8', axis: 1 }),
    'b/kernel': quantizeAffine(v, [600], { dtype: 'uint8' }),
    'c/kernel': quantizeCodebook(v, [20, 30], { bits: 4 }),
    'd/kernel': { kind: 'float16', shape: [600], bits: toHalfBits(v) },
  };

  it('round-trips every kind through JSON text exactly', () => {
    const back = quantizedWeightsFromJson(JSON.parse(JSON.stringify(quantizedWeightsToJson(record))));
    expect(back).toEqual(record);
  });

  it('rejects malformed input with errors naming the weight and field', () => {
    const json = quantizedWeightsToJson(record);
    expect(() => quantizedWeightsFromJson({ ...json, version: 2 })).toThrow(/unsupported version 2/);
    expect(() => quantizedWeightsFromJson({ format: 'x' })).toThrow(/'format' must be 'tfjs-compress-quantized'/);
    const bad = structuredClone(json);
    bad.weights['c/kernel']!.assignments = btoa('\x20\x00');
    expect(() => quantizedWeightsFromJson(bad)).toThrow(/'c\/kernel'.assignments holds 2 bytes, expected 1200/);
    const bad2 = structuredClone(json);
    bad2.weights['a/kernel']!.scales = [1];
    expect(() => quantizedWeightsFromJson(bad2)).toThrow(/'a\/kernel' needs 30 scales/);
  });
});
