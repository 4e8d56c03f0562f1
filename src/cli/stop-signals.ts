// The CLI's one owner of SIGINT, SIGTERM and SIGHUP: the first asks the work in progress to stop at its next safe
// point (a run's next iteration boundary, a video's encoder), a second ends the process at once. Every file nst
// writes is replaced atomically (temp file + rename), so ending at once leaves each one old or new, never torn.

import { NstError } from '../engine/index.js';

/** What a user, `kill`, `timeout`, a service manager or a closed terminal sends to say "stop". */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * The exit code of work a signal stopped: 128 + the signal's number, as a shell reports a process that signal ended
 * (Ctrl-C 130, SIGTERM 143, SIGHUP 129), so scripts read "stopped" the way they always have.
 */
export const STOPPED_EXIT_CODES: Readonly<Record<StopSignal, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/** Work that a stop signal ended before its end; the message is the one "stopped" line (what is kept, how to go on). */
export class StoppedBySignal extends NstError {
  constructor(
    readonly signal: StopSignal,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('ABORTED', message, options);
  }

  get exitCode(): number {
    return STOPPED_EXIT_CODES[this.signal];
  }
}

type Listener = (signal: StopSignal) => void;

/** The process's stop state: one per process, as signals are. */
const state = { received: null as StopSignal | null, listeners: new Set<Listener>(), scopes: 0 };

function onSignal(signal: StopSignal): void {
  if (state.received !== null) {
    // A second signal: the user does not want to wait for the iteration (or the write) in progress.
    process.stderr.write(`nst: ${signal} again: ending now, without waiting for the work in progress\n`);
    process.exit(STOPPED_EXIT_CODES[signal]);
  }
  state.received = signal;
  // A long iteration (a large image) can take a minute: say on a terminal that the stop was heard and how to hurry it.
  if (process.stderr.isTTY) process.stderr.write(`\nnst: ${signal}: stopping at the next safe point (send it again to end at once)\n`);
  for (const listener of [...state.listeners]) listener(signal);
}

const handlers = new Map<StopSignal, () => void>(STOP_SIGNALS.map((signal) => [signal, () => onSignal(signal)]));

/** A command's hold on the stop signals: while one is open, they ask its work to stop instead of ending the process. */
export interface StopScope {
  /** The first stop signal received while a scope was open, or null. */
  readonly signal: StopSignal | null;
  /** Calls `listener` on the first stop signal, at once if it came already; returns what removes it. */
  onStop(listener: Listener): () => void;
  /** Gives the signals back (to their default, ending the process) once no scope is open. */
  close(): void;
}

/**
 * Opens a scope: from now until it closes, SIGINT, SIGTERM and SIGHUP ask to stop rather than end the process.
 * Scopes nest (a run's video export inside its run): the signal is one, and every listener hears it.
 */
export function openStopScope(): StopScope {
  if (state.scopes++ === 0) for (const [signal, handler] of handlers) process.on(signal, handler);
  const mine = new Set<Listener>();
  let open = true;
  return {
    get signal() {
      return state.received;
    },
    onStop(listener) {
      if (state.received !== null) {
        listener(state.received);
        return () => {};
      }
      state.listeners.add(listener);
      mine.add(listener);
      return () => {
        state.listeners.delete(listener);
        mine.delete(listener);
      };
    },
    close() {
      if (!open) return;
      open = false;
      for (const listener of mine) state.listeners.delete(listener);
      if (--state.scopes === 0) for (const [signal, handler] of handlers) process.off(signal, handler);
    },
  };
}
