import cliProgress from 'cli-progress';
import { fitBarLine, terminalColumns } from '../train/progress.js';

/** A progress sink; the no-op one is used when progress is off. */
export interface Progress {
  start(total: number, label: string): void;
  label(text: string): void;
  tick(n?: number): void;
  stop(): void;
}

const silent: Progress = { start() {}, label() {}, tick() {}, stop() {} };

/**
 * A cli-progress bar on `stream` (default stderr) fitted to the terminal's width (the task label
 * gives way first), or a silent sink when `enabled` is false or the stream is not a TTY (logs
 * and CI output stay clean).
 */
export function createProgress(enabled = true, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!enabled || !stream.isTTY) return silent;
  const format = (_o: unknown, params: { progress: number; value: number; total: number }, payload: { task?: string }) =>
    fitBarLine({
      before: 'bench ',
      fraction: params.progress,
      flex: payload.task ?? '',
      after: (task) => ` ${params.value}/${params.total}${task ? ` ${task}` : ''}`,
      columns: terminalColumns(stream),
    });
  const bar = new cliProgress.SingleBar({ format, stream, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    start(total, label) {
      bar.start(total, 0, { task: label });
      started = true;
    },
    label(text) {
      if (started) bar.update({ task: text });
    },
    tick(n = 1) {
      if (started) bar.increment(n);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
