import { existsSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { beginBenchmark, summary, writeResult } from '../../bench/common.js';

const name = `zz-summary-filing-${process.pid}`;
let path = '';
afterAll(() => {
  if (path && existsSync(path)) rmSync(path);
});

describe('bench summary lines', () => {
  it('are filed under the result the benchmark wrote, not the previous benchmark', () => {
    path = writeResult(name, { rows: [] });
    summary('B0 first: filed with its own result');
    beginBenchmark();
    // A benchmark that prints its lines before writing its own result (as train-throughput does).
    summary('B0 second: printed before its own writeResult');
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { summary: string[] };
    expect(saved.summary).toEqual(['B0 first: filed with its own result']);
  });
});
