import cliProgress from 'cli-progress';
import type { Logs, TrainCallback, TrainContext } from './types.js';

/** Columns of the terminal a progress line goes to: the stream's, else stdout's, else 80. */
export function terminalColumns(stream?: { columns?: number }): number {
  return stream?.columns || process.stdout.columns || 80;
}

/** What {@link fitBarLine} lays out: `before[bar]after(flex)`, with `flex` cut first when room runs out. */
export interface BarLine {
  before: string;
  /** Progress 0..1. */
  fraction: number;
  /** The text after the bar, given the (possibly cut) flexible part; `''` means leave it (and its separator) out. */
  after: (flex: string) => string;
  /** The part that gives way on a narrow terminal (training stats, the bench task). */
  flex: string;
  columns: number;
  minBar?: number;
  maxBar?: number;
}

/**
 * One progress line that fits `columns` (less one, so the terminal never wraps or clips it): the
 * bar shrinks from `maxBar` (40) to `minBar` (10) cells, then the flexible text is cut with `…`
 * (or left out), then the bar shrinks to 3 cells, so the counts, rate and ETA stay visible.
 *
 * @example
 * fitBarLine({ before: 'epoch 1/3 ', fraction: 0.5, flex: 'loss 0.1', after: (f) => ` 5/10 | ${f} | ETA 3s`, columns: 60 });
 */
export function fitBarLine(l: BarLine): string {
  const avail = Math.max(1, l.columns - 1);
  const minBar = l.minBar ?? 10;
  const fixed = (flex: string) => l.before.length + 2 + l.after(flex).length;
  let flex = l.flex;
  let bar = Math.max(minBar, Math.min(l.maxBar ?? 40, avail - fixed(flex)));
  if (fixed(flex) + bar > avail) {
    // Room for the flexible text once its separator is counted (fixed('x') has the separator and one character).
    const room = avail - bar - (fixed('x') - 1);
    flex = room >= 2 ? `${l.flex.slice(0, room - 1)}…` : '';
    if (!flex) bar = Math.max(3, Math.min(minBar, avail - fixed('')));
  }
  const done = Math.round(Math.min(1, Math.max(0, l.fraction)) * bar);
  const line = `${l.before}[${'\u2588'.repeat(done)}${'\u2591'.repeat(bar - done)}]${l.after(flex)}`;
  return line.length <= avail ? line : line.slice(0, avail);
}

/** An ETA in seconds (cli-progress also reports NaN-like strings), kept short: `42s`, `3m05s`, `1h02m`. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

function fmt(logs: Logs): string {
  return Object.entries(logs)
    .map(([k, v]) => `${k} ${Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(4)}`)
    .join('  ');
}

/**
 * Progress bar per epoch (loss, accuracy, samples/s, ETA) on a terminal, fitted to its width
 * (the stats give way first); one summary line per epoch when stderr is not a TTY (CI logs stay
 * readable).
 */
export class ProgressBar implements TrainCallback {
  private bar?: cliProgress.SingleBar;
  private started = 0;
  private samples = 0;

  constructor(
    private readonly label = 'train',
    private readonly batchSize = 128,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  onEpochBegin(epoch: number, ctx: TrainContext): void {
    this.started = performance.now();
    this.samples = 0;
    if (this.stream.isTTY) {
      const before = `${this.label} epoch ${epoch + 1}/${ctx.epochs} `;
      const stream = this.stream;
      this.bar = new cliProgress.SingleBar(
        {
          format: (_options, params, payload: { stats?: string; rate?: string }) =>
            fitBarLine({
              before,
              fraction: params.progress,
              flex: payload.stats ?? '',
              after: (stats) => ` ${params.value}/${params.total}${stats ? ` | ${stats}` : ''} | ${payload.rate ?? '-'} samples/s | ETA ${formatEta(Number(params.eta))}`,
              columns: terminalColumns(stream),
            }),
          stream: this.stream,
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(ctx.stepsPerEpoch, 0, { stats: '', rate: '-' });
    }
  }

  onBatchEnd(_step: number, logs: Logs): void {
    this.samples += logs.size ?? this.batchSize;
    if (!this.bar) return;
    const secs = (performance.now() - this.started) / 1000;
    const { size: _size, ...shown } = logs;
    this.bar.increment(1, { stats: fmt(shown), rate: (this.samples / Math.max(secs, 1e-9)).toFixed(0) });
  }

  onEpochEnd(epoch: number, logs: Logs, ctx: TrainContext): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = undefined;
    }
    this.stream.write(`${this.label} epoch ${epoch + 1}/${ctx.epochs}: ${fmt(logs)}\n`);
  }

  onTrainEnd(): void {
    this.bar?.stop();
  }
}
