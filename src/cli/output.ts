// How the CLI speaks: one-line errors with exit codes by error kind, notes, JSON lines, a progress bar on a TTY.
// Every line goes through here, escaped: file names, paths and library messages are untrusted text.

import cliProgress from 'cli-progress';
import { isNstError, type NstErrorCode } from '../engine/index.js';
import { printable } from '../shared/printable.js';
import { StoppedBySignal } from './stop-signals.js';

/** Exit codes by error kind, so scripts can tell a bad argument from a bad file from a runtime failure. */
export const EXIT_CODES: Readonly<Record<NstErrorCode | 'INTERNAL', number>> = {
  BAD_ARGUMENT: 2,
  UNKNOWN_LAYER: 2,
  FILE_NOT_FOUND: 3,
  NOT_AN_IMAGE: 3,
  IMAGE_TOO_LARGE: 3,
  BAD_CHECKPOINT: 3,
  IMAGE_TOO_SMALL: 3,
  BAD_WEIGHTS: 4,
  WEIGHTS_MISSING_LAYER: 4,
  WEIGHTS_NOT_FOUND: 4,
  CHECKSUM_MISMATCH: 4,
  DOWNLOAD_FAILED: 6,
  DEVICE_UNAVAILABLE: 5,
  RUNTIME_FAILURE: 5,
  FFMPEG_NOT_FOUND: 7,
  BATCH_ITEMS_FAILED: 8,
  RUN_IN_USE: 10,
  ABORTED: 130,
  // The file system refused: full, read-only, not permitted, a file where a folder must be (or the reverse)….
  DISK_FULL: 9,
  READ_ONLY: 9,
  PERMISSION_DENIED: 9,
  NOT_A_FOLDER: 9,
  IS_A_FOLDER: 9,
  ALREADY_EXISTS: 9,
  NAME_TOO_LONG: 9,
  TOO_MANY_OPEN_FILES: 9,
  FILE_SYSTEM_ERROR: 9,
  INTERNAL: 1,
};

export function exitCodeFor(error: unknown): number {
  // Stopped by a signal: 128 + its number (130, 143, 129), as the shell would say had the signal ended nst.
  if (error instanceof StoppedBySignal) return error.exitCode;
  return isNstError(error) ? EXIT_CODES[error.code] : EXIT_CODES.INTERNAL;
}

/** One clear line on stderr; the stack only with --debug. */
export function reportError(error: unknown, debug: boolean): void {
  const message = error instanceof Error ? error.message : String(error);
  say(`${isNstError(error) ? '' : 'internal error: '}${message}`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack.split('\n').map(printable).join('\n')}\n`);
}

/**
 * One `nst: ` line on stderr (a note, a warning, what was written). Control characters in it (a file name's
 * escape sequences or newlines) are shown as \uXXXX escapes, so no name can clear or retitle the terminal, or
 * make one message two lines.
 */
export function say(line: string): void {
  process.stderr.write(`nst: ${printable(line)}\n`);
}

/** Text for stdout (a table, a path), escaped line by line as say() does; its own line breaks are kept. */
export function writeText(text: string): void {
  process.stdout.write(text.split('\n').map(printable).join('\n'));
}

/** JSON escapes C0 controls itself; DEL, C1 and bidirectional controls are escaped too (it stays valid JSON). */
export function writeJsonLine(value: unknown): void {
  process.stdout.write(`${printable(JSON.stringify(value))}\n`);
}

export interface Progress {
  update(iteration: number, loss: number, msPerIteration: number): void;
  stop(): void;
}

/** A bar on stderr when it is a terminal and JSON is not asked for; otherwise nothing. */
export function createProgress(total: number, enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: '{bar} {value}/{total} | loss {loss} | {speed} s/it | ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { loss: '-', speed: '-' });
  return {
    update: (iteration, loss, ms) => bar.update(iteration, { loss: loss.toExponential(3), speed: (ms / 1000).toFixed(2) }),
    stop: () => bar.stop(),
  };
}
