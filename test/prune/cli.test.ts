import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { registerPruneCommand, registerSensitivityCommand } from '../../src/cli/commands/prune.js';
import { loadLayersModelFromFiles } from '../../src/model/io.js';
import { zeros } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'prune-cli-'));
let log: string[] = [];

beforeAll(async () => {
  await setBackend('wasm');
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void log.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterAll(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

function program(): Command {
  const p = new Command('tfjs-compress').exitOverride();
  registerPruneCommand(p);
  registerSensitivityCommand(p);
  return p;
}

describe('prune / sensitivity CLI', () => {
  it('prune writes a loadable model at the requested sparsity, a report and the size table', async () => {
    log = [];
    const out = join(dir, 'pruned');
    await program().parseAsync(['node', 'x', 'prune', '--model', 'zoo:tfmot-cnn', '--limit', '256', '--test-limit', '100', '--epochs', '1', '--batch-size', '32', '--sparsity', '0.75', '--schedule', 'polynomial', '--out', out]);
    const m = await loadLayersModelFromFiles(out);
    const k = m.getLayer('logits').getWeights()[0]!;
    expect(zeros(k.dataSync())).toBe(k.size - Math.round(k.size * 0.25));
    const report = JSON.parse(readFileSync(join(out, 'prune-report.json'), 'utf8'));
    expect(report.sizeAfter.gzipBytes).toBeLessThan(report.sizeBefore.gzipBytes);
    expect(log.join('\n')).toMatch(/model\s+params\s+sparsity\s+accuracy\s+bytes\s+gzip bytes/);
    tf.dispose(k);
  });

  it('structured prune saves a smaller model; config errors name the file and field', async () => {
    const out = join(dir, 'small');
    await program().parseAsync(['node', 'x', 'prune', '--model', 'zoo:resnet-mini', '--structured', '--ratio', '0.5', '--importance', 'bn', '--epochs', '0', '--test-limit', '50', '--out', out]);
    const m = await loadLayersModelFromFiles(out);
    expect(m.getLayer('stem_conv').getWeights()[0]!.shape).toEqual([3, 3, 1, 8]);
    const cfg = join(dir, 'bad.json');
    writeFileSync(cfg, JSON.stringify([{ opTypes: ['Dense'], sparsity: 2 }]));
    await expect(program().parseAsync(['node', 'x', 'prune', '--model', 'zoo:mlp', '--config', cfg, '--epochs', '0', '--test-limit', '10', '--out', join(dir, 'x')])).rejects.toThrow(
      new RegExp(`${cfg.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\[0\\]\\.sparsity: sparsity must be < 1`),
    );
  });

  it('sensitivity prints the table and writes JSON with a derived config list', async () => {
    log = [];
    const out = join(dir, 'sens.json');
    await program().parseAsync(['node', 'x', 'sensitivity', '--model', 'zoo:tfmot-cnn', '--limit', '50', '--sparsities', '0.5,0.9', '--target', '0.5', '--out', out]);
    const json = JSON.parse(readFileSync(out, 'utf8'));
    expect(json.rows).toHaveLength(4);
    expect(json.configList.length).toBeGreaterThan(0);
    expect(log.join('\n')).toMatch(/layer\s+params\s+50%\s+90%/);
  });
});
