// The IPC contract: channel names and request/response/event types, imported by main, preload, renderer and
// the browser host alike. Payloads from the renderer are validated against src/shared/schemas.ts.

import { BATCH_CHANNELS, type BatchApi } from './batch-api.js';
import { RESUME_CHANNELS, type ResumeApi } from './resume-api.js';
import type { ErrorInfo, Result } from './result.js';
import type { StudioSettings, VideoSettings } from './studio-settings.js';

export type { ErrorInfo, Result };

export const WEIGHTS_CHANNELS = {
  getWeightsStatus: 'weights:status',
  fetchWeights: 'weights:fetch',
  cancelWeightsFetch: 'weights:cancel',
  importWeights: 'weights:import',
  removeWeights: 'weights:remove',
  /** Pushed main → renderer: download progress, phase changes, done / error / canceled. */
  weightsEvent: 'weights:event',
} as const;

export const VIDEO_CHANNELS = {
  exportVideo: 'video:export',
  cancelVideoExport: 'video:cancel',
  getFfmpegStatus: 'video:ffmpeg-status',
  /** The Export video options, the timelapse toggle and the ffmpeg setting, persisted with the settings. */
  getVideoSettings: 'video:settings-get',
  saveVideoSettings: 'video:settings-save',
  /** Pushed main → renderer: progress, then done / error / canceled. */
  videoEvent: 'video:event',
} as const;

/** Every channel, in one place (renderer → main are invoke channels; `runEvent` is pushed main → renderer). */
export const CHANNELS = {
  startRun: 'run:start',
  pauseRun: 'run:pause',
  resumeRun: 'run:resume',
  stopRun: 'run:stop',
  updateRunSettings: 'run:update-settings',
  runEvent: 'run:event',
  exportImage: 'image:export',
  getSettings: 'settings:get',
  saveSettings: 'settings:save',
  getAppInfo: 'app:info',
  /** The memory a run with these settings would need, what is available, and what fits. */
  estimateMemory: 'run:estimate-memory',
  /** Pushed main → renderer (Electron only): a command from the app menu. */
  menuAction: 'menu:action',
  ...WEIGHTS_CHANNELS,
  ...VIDEO_CHANNELS,
  ...BATCH_CHANNELS,
  ...RESUME_CHANNELS,
} as const;
export type Channel = (typeof CHANNELS)[keyof typeof CHANNELS];

/** The channels main pushes to the renderer; every other CHANNELS entry is a request answered with a Result. */
export const PUSH_CHANNELS: readonly Channel[] = [CHANNELS.runEvent, CHANNELS.menuAction, CHANNELS.weightsEvent, CHANNELS.videoEvent, CHANNELS.batchEvent];

/** An image as the renderer read it (File API): its name for display, its encoded bytes. Never a path. */
export interface ImageInput {
  name: string;
  bytes: Uint8Array;
}

export interface StartRunRequest {
  content: ImageInput;
  styles: { image: ImageInput; blend: number }[];
  settings: StudioSettings;
  /**
   * "Record timelapse": spool a frame every `frameEvery` iterations (plus the first and last) for Export video.
   * Absent: on, every 10 (DEFAULT_VIDEO_SETTINGS.frameEvery); null: off.
   */
  timelapse?: { frameEvery: number } | null;
}

export interface RunRef {
  runId: string;
}

/** Mid-run changes: layer toggles and weights, style/content/TV weights. Other fields are ignored mid-run. */
export interface UpdateRunSettingsRequest extends RunRef {
  settings: StudioSettings;
}

export interface ExportImageRequest extends RunRef {
  format: 'png' | 'jpeg';
  /** Longest side of the exported file; null keeps the run's size. */
  sizePx: number | null;
}

/**
 * Electron saves through a save dialog the user answered ('saved'); the browser host cannot write where the
 * user chooses, so it returns the bytes for the renderer to download ('download').
 */
export type ExportImageResponse =
  | { kind: 'saved'; path: string }
  | { kind: 'download'; fileName: string; bytes: Uint8Array }
  | { kind: 'canceled' };

/** A preview frame: encoded JPEG bytes of the current image. */
export interface PreviewFrame {
  width: number;
  height: number;
  jpeg: Uint8Array;
}

export interface LossPoint {
  iteration: number;
  total: number;
  /** Unweighted per-layer losses, canonical layer names. */
  style: Record<string, number>;
  content: Record<string, number>;
  tv: number;
  /** Each term's share of `total` under the weights in force (they sum to it): what the chart plots per layer. */
  weighted?: { style: Record<string, number>; content: Record<string, number>; tv: number };
}

export type RunEvent =
  | { runId: string; type: 'queued'; position: number }
  | { runId: string; type: 'started'; width: number; height: number; device: string; fallbackReason: string | null }
  | { runId: string; type: 'progress'; loss: LossPoint; iterations: number; msPerIteration: number; preview: PreviewFrame | null }
  | { runId: string; type: 'rebuilt'; reason: string; iteration: number }
  /**
   * How the run renders (again after an out-of-memory retry, which starts over): `iterations` is the new total
   * across scales and tiles. Tiled runs take no weight changes mid-run (`steerable` false, with the reason).
   */
  | { runId: string; type: 'plan'; plan: RenderPlanInfo; iterations: number; steerable: boolean; reason: string | null }
  /** One line when memory changes the plan (a smaller size, tiles, an out-of-memory retry). */
  | { runId: string; type: 'notice'; message: string }
  | { runId: string; type: 'paused'; iteration: number }
  | { runId: string; type: 'resumed'; iteration: number }
  | { runId: string; type: 'done'; iterations: number; stopped: boolean; final: PreviewFrame; loss: LossPoint }
  | { runId: string; type: 'error'; error: ErrorInfo };

/** How a run renders its requested size within the memory limit (the engine's RenderPlan). */
export type RenderPlanInfo =
  | { mode: 'whole'; sizePx: number; estimateBytes: number }
  /** Optimised at `sizePx` (longest side), then upsampled to the requested size. */
  | { mode: 'downscaled'; sizePx: number; estimateBytes: number }
  | { mode: 'tiled'; tilePx: number; overlapPx: number; coherencePx: number; tiles: number; estimateBytes: number };

/** What the size control's memory line is computed from: the settings, and the content photo's size if there is one. */
export interface EstimateMemoryRequest {
  settings: StudioSettings;
  /** The content photo's pixel size (for its aspect ratio); null: a square output. */
  content: { width: number; height: number } | null;
  /** Style images blended (default 1). */
  styleImages?: number;
}

export interface MemoryEstimateInfo {
  /** The output's size: `settings.sizePx` on the longest side. */
  width: number;
  height: number;
  /** Estimated peak memory of a whole-image run (host side). */
  totalBytes: number;
  breakdown: { weights: number; activations: number; workspace: number; optimizer: number; runtime: number };
  /** On a GPU provider, what lives in device memory; null on the CPU. */
  deviceBytes: number | null;
  calibrated: boolean;
  /** The budget: the memory-limit setting, or what is available now. */
  limitBytes: number;
  limitSource: 'setting' | 'available';
  /** Whether the whole image fits at once. */
  fits: boolean;
  /** When it does not fit: the largest longest side that does (null: none, or it fits). */
  largestFittingPx: number | null;
  /** When it does not fit: the tiling that would (null: none fits, or it fits). */
  tiling: Extract<RenderPlanInfo, { mode: 'tiled' }> | null;
  /** What a run with these settings (their tile option) would do; null with planError when nothing fits. */
  plan: RenderPlanInfo | null;
  planError: string | null;
}

export interface AppInfo {
  version: string;
  /** Where the VGG19 weights come from, or null when none are installed (with how to get them). */
  weights: { source: string } | { source: null; help: string };
  devices: string[];
  platform: string;
}

/**
 * A command from the Electron app menu. Files the user picked in the native Open dialog arrive as bytes, read
 * by the main process; the renderer never names a path.
 */
export type MenuAction =
  | { type: 'open-content'; image: ImageInput }
  | { type: 'open-style'; images: ImageInput[] }
  | { type: 'export-image' }
  | { type: 'error'; error: ErrorInfo };

/** The API the renderer sees (window.api in Electron; the same over WebSocket in the browser host). */
export interface StudioApi extends WeightsApi, VideoApi, BatchApi, ResumeApi {
  startRun(request: StartRunRequest): Promise<Result<RunRef>>;
  pauseRun(ref: RunRef): Promise<Result<null>>;
  resumeRun(ref: RunRef): Promise<Result<null>>;
  stopRun(ref: RunRef): Promise<Result<null>>;
  updateRunSettings(request: UpdateRunSettingsRequest): Promise<Result<null>>;
  exportImage(request: ExportImageRequest): Promise<Result<ExportImageResponse>>;
  getSettings(): Promise<Result<StudioSettings>>;
  saveSettings(settings: StudioSettings): Promise<Result<null>>;
  getAppInfo(): Promise<Result<AppInfo>>;
  estimateMemory(request: EstimateMemoryRequest): Promise<Result<MemoryEstimateInfo>>;
  /** Subscribes to run events; returns the unsubscribe function. */
  onRunEvent(listener: (event: RunEvent) => void): () => void;
}

/** What the Electron preload exposes as window.api: the StudioApi plus the app menu (the browser host has none). */
export interface DesktopApi extends StudioApi {
  /** Subscribes to app-menu commands; returns the unsubscribe function. */
  onMenuAction(listener: (action: MenuAction) => void): () => void;
}

// --- The weights manager (the "Model" panel) ------------------------------------------------------------------
// WEIGHTS_CHANNELS (above) are part of CHANNELS and StudioApi extends WeightsApi; src/main/services/weights-service.ts
// implements every method.


/** A file the installed weights were made from, with its digests. */
export interface WeightsSourceFile {
  name: string;
  bytes: number;
  md5: string;
  sha256: string;
}

/** What the Model panel shows. */
export interface WeightsInfo {
  installed: boolean;
  /** All 16 conv layers; false for files that stop early (block1–3 only), which serve shallow layer choices only. */
  complete: boolean;
  /** Canonical names of the layers present, in network order. */
  layers: string[];
  /** Where they came from (URL, or the file imported), its format, digests and install date; null when none. */
  provenance: { kind: 'download' | 'import'; source: string; format: string; date: string; files: WeightsSourceFile[] } | null;
  /** Size of the installed (converted) weights. */
  sizeBytes: number;
  /** Bytes of a download that stopped part-way and resumes on the next fetch; null when there is none. */
  partialDownloadBytes: number | null;
  /** About how much a download fetches, for the offer ("Download VGG19, 80 MB"). */
  downloadBytes: number;
  /** A download or import running now (in this process). */
  busy: 'fetch' | 'import' | null;
  /** Where they are stored, for display. */
  folder: string;
  /** When none are installed: how to get them, one sentence. */
  help: string | null;
}

/** A download from the Keras mirrors, or from `url` (which must serve the same file: it is checked by MD5). */
export interface FetchWeightsRequest {
  url?: string | null;
}

/** Files dropped or chosen in the page: one .h5 / .onnx, or a TF.js model.json with its shard files. */
export interface ImportWeightsRequest {
  files: { name: string; bytes: Uint8Array }[];
}

export type WeightsEvent =
  | {
      type: 'progress';
      phase: 'download';
      url: string;
      /** Bytes so far (including any from before a resume) of `total` (null when the server does not say). */
      bytes: number;
      total: number | null;
      bytesPerSecond: number;
      etaSeconds: number | null;
    }
  | { type: 'progress'; phase: 'verify' | 'convert'; url: string }
  | { type: 'done'; status: WeightsInfo }
  | { type: 'error'; error: ErrorInfo }
  /** A fetch was canceled; what was downloaded is kept and the next fetch resumes it. */
  | { type: 'canceled' };

export interface WeightsApi {
  getWeightsStatus(): Promise<Result<WeightsInfo>>;
  /** Resolves when installed (or failed); progress arrives as WeightsEvents meanwhile. */
  fetchWeights(request: FetchWeightsRequest): Promise<Result<WeightsInfo>>;
  cancelWeightsFetch(): Promise<Result<null>>;
  importWeights(request: ImportWeightsRequest): Promise<Result<WeightsInfo>>;
  removeWeights(): Promise<Result<WeightsInfo>>;
  /** Subscribes to weights events; returns the unsubscribe function. */
  onWeightsEvent(listener: (event: WeightsEvent) => void): () => void;
}

// --- Timelapse video ("Export video" on the current or any past run) ----------------------------------------
// VIDEO_CHANNELS (above) are part of CHANNELS and StudioApi extends VideoApi; src/main/services/video-service.ts
// implements every method.
// A run has frames to export only if its worker spooled them (src/engine/video/frames.ts, FrameRecorder) into
// runFramesDir(root, runId).


/** The Export video dialog's choices (defaults: DEFAULT_VIDEO_SETTINGS in studio-settings.ts). */
export interface ExportVideoRequest extends RunRef {
  format: 'mp4' | 'webm' | 'gif';
  /** 0.5 to 120. */
  fps: number;
  /** 0 to 60 seconds on the final frame. */
  holdFinalSeconds: number;
  /** The content photo left of each frame. */
  sideBySide: boolean;
  /** "iteration N · loss L" along the bottom. */
  caption: boolean;
}

export interface VideoExportInfo {
  /** Electron: where it was saved; the browser host: null (the bytes come as a download). */
  path: string | null;
  fileName: string;
  format: 'mp4' | 'webm' | 'gif';
  mimeType: 'video/mp4' | 'video/webm' | 'image/gif';
  width: number;
  height: number;
  fps: number;
  /** Frames in the video: those captured plus the held copies of the last. */
  frames: number;
  durationSeconds: number;
  sizeBytes: number;
}

/** Electron saves where a save dialog said; the browser host returns the bytes for the page to download. */
export type ExportVideoResponse =
  | { kind: 'saved'; info: VideoExportInfo }
  | { kind: 'download'; info: VideoExportInfo; bytes: Uint8Array }
  | { kind: 'canceled' };

export type VideoExportEvent =
  /** GIF has two passes ('palette', then 'encode'); fraction covers the whole export, 0..1. */
  | { runId: string; type: 'progress'; phase: 'palette' | 'encode'; frame: number; totalFrames: number; fraction: number }
  | { runId: string; type: 'done'; info: VideoExportInfo }
  | { runId: string; type: 'error'; error: ErrorInfo }
  /** Cancelled: ffmpeg was stopped and no file was written. */
  | { runId: string; type: 'canceled' };

/** For the ffmpeg line of the settings panel. */
export type FfmpegStatus =
  | { found: true; path: string; source: 'setting' | 'ffmpeg-static' | '@ffmpeg-installer/ffmpeg' | 'path'; version: string; notes: string[] }
  | { found: false; help: string };

export interface VideoApi {
  /** Resolves when the video is written (or failed / was cancelled); progress arrives as VideoExportEvents meanwhile. */
  exportVideo(request: ExportVideoRequest): Promise<Result<ExportVideoResponse>>;
  /** Cancels the run's export in progress (one export per run at a time). */
  cancelVideoExport(ref: RunRef): Promise<Result<null>>;
  getFfmpegStatus(): Promise<Result<FfmpegStatus>>;
  getVideoSettings(): Promise<Result<VideoSettings>>;
  /** Persists them; the ffmpeg path is used from the next export and status check on. */
  saveVideoSettings(settings: VideoSettings): Promise<Result<null>>;
  /** Subscribes to video export events; returns the unsubscribe function. */
  onVideoEvent(listener: (event: VideoExportEvent) => void): () => void;
}
