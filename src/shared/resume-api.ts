// Interrupted runs' part of the IPC contract: runs checkpoint into the app data folder, and after a crash, a kill
// or a power loss the studio lists them and offers to resume one. ipc.ts merges RESUME_CHANNELS into CHANNELS and
// StudioApi extends ResumeApi; src/main/services/run-service.ts implements every method.

import type { Result, RunRef } from './ipc.js';
import type { StudioSettings } from './studio-settings.js';

export const RESUME_CHANNELS = {
  listInterruptedRuns: 'runs:interrupted',
  resumeInterruptedRun: 'runs:resume-interrupted',
  discardInterruptedRun: 'runs:discard-interrupted',
} as const;

/** A run that stopped without finishing (the app or its worker died) and left a checkpoint. */
export interface InterruptedRun {
  runId: string;
  contentName: string;
  styleNames: string[];
  /** The run's settings as its checkpoint recorded them (mid-run changes included). */
  settings: StudioSettings;
  sizePx: number;
  /** Iterations done when the checkpoint was taken, of `totalIterations` (across scales and tiles). */
  iteration: number;
  totalIterations: number;
  /** When the checkpoint was written (ISO 8601). */
  savedAt: string;
}

export interface ResumeApi {
  /** Interrupted runs, newest first (runs of this session still queued or running are not among them). */
  listInterruptedRuns(): Promise<Result<InterruptedRun[]>>;
  /**
   * Queues the run again under its own id, continuing from its checkpoint with its settings and images; its events
   * follow as for startRun (iterations continue from the checkpoint's). A run that recorded a timelapse goes on
   * recording into the same frames, from its checkpoint's iteration.
   */
  resumeInterruptedRun(ref: RunRef): Promise<Result<RunRef>>;
  /** Deletes the run's checkpoint. */
  discardInterruptedRun(ref: RunRef): Promise<Result<null>>;
}
