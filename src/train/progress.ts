import cliProgress from 'cli-progress';
import type { Logs, TrainCallback, TrainContext } from './types.js';

function fmt(logs: Logs): string {
  return Object.entries(logs)
    .map(([k, v]) => `${k} ${Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(4)}`)
    .join('  ');
}

/**
 * Progress bar per epoch (loss, accuracy, samples/s, ETA) on a terminal; one summary line per
 * epoch when stderr is not a TTY (CI logs stay readable).
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
      this.bar = new cliProgress.SingleBar(
        {
          format: `${this.label} epoch ${epoch + 1}/${ctx.epochs} [{bar}] {value}/{total} | {stats} | {rate} samples/s | ETA {eta_formatted}`,
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
