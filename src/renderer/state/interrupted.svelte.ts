// Runs an earlier session left unfinished (the app crashed, was killed or lost power): offered once at start-up.

import type { ErrorInfo, InterruptedRun, StudioApi } from '../../shared/api.js';
import type { PhotoLoader, RunState } from './run.svelte.js';

export class InterruptedRunsState {
  runs = $state.raw<InterruptedRun[]>([]);
  error = $state<ErrorInfo | null>(null);
  /** The run whose resume or discard is being answered. */
  busy = $state<string | null>(null);

  constructor(private readonly api: StudioApi) {}

  async load(): Promise<void> {
    const result = await this.api.listInterruptedRuns();
    if (result.ok) this.runs = result.value;
    else this.error = result.error;
  }

  /** Continues it as the current run (it leaves the offer); refused while another run is active. */
  async resume(interrupted: InterruptedRun, run: RunState, loadPhoto?: PhotoLoader): Promise<void> {
    if (run.active || this.busy) return;
    this.busy = interrupted.runId;
    try {
      await run.resumeInterrupted(interrupted, loadPhoto);
      this.runs = this.runs.filter((r) => r.runId !== interrupted.runId);
    } finally {
      this.busy = null;
    }
  }

  async discard(runId: string): Promise<void> {
    if (this.busy) return;
    this.busy = runId;
    try {
      const result = await this.api.discardInterruptedRun({ runId });
      if (result.ok) this.runs = this.runs.filter((r) => r.runId !== runId);
      else this.error = result.error;
    } finally {
      this.busy = null;
    }
  }
}
