// What the main process needs from the services (run queue, settings, export, weights), as one interface:
// IPC handlers depend on this, index.ts adapts the real services to it, tests pass fakes.

import type { AppInfo, ExportImageRequest, Result, RunRef, StartRunRequest, UpdateRunSettingsRequest } from '../shared/ipc.js';
import type { StudioSettings } from '../shared/studio-settings.js';

export interface StudioServices {
  startRun(request: StartRunRequest): Promise<Result<RunRef>>;
  pauseRun(ref: RunRef): Promise<Result<null>>;
  resumeRun(ref: RunRef): Promise<Result<null>>;
  stopRun(ref: RunRef): Promise<Result<null>>;
  updateRunSettings(request: UpdateRunSettingsRequest): Promise<Result<null>>;
  /** The run's image encoded as requested; where it goes is the caller's business. */
  renderExport(request: ExportImageRequest): Promise<Result<Uint8Array>>;
  getSettings(): Promise<Result<StudioSettings>>;
  saveSettings(settings: StudioSettings): Promise<Result<null>>;
  getAppInfo(): Promise<Result<AppInfo>>;
}
