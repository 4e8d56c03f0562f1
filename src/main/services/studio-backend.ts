// The studio's services behind the API table (api.ts), so Electron's IPC and the browser host's WebSocket share one
// implementation: the run queue and the batch queue answer their own calls; this class answers the rest (settings,
// the app, weights, video) and composes them. Requests arrive validated (the transports' dispatch checked them);
// every call resolves to a Result. No Electron here.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { dataDir, resourceFolder, type WeightsLocation } from '../../engine/index.js';
import type {
  AppInfo,
  DevicesInfo,
  EstimateMemoryRequest,
  ExportImageRequest,
  ExportVideoRequest,
  FetchWeightsRequest,
  FfmpegStatus,
  ImportWeightsRequest,
  MemoryEstimateInfo,
  Result,
  ResultOf,
  RunRef,
  StudioServices,
  VideoExportEvent,
  VideoExportInfo,
  WeightsEvent,
  WeightsInfo,
} from '../../shared/api.js';
import { servicesFrom } from '../../shared/dispatch.js';
import { fail, ok } from '../../shared/result.js';
import type { StudioSettings, VideoSettings } from '../../shared/studio-settings.js';
import { buildAppInfo } from './app-info.js';
import { devicesInfo } from './devices-info.js';
import { BatchService } from './batch-service.js';
import { estimateMemoryRequest } from './memory-estimate.js';
import { ExportService, type ExportedImage } from './export-service.js';
import { makeDataPrivate } from './private-data.js';
import { RunService, type WorkerLocation } from './run-service.js';
import { PhotoMasksStore } from './photo-masks-store.js';
import { SettingsStore } from './settings-store.js';
import { VideoService } from './video-service.js';
import { VideoJobService } from './video-job-service.js';
import { locateUsableWeights, WeightsService, type WeightsServiceOptions } from './weights-service.js';

/** What the hosts' own answers (Electron's save dialogs, the browser host's downloads) need besides the calls. */
export interface ExportSources {
  /** The run's image encoded as requested; where it goes is the host's business. */
  renderExport(request: ExportImageRequest): Promise<Result<ExportedImage>>;
  /** Whether the run spooled frames (Electron checks before asking where to save). */
  hasVideoFrames(ref: RunRef): Promise<boolean>;
  /** Electron: writes the video where the save dialog said. */
  exportVideoTo(request: ExportVideoRequest, savePath: string): Promise<Result<VideoExportInfo>>;
  /** The browser host: the video's bytes, for the page to download. */
  exportVideoBytes(request: ExportVideoRequest): Promise<Result<{ info: VideoExportInfo; bytes: Uint8Array }>>;
  /** Electron: keeps the ffmpeg its open dialog returned (null: find one again) and says which is used now. */
  useFfmpeg(ffmpegPath: string | null): Promise<Result<FfmpegStatus>>;
}

export interface StudioBackendOptions {
  /** The app's data folder: settings file, default weights folder. */
  dataDir: string;
  worker: WorkerLocation;
  version: string;
  /** An explicit weights path (the browser host's --weights); otherwise NST_WEIGHTS, settings, app data. */
  weightsArgument?: string | null;
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * The ffmpeg the host was started with (the browser host's --ffmpeg); else NST_FFMPEG, else the one chosen in
   * Electron's open dialog. No client of the bridge can name one: it would be run (`-version`) to check it.
   */
  ffmpegPath?: string | null;
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

export class StudioBackend implements ExportSources {
  /** Every call and event of the API table, each from the service that owns it (a call none has does not compile). */
  readonly services: StudioServices;

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
    /** The masks painted over each photo, kept beside the settings. */
    readonly photoMasks: PhotoMasksStore,
    /** The Video tab's job: a clip painted frame by frame in a worker of its own. */
    readonly videoJobs: VideoJobService,
  ) {
    this.services = servicesFrom(runs, batches, photoMasks, videoJobs, this as StudioBackend);
  }

  static async create(options: StudioBackendOptions): Promise<StudioBackend> {
    const framesRoot = options.framesRoot ?? options.dataDir;
    const batchRoot = options.batchRoot ?? options.dataDir;
    // Photos, settings and weights live there: nobody else on the machine may read them.
    await makeDataPrivate([options.dataDir, options.weightsService?.root ?? dataDir(), framesRoot, batchRoot]);
    const settings = await SettingsStore.open(options.dataDir);
    if (settings.recovery) console.warn(`[studio] ${settings.recovery}`);
    // Asked afresh each time: the user may install weights while the app runs.
    // Damaged installed weights are none, in the words runs refuse them with (the Model panel says the same).
    const locate = (): Promise<WeightsLocation> =>
      locateUsableWeights({
        argument: options.weightsArgument ? { path: options.weightsArgument, label: '--weights' } : null,
        env: options.env ?? process.env,
        settingsPath: settings.weightsPath,
        dropFolder: path.join(options.dataDir, 'weights'),
        ...(options.weightsService?.root !== undefined ? { storeRoot: options.weightsService.root } : {}),
      });
    const weights = new WeightsService({ ...options.weightsService, locate });
    const runs = new RunService({
      worker: options.worker,
      weights: locate,
      frames: { root: framesRoot, keep: options.keepFrameSpools ?? 20 },
      // Runs checkpoint into <data>/runs (as `nst stylize` does), so a crash or a kill can be resumed.
      checkpoints: { root: options.dataDir, ...(options.checkpointEveryMs !== undefined ? { everyMs: options.checkpointEveryMs } : {}) },
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.previewIntervalMs !== undefined ? { previewIntervalMs: options.previewIntervalMs } : {}),
    });
    // Read at each export and status check, so a choice in the dialog needs no restart.
    const env = options.env ?? process.env;
    const videos = new VideoService({ root: framesRoot, ffmpegPath: () => options.ffmpegPath || env.NST_FFMPEG || settings.ffmpegPath });
    // The batch queue runs its items through the same run queue; an unfinished batch carries on from here.
    const batches = await BatchService.open({ runs, root: path.join(batchRoot, 'batch') });
    // The Video tab's job lives beside the batch; one stopped or cut short is offered again, never restarted by itself.
    const videoJobs = await VideoJobService.open({
      worker: options.worker,
      root: path.join(batchRoot, 'video-job'),
      weights: locate,
      ffmpegPath: () => options.ffmpegPath || env.NST_FFMPEG || settings.ffmpegPath,
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.previewIntervalMs !== undefined ? { previewIntervalMs: options.previewIntervalMs } : {}),
    });
    return new StudioBackend(options, locate, settings, runs, new ExportService(runs), weights, videos, batches, new PhotoMasksStore(options.dataDir), videoJobs);
  }

  // --- Settings and the app -------------------------------------------------------------------------------------

  async getSettings(): Promise<Result<StudioSettings>> {
    return ok(this.settings.settings);
  }

  saveSettings(settings: StudioSettings): Promise<Result<null>> {
    return this.settings.saveSettings(settings);
  }

  async getAppInfo(): Promise<Result<AppInfo>> {
    return ok(buildAppInfo(this.options.version, await this.locateWeights()));
  }

  async getDevices(): Promise<Result<DevicesInfo>> {
    return ok(await devicesInfo());
  }

  /** The example images: beside a packaged app (process.resourcesPath/examples), else the checkout's resources/examples. */
  async getExamples(): Promise<Result<ResultOf<'getExamples'>>> {
    const folder = resourceFolder('examples', 'golden-gate.jpg');
    if (!folder) return fail('EXAMPLES_MISSING', 'The example images are not installed with this copy of the studio (resources/examples is missing).');
    const examples = [
      { role: 'content' as const, name: 'golden-gate.jpg', credit: 'Golden Gate Bridge, a photo from Pexels (CC0)' },
      { role: 'style' as const, name: 'great-wave.jpg', credit: 'The Great Wave off Kanagawa, Katsushika Hokusai, c. 1831 (public domain)' },
    ];
    return ok(await Promise.all(examples.map(async (example) => ({ ...example, bytes: new Uint8Array(await readFile(path.join(folder, example.name))) }))));
  }

  /** The memory a run with these settings needs, the budget, and what fits (computed here; no run starts). */
  async estimateMemory(request: EstimateMemoryRequest): Promise<Result<MemoryEstimateInfo>> {
    return estimateMemoryRequest(request);
  }

  // --- The Model panel ----------------------------------------------------------------------------------------

  getWeightsStatus(): Promise<Result<WeightsInfo>> {
    return this.weights.status();
  }

  fetchWeights(request: FetchWeightsRequest): Promise<Result<WeightsInfo>> {
    return this.weights.fetch(request);
  }

  async cancelWeightsFetch(): Promise<Result<null>> {
    const canceled = this.weights.cancelFetch();
    return canceled.ok ? ok(null) : canceled;
  }

  importWeights(request: ImportWeightsRequest): Promise<Result<WeightsInfo>> {
    return this.weights.importFromFiles(request);
  }

  removeWeights(): Promise<Result<WeightsInfo>> {
    return this.weights.remove();
  }

  onWeightsEvent(listener: (event: WeightsEvent) => void): () => void {
    return this.weights.onEvent(listener);
  }

  // --- Export video ---------------------------------------------------------------------------------------------

  async cancelVideoExport(ref: RunRef): Promise<Result<null>> {
    return this.videos.cancelExport(ref);
  }

  getFfmpegStatus(): Promise<Result<FfmpegStatus>> {
    return this.videos.ffmpegStatus();
  }

  async useFfmpeg(ffmpegPath: string | null): Promise<Result<FfmpegStatus>> {
    const saved = await this.settings.saveFfmpegPath(ffmpegPath);
    return saved.ok ? this.videos.ffmpegStatus() : saved;
  }

  async getVideoSettings(): Promise<Result<VideoSettings>> {
    return ok(this.settings.videoSettings);
  }

  saveVideoSettings(settings: VideoSettings): Promise<Result<null>> {
    return this.settings.saveVideoSettings(settings);
  }

  onVideoEvent(listener: (event: VideoExportEvent) => void): () => void {
    return this.videos.onEvent(listener);
  }

  // --- What the hosts export through their own answers ----------------------------------------------------------

  renderExport(request: ExportImageRequest): Promise<Result<ExportedImage>> {
    return this.exports.exportImage(request);
  }

  async hasVideoFrames(ref: RunRef): Promise<boolean> {
    return this.videos.hasFrames(ref.runId).catch(() => false);
  }

  exportVideoTo(request: ExportVideoRequest, savePath: string): Promise<Result<VideoExportInfo>> {
    return this.videos.exportVideo(request, savePath);
  }

  exportVideoBytes(request: ExportVideoRequest): Promise<Result<{ info: VideoExportInfo; bytes: Uint8Array }>> {
    return this.videos.exportVideoBytes(request);
  }

  async dispose(): Promise<void> {
    await this.batches.dispose();
    await this.videoJobs.dispose();
    this.videos.dispose();
    this.weights.cancelFetch();
    await this.runs.dispose();
    await this.settings.flush();
    await this.photoMasks.flush();
  }
}
