// What a screen reader hears about the run: whole sentences when its state changes (started, paused, resumed,
// converged, finished, stopped, failed), and progress at a human rate: a new tenth done, at most every 10 seconds.
// Plain TypeScript over snapshots of RunState, so the rules are tested without a page.

import type { RunStatus } from './run.svelte.js';

/** What the sentences are made of, read from RunState. */
export interface RunSnapshot {
  status: RunStatus;
  iteration: number;
  iterations: number;
  width: number;
  height: number;
  /** The device's name as the window shows it ("CPU"), once the run has one. */
  device: string | null;
  queuePosition: number;
}

/** The least time between two progress sentences; a state change is said at once. */
export const PROGRESS_GAP_MS = 10_000;

export class RunAnnouncements {
  private last: RunSnapshot | null = null;
  /** The tenths of the run said so far (0 at its start). */
  private tenthSaid = 0;
  private spokenAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly gapMs = PROGRESS_GAP_MS) {}

  /** The sentence this snapshot calls for, or null; `now` in milliseconds (performance.now()). */
  next(snapshot: RunSnapshot, now: number): string | null {
    const previous = this.last;
    this.last = snapshot;
    // The window's first look (or a page reload) says nothing: nothing happened.
    if (previous === null) return null;
    const sentence = previous.status !== snapshot.status ? this.changed(previous, snapshot) : this.progress(snapshot, now);
    if (sentence !== null) this.spokenAt = now;
    return sentence;
  }

  private changed(previous: RunSnapshot, s: RunSnapshot): string | null {
    const at = `iteration ${s.iteration} of ${s.iterations}`;
    switch (s.status) {
      case 'queued':
        return `Queued${s.queuePosition > 0 ? ` as number ${s.queuePosition}` : ''}: waiting for the run before it to finish.`;
      case 'running':
        this.tenthSaid = this.tenth(s);
        if (previous.status === 'paused') return `Resumed at ${at}.`;
        if (previous.status === 'converged') return `Keeping going from ${at}.`;
        return `Run started: ${s.iterations} iterations${s.width > 0 ? ` at ${s.width} × ${s.height} pixels` : ''}${s.device ? ` on the ${s.device}` : ''}.`;
      case 'paused':
        return `Paused at ${at}.`;
      case 'converged':
        return `Converged at iteration ${s.iteration}: the picture has stopped changing. Keep going runs on to ${s.iterations}.`;
      case 'done':
        // A past run shown from the history is not news.
        return previous.status === 'idle' || previous.status === 'done' || previous.status === 'stopped' ? null : `Finished after ${s.iteration} iterations.`;
      case 'stopped':
        return previous.status === 'idle' || previous.status === 'done' || previous.status === 'stopped' ? null : `Stopped at ${at}; the image so far is kept.`;
      case 'error':
        return 'The run failed; the message is above the preview.';
      default:
        // starting, stopping, idle: the next state follows at once and says what happened.
        return null;
    }
  }

  private progress(s: RunSnapshot, now: number): string | null {
    if (s.status !== 'running' || s.iterations <= 0) return null;
    const tenth = this.tenth(s);
    if (tenth <= this.tenthSaid || tenth >= 10 || now - this.spokenAt < this.gapMs) return null;
    this.tenthSaid = tenth;
    return `${tenth * 10}% done: iteration ${s.iteration} of ${s.iterations}.`;
  }

  private tenth(s: RunSnapshot): number {
    return s.iterations > 0 ? Math.floor((10 * Math.min(s.iteration, s.iterations)) / s.iterations) : 0;
  }
}
