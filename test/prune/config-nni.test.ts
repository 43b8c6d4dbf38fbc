import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfigList, resolveTargets, selectItems } from '../../src/prune/index.js';
import { useBackend } from '../helpers/backend.js';

// Hand-written items: the expected selections below are worked out by hand from NNI's rule
// (op_names ∪ op_names_re) ∩ op_types − exclude_op_names − exclude_op_names_re − exclude_op_types.
const items = [
  { name: 'features/conv1', shortName: 'conv1', type: 'Conv2D' },
  { name: 'features/conv2', shortName: 'conv2', type: 'Conv2D' },
  { name: 'features/dw2', shortName: 'dw2', type: 'DepthwiseConv2D' },
  { name: 'fc1', type: 'Dense' },
  { name: 'fc2', type: 'Dense' },
  { name: 'logits', type: 'Dense' },
];
const pick = (list: unknown) => [...selectItems(items, parseConfigList(list)).chosen.keys()].sort();

beforeAll(async () => {
  await useBackend();
});

describe('NNI-style config lists', () => {
  it('an entry selects the intersection of its op types and its names', () => {
    expect(pick([{ opTypes: ['Dense'], opNames: ['fc1', 'features/conv1'], sparsity: 0.5 }])).toEqual(['fc1']);
    expect(pick([{ opTypes: ['Conv2D', 'Dense'], opNamesRe: 'fc', sparsity: 0.5 }])).toEqual(['fc1', 'fc2']);
    // Names alone and types alone select everything they match.
    expect(pick([{ opNames: ['fc1', 'conv2'], sparsity: 0.5 }])).toEqual(['fc1', 'features/conv2']);
    expect(pick([{ opTypes: ['Conv2D'], sparsity: 0.5 }])).toEqual(['features/conv1', 'features/conv2']);
    expect(() => pick([{ opTypes: ['Dense'], opNames: ['conv1'], sparsity: 0.5 }])).toThrow(/configList\[0\]: no layer is both named .* and of opTypes Dense/);
  });

  it('regexes are anchored at the start like re.match, on the path or the bare name', () => {
    expect(pick([{ opNamesRe: 'conv', sparsity: 0.5 }])).toEqual(['features/conv1', 'features/conv2']); // bare names start with conv
    expect(pick([{ opNamesRe: 'features/', sparsity: 0.5 }])).toEqual(['features/conv1', 'features/conv2', 'features/dw2']);
    expect(() => pick([{ opNamesRe: 'ogits', sparsity: 0.5 }])).toThrow(/opNamesRe: 'ogits' matches no layer/); // re.search would match
    expect(pick([{ opNamesRe: '.*2$', sparsity: 0.5 }])).toEqual(['fc2', 'features/conv2', 'features/dw2']);
  });

  it('exclude_op_types / exclude_op_names / exclude_op_names_re remove from the entry, snake_case and sparse_ratio accepted', () => {
    expect(pick([{ op_names_re: ['features/', 'fc'], exclude_op_types: ['DepthwiseConv2D'], exclude_op_names: ['fc2'], sparse_ratio: 0.5 }])).toEqual(['fc1', 'features/conv1', 'features/conv2']);
    expect(pick([{ opTypes: ['Dense'], excludeOpNamesRe: ['log'], sparsity: 0.5 }])).toEqual(['fc1', 'fc2']);
    const [e] = parseConfigList([{ op_types: ['Dense'], sparse_ratio: 0.7 }]);
    expect(e).toEqual({ opTypes: ['Dense'], sparsity: 0.7 });
    expect(() => parseConfigList([{ opTypes: ['Dense'], sparse_ratio: 1.5 }])).toThrow(/configList\[0\]\.sparsity: sparsity must be < 1/);
    expect(() => parseConfigList([{ opTypes: ['Dense'], sparsity: 0.5, sparse_ratio: 0.5 }])).toThrow(/sparse_ratio/);
    expect(() => pick([{ opTypes: ['Dense'], excludeOpTypes: ['Conv3D'], sparsity: 0.5 }])).toThrow(/excludeOpTypes: 'Conv3D' matches no layer/);
  });

  it('a later entry overrides an earlier one; exclude: true entries win wherever they are', () => {
    const sel = selectItems(items, parseConfigList([{ opNames: ['fc1'], exclude: true }, { opTypes: ['Dense'], sparsity: 0.5 }, { opNames: ['fc2'], sparsity: 0.9 }]));
    expect([...sel.chosen.keys()].sort()).toEqual(['fc2', 'logits']);
    expect(sel.chosen.get('fc2')!.entry.sparsity).toBe(0.9);
    expect([...sel.excluded]).toEqual(['fc1']);
  });

  it('resolveTargets applies the rule to a real model', () => {
    const input = tf.input({ shape: [8] });
    const h = tf.layers.dense({ units: 4, name: 'fc1' }).apply(input) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, name: 'head' }).apply(h) as tf.SymbolicTensor;
    const m = tf.model({ inputs: input, outputs: out });
    try {
      const t = resolveTargets(m, [{ op_types: ['Dense'], op_names_re: ['h'], sparse_ratio: 0.5 }]);
      expect(t.map((x) => `${x.path}/${x.weight}:${x.sparsity}`)).toEqual(['head/kernel:0.5']);
    } finally {
      m.dispose();
    }
  });
});
