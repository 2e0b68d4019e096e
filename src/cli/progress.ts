// src/cli/progress.ts: a progress bar for long runs. On a terminal it redraws one line (epoch,
// bar, loss, accuracy, samples/s, time left); otherwise it prints a plain line now and then.

export interface ProgressState {
  readonly epoch: number; // 1-based
  readonly numEpochs: number;
  readonly iteration: number; // within the whole run, 1-based
  readonly numIterations: number;
  readonly loss: number;
  readonly samplesPerSec: number;
  readonly accuracy?: number; // last measured train or val accuracy, in [0, 1]
  readonly detail?: string; // more numbers after the loss, e.g. a second loss
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds),
    h = Math.floor(s / 3600),
    m = Math.floor((s % 3600) / 60),
    r = s % 60;
  const mmss = `${String(m).padStart(h > 0 ? 2 : 1, '0')}:${String(r).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

export class ProgressBar {
  private lastDraw = 0;
  private lastPlain = 0;
  private started = Date.now();
  private firstIteration = 0;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly isTty = Boolean(process.stderr.isTTY),
    private readonly plainEveryMs = 10_000,
  ) {}

  /** Restarts the clock for a run that continues after `iteration` (time left counts from here). */
  startAt(iteration: number): void {
    this.started = Date.now();
    this.firstIteration = iteration;
  }

  update(s: ProgressState): void {
    const now = Date.now();
    const done = s.iteration / Math.max(1, s.numIterations);
    const ran = s.iteration - this.firstIteration,
      left = s.numIterations - s.iteration;
    const eta = ran > 0 ? ((now - this.started) / 1000) * (left / ran) : NaN;
    const acc = s.accuracy !== undefined ? `  acc ${(s.accuracy * 100).toFixed(1)}%` : '';
    const detail = s.detail !== undefined ? `  ${s.detail}` : '';
    const text = `epoch ${s.epoch}/${s.numEpochs}  loss ${s.loss.toFixed(4)}${detail}${acc}  ${Math.round(s.samplesPerSec).toLocaleString('en-US')} samples/s  ${formatDuration(eta)} left`;
    if (this.isTty) {
      if (now - this.lastDraw < 100 && s.iteration < s.numIterations) return;
      this.lastDraw = now;
      const width = 24,
        filled = Math.round(done * width);
      const bar = `[${'='.repeat(filled)}${filled < width ? '>' : ''}${' '.repeat(Math.max(0, width - filled - 1))}]`;
      this.stream.write(`\r\x1b[2K${bar} ${(done * 100).toFixed(0).padStart(3)}%  ${text}`);
      this.drawn = true;
    } else if (now - this.lastPlain >= this.plainEveryMs || s.iteration === s.numIterations) {
      this.lastPlain = now;
      this.stream.write(`  iteration ${s.iteration}/${s.numIterations}  ${text}\n`);
    }
  }

  /** Ends the bar's line so that the next message starts on a fresh one. */
  clear(): void {
    if (this.isTty && this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}
