import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress } from '../../src/bench/progress.js';
import { fitBarLine, formatEta, ProgressBar, terminalColumns } from '../../src/train/progress.js';

/** A fake terminal `columns` wide that records what is drawn on it. */
function terminal(columns: number): { stream: NodeJS.WriteStream; lines: () => string[] } {
  let text = '';
  const w = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  Object.assign(w, { isTTY: true, columns });
  return {
    stream: w as unknown as NodeJS.WriteStream,
    // Every redraw starts at column 0 (an escape sequence) and is followed by clear-right: split on the escapes.
    // eslint-disable-next-line no-control-regex
    lines: () => text.split(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]|\r|\n/).filter((s) => s.includes('[') && s.includes(']')),
  };
}

const STATS = 'loss 0.1234  accuracy 0.9876  kd_loss 0.0123  ce_loss 0.4567  lr 0.0010';

describe('progress lines fit the terminal', () => {
  it('fitBarLine: the bar shrinks from 40 to 10 cells, then the flexible text is cut; the tail always stays', () => {
    const after = (f: string) => ` 5/10${f ? ` | ${f}` : ''} | 3000 samples/s | ETA 4s`;
    const wide = fitBarLine({ before: 'train epoch 1/3 ', fraction: 0.5, flex: STATS, after, columns: 200 });
    expect(wide).toBe(`train epoch 1/3 [${'\u2588'.repeat(20)}${'\u2591'.repeat(20)}]${after(STATS)}`);
    for (const columns of [150, 120, 100, 80, 60]) {
      const line = fitBarLine({ before: 'train epoch 1/3 ', fraction: 0.5, flex: STATS, after, columns });
      expect(line.length, `${columns} columns`).toBeLessThanOrEqual(columns - 1);
      expect(line).toMatch(/\| 3000 samples\/s \| ETA 4s$/);
      const bar = /\[([^\]]*)\]/.exec(line)![1]!;
      // Bar = what is left after the fixed text and the stats, between 10 and 40 cells; half filled.
      const full = 'train epoch 1/3 '.length + 2 + after(STATS).length;
      expect(bar.length).toBe(Math.max(10, Math.min(40, columns - 1 - full)));
      expect(bar.split('\u2588').length - 1).toBe(bar.length / 2);
      // Stats shown whole, cut with an ellipsis to fill the line exactly, or left out.
      if (line.includes(STATS)) expect(columns - 1).toBeGreaterThanOrEqual(full + 10);
      else if (line.includes('…')) expect(line.length).toBe(columns - 1);
      else expect(line).toMatch(/\] 5\/10 \| 3000 samples/);
    }
    // Narrower than the fixed parts: cut hard, never wider than the terminal.
    expect(fitBarLine({ before: 'train epoch 1/3 ', fraction: 1, flex: STATS, after, columns: 30 }).length).toBe(29);
  });

  it('terminalColumns: the stream, else stdout, else 80', () => {
    expect(terminalColumns({ columns: 133 })).toBe(133);
    expect(terminalColumns({})).toBe(process.stdout.columns || 80);
  });

  it('formatEta', () => {
    expect([formatEta(0), formatEta(42), formatEta(185), formatEta(3720), formatEta(Number('INF'))]).toEqual(['0s', '42s', '3m05s', '1h02m', '-']);
  });

  it.each([200, 120, 80, 60, 40])('training bar at %i columns: every drawn line fits (and keeps the ETA from 60 up)', (columns) => {
    const t = terminal(columns);
    const bar = new ProgressBar('distill', 32, t.stream);
    const ctx = { epochs: 3, stepsPerEpoch: 4 } as never;
    bar.onEpochBegin(0, ctx);
    for (let s = 0; s < 4; s++) bar.onBatchEnd(s, { loss: 0.1234, accuracy: 0.9876, kd_loss: 0.0123, ce_loss: 0.4567, lr: 0.001, size: 32 });
    bar.onEpochEnd(0, { loss: 0.1 }, ctx);
    const drawn = t.lines().filter((l) => l.startsWith('distill epoch 1/3 ['));
    expect(drawn.length).toBeGreaterThan(0);
    for (const l of drawn) {
      expect(l.length).toBeLessThanOrEqual(columns - 1);
      if (columns >= 60) expect(l).toMatch(/samples\/s \| ETA \S+$/);
    }
    expect(drawn.at(-1)).toMatch(/ 4\/4 \| /);
    if (columns >= 200) expect(drawn.at(-1)).toContain('ce_loss 0.4567');
  });

  it.each([200, 80, 40])('bench bar at %i columns fits', (columns) => {
    const t = terminal(columns);
    const p = createProgress(true, t.stream);
    p.start(10, 'opening');
    p.label('a/rather/long/model/label/that/goes/on.tfjsc tfjs-wasm b32');
    p.tick(5);
    p.stop();
    const drawn = t.lines().filter((l) => l.startsWith('bench ['));
    expect(drawn.length).toBeGreaterThan(0);
    for (const l of drawn) expect(l.length).toBeLessThanOrEqual(columns - 1);
    expect(drawn.at(-1)).toMatch(/ 5\/10 /);
    if (columns >= 200) expect(drawn.at(-1)).toContain('on.tfjsc tfjs-wasm b32');
  });

  it('no bar on a stream that is not a TTY', () => {
    const t = terminal(80);
    Object.assign(t.stream, { isTTY: false });
    const p = createProgress(true, t.stream);
    p.start(3, 'x');
    p.tick();
    p.stop();
    expect(t.lines()).toEqual([]);
  });
});
