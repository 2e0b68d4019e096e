// src/cli/interrupts.ts: what Ctrl-C does during `layerwise train`.
import type { ProgressBar } from './progress.js';

/**
 * Ctrl-C from the start of training until the process exits: the first stops training after
 * the current iteration (the checkpoint is then saved); later ones are ignored, so that no file
 * is cut short and the process ends with its own exit code (the saves are synchronous: a signal
 * waits for them). The handler stays until exit: a Ctrl-C between the last write and the exit
 * would otherwise kill the process. A harder kill cannot damage the previous checkpoint either,
 * since every write is atomic.
 */
export function catchInterrupts(bar: ProgressBar): {
  readonly stopRequested: () => boolean;
  saving(): void;
} {
  let count = 0,
    phase: 'training' | 'saving' = 'training';
  process.on('SIGINT', () => {
    count++;
    bar.clear();
    const line =
      phase === 'saving'
        ? 'writing the files; exiting when they are complete'
        : count === 1
          ? 'stopping after this iteration; the checkpoint is saved before exit'
          : 'already stopping; the checkpoint is saved before exit';
    process.stderr.write(`${line}\n`);
  });
  return {
    stopRequested: () => count > 0,
    saving: () => {
      phase = 'saving';
    },
  };
}
