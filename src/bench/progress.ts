import cliProgress from 'cli-progress';

/** A progress sink; the no-op one is used when progress is off. */
export interface Progress {
  start(total: number, label: string): void;
  label(text: string): void;
  tick(n?: number): void;
  stop(): void;
}

const silent: Progress = { start() {}, label() {}, tick() {}, stop() {} };

/**
 * A cli-progress bar on stderr, or a silent sink when `enabled` is false or stderr is not a
 * TTY (logs and CI output stay clean).
 */
export function createProgress(enabled = true): Progress {
  if (!enabled || !process.stderr.isTTY) return silent;
  const bar = new cliProgress.SingleBar(
    { format: 'bench [{bar}] {value}/{total} {task}', stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
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
