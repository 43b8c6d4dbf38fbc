import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchLabels, parseBenchInput } from '../../src/bench/labels.js';

describe('bench labels', () => {
  it('a path is labelled by where it sits below the folder all inputs share', () => {
    expect(benchLabels(['out/m', 'out/m.tfjsc'])).toEqual(['m', 'm.tfjsc']);
    expect(benchLabels(['/x/a/m', '/x/b/m', '/x/b/m.onnx'])).toEqual(['a/m', 'b/m', 'b/m.onnx']);
    expect(benchLabels(['/x/a/deep/m', '/x/b'])).toEqual(['a/deep/m', 'b']);
    // A lone input is its own name; model.json stands for its folder.
    expect(benchLabels(['runs/7/pruned'])).toEqual(['pruned']);
    expect(benchLabels(['/x/a/model.json', '/x/b/model.json'])).toEqual(['a', 'b']);
  });

  it('zoo specs and explicit names are kept; repeats get #2; colliding explicit names are refused', () => {
    expect(benchLabels(['zoo:mlp', { name: 'base', path: 'zoo:cnn' }, '/x/m'])).toEqual(['zoo:mlp', 'base', 'm']);
    expect(benchLabels(['/x/m', '/x/m', '/x/m'])).toEqual(['m', 'm #2', 'm #3']);
    expect(() => benchLabels([{ name: 'a', path: '/x/m' }, { name: 'a', path: '/x/n' }])).toThrow(/two models are named 'a'/);
    expect(() => benchLabels([{ name: ' ', path: '/x/m' }])).toThrow(/model 1 has an empty name/);
  });

  it('name=path names a model unless a file is called exactly that', () => {
    const dir = mkdtempSync(join(tmpdir(), 'labels-'));
    mkdirSync(join(dir, 'a=b'));
    writeFileSync(join(dir, 'a=b', 'x'), '');
    expect(parseBenchInput('pruned=out/p.tfjsc')).toEqual({ name: 'pruned', path: 'out/p.tfjsc' });
    expect(parseBenchInput('small=zoo:mlp')).toEqual({ name: 'small', path: 'zoo:mlp' });
    expect(parseBenchInput(join(dir, 'a=b'))).toBe(join(dir, 'a=b'));
    expect(parseBenchInput('zoo:mlp')).toBe('zoo:mlp');
    expect(parseBenchInput('out/x=y')).toBe('out/x=y');
  });
});
