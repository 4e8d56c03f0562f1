// The studio's services behind one object with StudioApi's methods (payloads unknown until validated), so
// Electron's IPC handlers and the browser host's WebSocket share one implementation. Every method resolves to
// a Result: nothing throws across a process or socket boundary.

import path from 'node:path';
import type {
  AppInfo,
  ExportVideoRequest,
  MemoryEstimateInfo,
  FetchWeightsRequest,
  FfmpegStatus,
  ImportWeightsRequest,
  Result,
  RunEvent,
  RunRef,
  VideoExportEvent,
  VideoExportInfo,
  WeightsEvent,
  WeightsInfo,
} from '../../shared/ipc.js';
import { validateCancelVideoExport, validateExportVideo, validateFetchWeights, validateImportWeights, validateNoPayload } from '../../shared/schemas.js';
import type { StudioSettings, VideoSettings } from '../../shared/studio-settings.js';
import type { BatchEvent, BatchOutput, BatchStatus } from '../../shared/batch-api.js';
import type { InterruptedRun } from '../../shared/resume-api.js';
import { buildAppInfo } from './app-info.js';
import { BatchService } from './batch-service.js';
import { estimateMemoryRequest } from './memory-estimate.js';
import { ExportService, type ExportedImage } from './export-service.js';
import { RunService, type WorkerLocation } from './run-service.js';
import { SettingsStore } from './settings-store.js';
import { VideoService } from './video-service.js';
import { locateWeights, type WeightsLocation } from './weights-locator.js';
import { WeightsService, type WeightsServiceOptions } from './weights-service.js';

export interface StudioBackendOptions {
  /** The app's data folder: settings file, default weights folder. */
  dataDir: string;
  worker: WorkerLocation;
  version: string;
  /** An explicit weights path (the browser host's --weights); otherwise NST_WEIGHTS, settings, app data. */
  weightsArgument?: string | null;
  env?: Readonly<Record<string, string | undefined>>;
  threads?: number;
  previewIntervalMs?: number;
  /**
   * The weights manager's data folder (converted weights, downloads), shared with the CLI; default the engine's
   * dataDir() (NST_DATA_DIR, else the per-OS folder). Other WeightsService options (mirrors, digests) for tests.
   */
  weightsService?: WeightsServiceOptions;
  /** Where runs spool their timelapse frames (run-frames/<runId>); default dataDir. */
  framesRoot?: string;
  /** How many runs keep their frame spools (newest first); default 20. */
  keepFrameSpools?: number;
  /** Where the batch queue persists (its `batch` folder); default dataDir. */
  batchRoot?: string;
  /** How often runs checkpoint into <dataDir>/runs; default 60 s. */
  checkpointEveryMs?: number;
}

export class StudioBackend {
  private constructor(
    private readonly options: StudioBackendOptions,
    /** Where the weights are now (asked afresh each time: the user may install them while the app runs). */
    readonly locateWeights: () => Promise<WeightsLocation>,
    readonly settings: SettingsStore,
    readonly runs: RunService,
    readonly exports: ExportService,
    readonly weights: WeightsService,
    readonly videos: VideoService,
    readonly batches: BatchService,
  ) {}

  static async create(options: StudioBackendOptions): Promise<StudioBackend> {
    const settings = await SettingsStore.open(options.dataDir);
    if (settings.recovery) console.warn(`[studio] ${settings.recovery}`);
    const weights = new WeightsService(options.weightsService ?? {});
    const locate = async (): Promise<WeightsLocation> => {
      const found = await locateWeights({ argument: options.weightsArgument ?? null, env: options.env ?? process.env, settingsPath: settings.weightsPath, dataDir: options.dataDir });
      if (found.path !== null) return found;
      // Then what the Model panel (or `nst weights fetch|import`) installed.
      const installed = await weights.locate();
      return installed.path === null ? found : { path: installed.path, origin: 'app-data', source: installed.path };
    };
    const framesRoot = options.framesRoot ?? options.dataDir;
    const runs = new RunService({
      worker: options.worker,
      weights: locate,
      frames: { root: framesRoot, keep: options.keepFrameSpools ?? 20 },
      // Runs checkpoint into <data>/runs (as `nst stylize` does), so a crash or a kill can be resumed.
      checkpoints: { root: options.dataDir, ...(options.checkpointEveryMs !== undefined ? { everyMs: options.checkpointEveryMs } : {}) },
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.previewIntervalMs !== undefined ? { previewIntervalMs: options.previewIntervalMs } : {}),
    });
    // The ffmpeg setting is read at each export and status check, so a change needs no restart.
    const videos = new VideoService({ root: framesRoot, ffmpegPath: () => settings.ffmpegPath });
    // The batch queue runs its items through the same run queue; an unfinished batch carries on from here.
    const batches = await BatchService.open({ runs, root: path.join(options.batchRoot ?? options.dataDir, 'batch') });
    return new StudioBackend(options, locate, settings, runs, new ExportService(runs), weights, videos, batches);
  }

  startRun(payload: unknown): Promise<Result<RunRef>> {
    return guard(() => this.runs.startRun(payload));
  }

  pauseRun(payload: unknown): Promise<Result<null>> {
    return guard(() => this.runs.pauseRun(payload));
  }

  resumeRun(payload: unknown): Promise<Result<null>> {
    return guard(() => this.runs.resumeRun(payload));
  }

  stopRun(payload: unknown): Promise<Result<null>> {
    return guard(() => this.runs.stopRun(payload));
  }

  updateRunSettings(payload: unknown): Promise<Result<null>> {
    return guard(() => this.runs.updateRunSettings(payload));
  }

  /** The encoded file; the caller saves it (Electron, via a dialog) or sends it for download (browser host). */
  exportImage(payload: unknown): Promise<Result<ExportedImage>> {
    return guard(() => this.exports.exportImage(payload));
  }

  getSettings(payload?: unknown): Promise<Result<StudioSettings>> {
    return guard(async () => {
      const none = validateNoPayload(payload);
      return none.ok ? { ok: true, value: this.settings.settings } : none;
    });
  }

  saveSettings(payload: unknown): Promise<Result<null>> {
    return guard(() => this.settings.saveSettings(payload));
  }

  getAppInfo(payload?: unknown): Promise<Result<AppInfo>> {
    return guard(async () => {
      const none = validateNoPayload(payload);
      if (!none.ok) return none;
      const weights = await this.locateWeights();
      return { ok: true, value: buildAppInfo(this.options.version, weights) };
    });
  }

  onRunEvent(listener: (event: RunEvent) => void): () => void {
    return this.runs.onRunEvent(listener);
  }

  /** The memory a run with these settings needs, the budget, and what fits (computed here; no run starts). */
  estimateMemory(payload: unknown): Promise<Result<MemoryEstimateInfo>> {
    return guard(async () => estimateMemoryRequest(payload));
  }

  // --- The Model panel ----------------------------------------------------------------------------------------

  getWeightsStatus(payload?: unknown): Promise<Result<WeightsInfo>> {
    return guard(async () => {
      const none = validateNoPayload(payload);
      return none.ok ? this.weights.status() : none;
    });
  }

  fetchWeights(payload?: unknown): Promise<Result<WeightsInfo>> {
    return guard(async () => {
      const request = validateFetchWeights(payload);
      return request.ok ? this.weights.fetch((request.value ?? {}) as FetchWeightsRequest) : request;
    });
  }

  cancelWeightsFetch(payload?: unknown): Promise<Result<null>> {
    return guard(async () => {
      const none = validateNoPayload(payload);
      if (!none.ok) return none;
      const canceled = this.weights.cancelFetch();
      return canceled.ok ? { ok: true, value: null } : canceled;
    });
  }

  importWeights(payload: unknown): Promise<Result<WeightsInfo>> {
    return guard(async () => {
      const request = validateImportWeights(payload);
      return request.ok ? this.weights.importFromFiles(request.value as ImportWeightsRequest) : request;
    });
  }

  removeWeights(payload?: unknown): Promise<Result<WeightsInfo>> {
    return guard(async () => {
      const none = validateNoPayload(payload);
      return none.ok ? this.weights.remove() : none;
    });
  }

  onWeightsEvent(listener: (event: WeightsEvent) => void): () => void {
    return this.weights.onEvent(listener);
  }

  // --- Export video ---------------------------------------------------------------------------------------------

  async hasVideoFrames(ref: RunRef): Promise<boolean> {
    return this.videos.hasFrames(ref.runId).catch(() => false);
  }

  /** Electron: writes the video where the save dialog said. */
  exportVideoTo(payload: unknown, savePath: string): Promise<Result<VideoExportInfo>> {
    return guard(async () => {
      const request = validateExportVideo(payload);
      return request.ok ? this.videos.exportVideo(request.value satisfies ExportVideoRequest, savePath) : request;
    });
  }

  /** The browser host: the video's bytes, for the page to download. */
  exportVideoBytes(payload: unknown): Promise<Result<{ info: VideoExportInfo; bytes: Uint8Array }>> {
    return guard(async () => {
      const request = validateExportVideo(payload);
      return request.ok ? this.videos.exportVideoBytes(request.value) : request;
    });
  }

  cancelVideoExport(payload: unknown): Promise<Result<null>> {
    return guard(async () => {
      const request = validateCancelVideoExport(payload);
      return request.ok ? this.videos.cancelExport(request.value) : request;
    });
  }

  getFfmpegStatus(payload?: unknown): Promise<Result<FfmpegStatus>> {
    return guard(async () => {
      const none = validateNoPayload(payload);
      return none.ok ? this.videos.ffmpegStatus() : none;
    });
  }

  onVideoEvent(listener: (event: VideoExportEvent) => void): () => void {
    return this.videos.onEvent(listener);
  }

  getVideoSettings(payload?: unknown): Promise<Result<VideoSettings>> {
    return guard(async () => {
      const none = validateNoPayload(payload);
      return none.ok ? { ok: true, value: this.settings.videoSettings } : none;
    });
  }

  saveVideoSettings(payload: unknown): Promise<Result<null>> {
    return guard(() => this.settings.saveVideoSettings(payload));
  }

  // --- The batch queue ---------------------------------------------------------------------------------------------

  startBatch(payload: unknown): Promise<Result<BatchStatus>> {
    return guard(() => this.batches.startBatch(payload));
  }

  pauseBatch(payload?: unknown): Promise<Result<BatchStatus>> {
    return guard(() => this.batches.pauseBatch(payload));
  }

  resumeBatch(payload?: unknown): Promise<Result<BatchStatus>> {
    return guard(() => this.batches.resumeBatch(payload));
  }

  clearBatch(payload?: unknown): Promise<Result<BatchStatus>> {
    return guard(() => this.batches.clearBatch(payload));
  }

  getBatchStatus(payload?: unknown): Promise<Result<BatchStatus>> {
    return guard(() => this.batches.getBatchStatus(payload));
  }

  getBatchOutput(payload: unknown): Promise<Result<BatchOutput>> {
    return guard(() => this.batches.getBatchOutput(payload));
  }

  onBatchEvent(listener: (event: BatchEvent) => void): () => void {
    return this.batches.onBatchEvent(listener);
  }

  // --- Interrupted runs ----------------------------------------------------------------------------------------

  listInterruptedRuns(payload?: unknown): Promise<Result<InterruptedRun[]>> {
    return guard(async () => {
      const none = validateNoPayload(payload);
      return none.ok ? this.runs.listInterruptedRuns() : none;
    });
  }

  resumeInterruptedRun(payload: unknown): Promise<Result<RunRef>> {
    return guard(() => this.runs.resumeInterruptedRun(payload));
  }

  discardInterruptedRun(payload: unknown): Promise<Result<null>> {
    return guard(() => this.runs.discardInterruptedRun(payload));
  }

  async dispose(): Promise<void> {
    await this.batches.dispose();
    this.videos.dispose();
    this.weights.cancelFetch();
    await this.runs.dispose();
    await this.settings.flush();
  }
}

async function guard<T>(call: () => Promise<Result<T>>): Promise<Result<T>> {
  try {
    return await call();
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, error: { code: 'INTERNAL', message: `Something went wrong in the studio: ${detail.split('\n')[0]}` } };
  }
}
