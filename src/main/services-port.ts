// What the main process needs from the services (run queue, settings, export, weights), as one interface:
// IPC handlers depend on this, index.ts adapts the real services to it, tests pass fakes.

import type {
  AppInfo,
  ExportImageRequest,
  ExportVideoRequest,
  FetchWeightsRequest,
  EstimateMemoryRequest,
  FfmpegStatus,
  ImportWeightsRequest,
  MemoryEstimateInfo,
  Result,
  RunRef,
  StartRunRequest,
  UpdateRunSettingsRequest,
  VideoExportInfo,
  WeightsInfo,
} from '../shared/ipc.js';
import type { BatchItemRef, BatchOutput, BatchStatus, StartBatchRequest } from '../shared/batch-api.js';
import type { InterruptedRun } from '../shared/resume-api.js';
import type { StudioSettings, VideoSettings } from '../shared/studio-settings.js';

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
  estimateMemory(request: EstimateMemoryRequest): Promise<Result<MemoryEstimateInfo>>;
  getWeightsStatus(): Promise<Result<WeightsInfo>>;
  fetchWeights(request: FetchWeightsRequest): Promise<Result<WeightsInfo>>;
  cancelWeightsFetch(): Promise<Result<null>>;
  importWeights(request: ImportWeightsRequest): Promise<Result<WeightsInfo>>;
  removeWeights(): Promise<Result<WeightsInfo>>;
  /** Whether the run spooled frames (checked before asking where to save). */
  hasVideoFrames(ref: RunRef): Promise<boolean>;
  /** Writes the run's timelapse to `savePath` (a path the save dialog returned). */
  exportVideo(request: ExportVideoRequest, savePath: string): Promise<Result<VideoExportInfo>>;
  cancelVideoExport(ref: RunRef): Promise<Result<null>>;
  getFfmpegStatus(): Promise<Result<FfmpegStatus>>;
  getVideoSettings(): Promise<Result<VideoSettings>>;
  saveVideoSettings(settings: VideoSettings): Promise<Result<null>>;
  startBatch(request: StartBatchRequest): Promise<Result<BatchStatus>>;
  pauseBatch(): Promise<Result<BatchStatus>>;
  resumeBatch(): Promise<Result<BatchStatus>>;
  clearBatch(): Promise<Result<BatchStatus>>;
  getBatchStatus(): Promise<Result<BatchStatus>>;
  getBatchOutput(ref: BatchItemRef): Promise<Result<BatchOutput>>;
  listInterruptedRuns(): Promise<Result<InterruptedRun[]>>;
  resumeInterruptedRun(ref: RunRef): Promise<Result<RunRef>>;
  discardInterruptedRun(ref: RunRef): Promise<Result<null>>;
}
