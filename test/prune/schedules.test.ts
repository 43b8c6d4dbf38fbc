import { describe, expect, it } from 'vitest';
import { ConstantSparsity, PolynomialDecay, scheduleFromConfig, shouldPruneInStep } from '../../src/prune/index.js';

describe('pruning schedules (TF-MOT semantics)', () => {
  it('PolynomialDecay matches (init - final) * (1 - p)^3 + final at hand-computed steps', () => {
    const s = new PolynomialDecay({ initialSparsity: 0.5, finalSparsity: 0.8, beginStep: 100, endStep: 300, frequency: 50 });
    // p = 0 -> initial; p = 0.5 -> -0.3 * 0.125 + 0.8 = 0.7625; p = 0.25 -> -0.3 * 0.421875 + 0.8 = 0.6734375
    expect(s.at(100)).toEqual({ shouldPrune: true, sparsity: 0.5 });
    expect(s.at(150).sparsity).toBeCloseTo(0.6734375, 12);
    expect(s.at(200).sparsity).toBeCloseTo(0.7625, 12);
    expect(s.at(300)).toEqual({ shouldPrune: true, sparsity: 0.8 });
    // Before begin p clamps to 0, after end to 1; neither is a pruning step.
    expect(s.at(50)).toEqual({ shouldPrune: false, sparsity: 0.5 });
    expect(s.at(400)).toEqual({ shouldPrune: false, sparsity: 0.8 });
    // Off-frequency steps inside the range do not prune.
    expect(s.at(175).shouldPrune).toBe(false);
    expect(s.at(250).shouldPrune).toBe(true);
  });

  it('power other than 3 follows the same formula', () => {
    const s = new PolynomialDecay({ initialSparsity: 0, finalSparsity: 0.9, beginStep: 0, endStep: 10, power: 1, frequency: 1 });
    expect(s.at(3).sparsity).toBeCloseTo(0.27, 12);
  });

  it('ConstantSparsity prunes every `frequency` steps from begin, forever when end = -1', () => {
    const s = new ConstantSparsity({ targetSparsity: 0.6, beginStep: 10, frequency: 5 });
    expect([9, 10, 12, 15, 1_000_000].map((t) => s.at(t).shouldPrune)).toEqual([false, true, false, true, true]);
    expect(s.at(3).sparsity).toBe(0.6);
    const bounded = new ConstantSparsity({ targetSparsity: 0.6, beginStep: 0, endStep: 20, frequency: 10 });
    expect([0, 10, 20, 30].map((t) => bounded.at(t).shouldPrune)).toEqual([true, true, true, false]);
    expect(shouldPruneInStep(7, 2, -1, 5)).toBe(true);
  });

  it('getConfig / scheduleFromConfig round-trip', () => {
    const p = new PolynomialDecay({ initialSparsity: 0.1, finalSparsity: 0.7, beginStep: 3, endStep: 90, power: 2, frequency: 7 });
    const q = scheduleFromConfig(JSON.parse(JSON.stringify(p.getConfig())));
    expect(q.getConfig()).toEqual(p.getConfig());
    for (const t of [0, 3, 10, 45, 89, 90, 200]) expect(q.at(t)).toEqual(p.at(t));
    const c = scheduleFromConfig({ name: 'ConstantSparsity', targetSparsity: 0.4 });
    expect(c.getConfig()).toEqual({ name: 'ConstantSparsity', targetSparsity: 0.4, beginStep: 0, endStep: -1, frequency: 100 });
  });

  it('rejects bad parameters with messages naming the field', () => {
    expect(() => new ConstantSparsity({ targetSparsity: 1 })).toThrow(/targetSparsity must be in \[0, 1\)/);
    expect(() => new PolynomialDecay({ initialSparsity: 0.5, finalSparsity: 0.8, beginStep: 10, endStep: 5 })).toThrow(/endStep \(5\) must be >= beginStep/);
    expect(() => new PolynomialDecay({ initialSparsity: 0.5, finalSparsity: 0.8, beginStep: 0, endStep: -1 })).toThrow(/endStep/);
    expect(() => new ConstantSparsity({ targetSparsity: 0.5, frequency: 0 })).toThrow(/frequency must be an integer > 0/);
    expect(() => scheduleFromConfig({ name: 'Cosine' })).toThrow(/unknown pruning schedule 'Cosine': expected one of ConstantSparsity, PolynomialDecay/);
  });
});
