import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerPruneCommand, registerSensitivityCommand } from '../../src/cli/commands/prune.js';
import { loadMnist } from '../../src/data/mnist.js';
import { graphSensitivity, levelPruneGraph } from '../../src/prune/index.js';
import { useBackend } from '../helpers/backend.js';
import { FIXTURES, readGraphFolder, stockLoad } from '../serialize/graph-files.js';
import { runCommands } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tfjsc-pgraph-'));
const MNIST = join(FIXTURES, 'keras3-export-mnist-graph');
const SEG = join(FIXTURES, 'tfjs-mobilenet-segmentation-graph');

/** Run CLI commands in-process and return what they printed. */
const run = (...args: string[]) => runCommands((p) => { registerPruneCommand(p); registerSensitivityCommand(p); }, args);

type Node = { name: string; op: string; input?: string[] };

/** Per weight: name -> values (float32) or raw words, read from a folder with plain fs. */
function weightsOf(a: tf.io.ModelArtifacts): Map<string, { dtype: string; words: Uint32Array }> {
  const data = a.weightData as ArrayBuffer;
  const out = new Map<string, { dtype: string; words: Uint32Array }>();
  let off = 0;
  for (const s of a.weightSpecs!) {
    const n = s.shape.reduce((p, q) => p * q, 1);
    out.set(s.name, { dtype: s.dtype, words: new Uint32Array(data.slice(off, off + 4 * n)) });
    off += 4 * n;
  }
  return out;
}

/** The weights that should be pruned, found here from the GraphDef: input 1 of conv / matmul ops (through Identity). */
function kernelNames(a: tf.io.ModelArtifacts): Set<string> {
  const nodes = (a.modelTopology as { node: Node[] }).node;
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const ops = ['Conv2D', '_FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative', 'MatMul', '_FusedMatMul'];
  const out = new Set<string>();
  for (const n of nodes) {
    if (!ops.includes(n.op)) continue;
    let src = byName.get(n.input![1]!.replace(/:\d+$/, ''))!;
    while (src.op === 'Identity') src = byName.get(src.input![0]!.replace(/:\d+$/, ''))!;
    if (src.op === 'Const') out.add(src.name);
  }
  return out;
}

const zeroFraction = (w: Uint32Array) => w.reduce((a, x) => a + (x === 0 ? 1 : 0), 0) / w.length;

beforeAll(async () => {
  await useBackend();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('one-shot magnitude pruning of graph models', () => {
  it('MNIST graph at 50%: exactly the kernels are 50% sparse, everything else bit-identical; stock tfjs loads it; accuracy measured', async () => {
    const out = join(dir, 'mnist-50');
    const log = await run('prune', '--model', MNIST, '--sparsity', '0.5', '--data', 'mnist', '--test-limit', '2000', '--out', out);
    expect(log).toMatch(/one-shot, no fine-tuning/);
    const before = readGraphFolder(join(MNIST, 'model.json'));
    const after = readGraphFolder(join(out, 'model.json'));
    const kernels = kernelNames(before);
    expect(kernels.size).toBe(3);
    const [w0, w1] = [weightsOf(before), weightsOf(after)];
    for (const [name, { dtype, words }] of w0) {
      const got = w1.get(name)!;
      if (!kernels.has(name)) {
        expect(got.words).toEqual(words); // biases, shape constants: untouched
        continue;
      }
      expect(dtype).toBe('float32');
      expect(zeroFraction(got.words)).toBe(0.5);
      // Every kept value is the original; every pruned one is no larger in magnitude than any kept one.
      const orig = new Float32Array(words.buffer);
      const now = new Float32Array(got.words.buffer);
      let maxPruned = 0;
      let minKept = Infinity;
      for (let i = 0; i < orig.length; i++) {
        if (got.words[i] === 0) maxPruned = Math.max(maxPruned, Math.abs(orig[i]!));
        else {
          expect(now[i]).toBe(orig[i]);
          minKept = Math.min(minKept, Math.abs(orig[i]!));
        }
      }
      expect(maxPruned).toBeLessThanOrEqual(minKept);
    }
    // Accuracy with the stock loader, computed here (keras3 graph takes x/255, as loaded).
    const test = loadMnist({ split: 'test', limit: 2000 });
    const xs = tf.tensor(test.x, [test.size, 28, 28, 1]);
    const acc = async (a: tf.io.ModelArtifacts) => {
      const m = await stockLoad(a);
      const pred = tf.tidy(() => (m.execute(xs) as tf.Tensor).argMax(1).dataSync());
      m.dispose();
      return Array.from(pred).reduce((s, p, i) => s + (p === test.labels![i] ? 1 : 0), 0) / test.size;
    };
    const [accBefore, accAfter] = [await acc(before), await acc(after)];
    xs.dispose();
    const report = JSON.parse(readFileSync(join(out, 'prune-report.json'), 'utf8'));
    expect(report.accuracyBefore).toBeCloseTo(accBefore, 10);
    expect(report.accuracyAfter).toBeCloseTo(accAfter, 10);
    console.log(`keras3 mnist graph, one-shot 50%: accuracy ${(accBefore * 100).toFixed(2)}% -> ${(accAfter * 100).toFixed(2)}% (${test.size} samples)`);
    expect(accAfter).toBeGreaterThan(accBefore - 0.03);
  }, 60_000);

  it('depthwise + fused forms (segmentation graph): only kernels pruned; config list by node name and type; N:M', () => {
    const a = readGraphFolder(join(SEG, 'model.json'));
    const numTensors = tf.memory().numTensors;
    const r = levelPruneGraph(a, { sparsity: 0.3 });
    expect(tf.memory().numTensors).toBe(numTensors);
    const kernels = kernelNames(a);
    expect(new Set(r.tensors.map((t) => t.name))).toEqual(kernels);
    expect(new Set(r.tensors.map((t) => t.op))).toEqual(new Set(['_FusedConv2D', 'FusedDepthwiseConv2dNative', 'DepthwiseConv2dNative']));
    const w1 = weightsOf(r.artifacts);
    for (const [name, { words }] of weightsOf(a)) {
      if (!kernels.has(name)) expect(w1.get(name)!.words).toEqual(words);
      else expect(Math.abs(zeroFraction(w1.get(name)!.words) - 0.3)).toBeLessThan(0.5 / words.length + 1e-9);
    }
    const one = r.tensors.find((t) => t.op === '_FusedConv2D')!;
    const byName = levelPruneGraph(a, { configList: [{ opNames: [one.node], sparsity: 0.9 }] });
    expect(byName.tensors.map((t) => t.node)).toEqual([one.node]);
    const byType = levelPruneGraph(a, { configList: [{ opTypes: ['FusedDepthwiseConv2dNative'], sparsity: 0.5 }, { opNamesRe: '.*expanded_conv_1/', exclude: true }] });
    expect(byType.tensors.every((t) => t.op === 'FusedDepthwiseConv2dNative' && !t.node.includes('expanded_conv_1/'))).toBe(true);
    const wide = r.tensors.find((t) => t.op === '_FusedConv2D' && t.shape[2]! % 4 === 0)!;
    const nm = levelPruneGraph(a, { configList: [{ opNames: [wide.node], granularity: '2:4' }] });
    expect(nm.tensors.map((t) => [t.node, t.sparsity])).toEqual([[wide.node, 0.5]]);
    const narrow = r.tensors.find((t) => t.op === '_FusedConv2D' && t.shape[2]! % 4 !== 0)!;
    expect(() => levelPruneGraph(a, { configList: [{ opNames: [narrow.node], granularity: '2:4' }] })).toThrow(/input dimension 3 is not a multiple of m=4 for 2:4 sparsity/);
    expect(() => levelPruneGraph(a, { configList: [{ opTypes: ['BiasAdd'], sparsity: 0.5 }] })).toThrow(/configList\[0\]\.opTypes: 'BiasAdd' reads no prunable kernel; prunable graph ops: Conv2D, _FusedConv2D/);
    expect(() => levelPruneGraph(a, { configList: [{ opNames: ['nope'], sparsity: 0.5 }] })).toThrow(/configList\[0\]\.opNames: 'nope' matches no node; the graph has: /);
    expect(() => levelPruneGraph(a, { configList: [{ opTypes: ['FusedDepthwiseConv2dNative'], granularity: '2:4' }] })).toThrow(/N:M granularity is not defined for this kernel/);
  }, 30_000);

  it('sensitivity on a graph sweeps each kernel on the graph itself; bad --config fails in one line without output', async () => {
    const test = loadMnist({ split: 'test', limit: 200 });
    const a = readGraphFolder(join(MNIST, 'model.json'));
    const numTensors = tf.memory().numTensors;
    const s = await graphSensitivity(a, test, { sparsities: [0, 0.5] });
    expect(tf.memory().numTensors).toBe(numTensors);
    expect(s.rows).toHaveLength(6);
    for (const row of s.rows.filter((x) => x.sparsity === 0)) expect(row.accuracy).toBe(s.baseline.accuracy);
    const cfg = join(dir, 'bad.json');
    writeFileSync(cfg, JSON.stringify([{ opTypes: ['Dense'], sparsity: 0.5 }]));
    const out = join(dir, 'bad-out');
    await expect(run('prune', '--model', MNIST, '--config', cfg, '--out', out)).rejects.toThrow(/'Dense' reads no prunable kernel/);
    expect(existsSync(out)).toBe(false);
  }, 30_000);
});
