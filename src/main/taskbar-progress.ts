// Turns run events into the taskbar/dock progress bar: fraction of iterations done, paused, cleared at the end.

import type { RunEvent } from '../shared/api.js';

export interface ProgressBarUpdate {
  /** 0..1; -1 removes the bar. */
  value: number;
  mode: 'none' | 'normal' | 'indeterminate' | 'error' | 'paused';
}

/** Remembers each run's planned iterations (known when it was started) and the last fraction shown. */
export class TaskbarProgress {
  readonly #planned = new Map<string, number>();
  #last = 0;

  /** Called when a run is accepted: how many iterations it is going to take. */
  plan(runId: string, iterations: number): void {
    this.#planned.set(runId, iterations);
  }

  /** The bar for this event, or null when it does not change the bar. */
  update(event: RunEvent): ProgressBarUpdate | null {
    switch (event.type) {
      case 'queued':
      case 'rebuilt':
      case 'notice':
      case 'masksRefused':
        return null;
      case 'plan':
        // Multi-scale, tiled and retried runs take more iterations than the settings say.
        this.#planned.set(event.runId, event.iterations);
        return null;
      case 'started':
        this.#last = 0;
        return { value: 0, mode: 'indeterminate' };
      case 'progress': {
        const planned = this.#planned.get(event.runId);
        if (!planned || planned <= 0) return { value: 0, mode: 'indeterminate' };
        // event.iterations is the run's total; the iteration done is the loss point's.
        this.#last = Math.min(1, Math.max(0, event.loss.iteration / planned));
        return { value: this.#last, mode: 'normal' };
      }
      case 'paused':
        return { value: this.#last, mode: 'paused' };
      case 'resumed':
        return { value: this.#last, mode: 'normal' };
      case 'converged':
        // Waiting at convergence: done unless the user keeps going (then progress resumes against the same plan).
        return { value: -1, mode: 'none' };
      case 'done':
      case 'error':
        this.#planned.delete(event.runId);
        this.#last = 0;
        return { value: -1, mode: 'none' };
    }
  }
}
