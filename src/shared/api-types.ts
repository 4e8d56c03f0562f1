// The studio API's payload types: what each call sends and answers and what each event carries (the table of
// calls is api.ts). Types only: main, preload, renderer, worker and the browser host all import them.

import type { ErrorInfo } from './result.js';
import type { StudioSettings } from './studio-settings.js';

// The Video tab's payloads have a file of their own (this one holds every other call's).
export type * from './video-job-types.js';

// --- Runs -----------------------------------------------------------------------------------------------------

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
  /**
   * Spatial control: where each style goes and where the photo stays, at any size (the run resizes them to each scale).
   * Absent or null: no masks. A tiled run gives each tile its crop of them.
   */
  masks?: MaskSet | null;
}

/**
 * Painted masks (spatial control, guided Grams): row-major, one byte a pixel (0..255, read as pixel/255), all at the
 * content photo's size. `styles` has one mask per style image, in style order; `content` is the "keep the photo
 * here" mask, null when none is painted (the content term then weighs every pixel fully).
 */
export interface MaskSet {
  readonly width: number;
  readonly height: number;
  readonly styles: readonly Uint8Array[];
  readonly content: Uint8Array | null;
}

export interface RunRef {
  runId: string;
}

/**
 * New masks for a running run, from its next iteration; null: none. Masks of another kind than the run's (turned on or
 * off, a content mask added or removed) rebuild its network and continue from the current image ('rebuilt'); a tiled
 * run is not rebuilt and refuses them ('masksRefused', as for masks the run cannot use).
 */
export interface SetRunMasksRequest extends RunRef {
  masks: MaskSet | null;
}

/** A photo's saved masks are found by its bytes: their SHA-256, in lowercase hex (the same photo, wherever it is loaded from). */
export interface PhotoMasksRef {
  photo: string;
}

/**
 * The masks painted over one photo, kept in the data folder between sessions: each layer an 8-bit grayscale PNG at the
 * photo's size (one per style, in style order; the content layer, or null when it is empty), and whether masks were on.
 */
export interface PhotoMasks {
  enabled: boolean;
  styles: Uint8Array[];
  content: Uint8Array | null;
}

/** The photo's masks to keep (replacing what it had), or null to forget them. */
export interface SavePhotoMasksRequest extends PhotoMasksRef {
  masks: PhotoMasks | null;
}

/** An interrupted run queued again: its id, and the masks it paints with (its checkpoint's; absent: none), for the mask editor. */
export interface ResumedRun extends RunRef {
  masks?: MaskSet;
  /** With masks: the photo they were painted over (the checkpoint's), for a window that shows another photo or none. */
  content?: ImageInput;
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
  /**
   * Masks sent mid-run (setRunMasks) that the run could not use at `iteration` (a region only in rows its pools drop,
   * another kind of masks than a tiled run's): it goes on with the masks it had; `message` says why, to show.
   */
  | { runId: string; type: 'masksRefused'; iteration: number; message: string }
  | { runId: string; type: 'paused'; iteration: number }
  | { runId: string; type: 'resumed'; iteration: number }
  /**
   * The picture stopped changing (settings.stop 'auto'): the run waits there with this image. resumeRun keeps going (to
   * its iterations, same run); stopRun, or another run starting, ends it with 'done' (stopped: false).
   */
  | { runId: string; type: 'converged'; iteration: number; stop: StopInfo; final: PreviewFrame; loss: LossPoint }
  | { runId: string; type: 'done'; iterations: number; stopped: boolean; stop: StopInfo; final: PreviewFrame; loss: LossPoint }
  | { runId: string; type: 'error'; error: ErrorInfo };

/** Why a run ended (the engine's StopReason): its kind, the iteration, and a sentence saying it. */
export interface StopInfo {
  kind: 'converged' | 'cap' | 'optimizer' | 'stopped';
  iteration: number;
  message: string;
}

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
 * A command from the Electron app menu (pushed to the window; the browser host has no menu). Files the user picked in the native Open dialog arrive as bytes, read
 * by the main process; the renderer never names a path.
 */
export type MenuAction =
  | { type: 'open-content'; image: ImageInput }
  | { type: 'open-style'; images: ImageInput[] }
  | { type: 'export-image' }
  | { type: 'export-video' }
  // The Run menu: what the page's Start, Pause (Resume, Keep going) and Stop buttons do.
  | { type: 'start' }
  | { type: 'pause' }
  | { type: 'stop' }
  | { type: 'error'; error: ErrorInfo };

// --- The weights manager (the Model panel) --------------------------------------------------------------------

/** A file the installed weights were made from, with its digests. */
export interface WeightsSourceFile {
  name: string;
  bytes: number;
  md5: string;
  sha256: string;
}

/** What the Model panel shows. */
/** Where the weights a run uses come from (the engine's WeightsOrigin). */
export type WeightsOriginInfo = 'argument' | 'environment' | 'settings' | 'folder' | 'installed' | 'builtin';

export interface WeightsInfo {
  /** The weights runs use now and where they come from, or (none at all) how to get some. */
  active: { origin: WeightsOriginInfo; path: string } | { origin: null; help: string };
  /** Whether weights are installed in the data folder (fetched or imported); the built-in ones are not "installed". */
  installed: boolean;
  /**
   * Installed weights that runs refuse (a blob missing or cut short, an index that does not read): why and what to
   * do, in the sentence a run fails with; null when they are whole or none are installed. Such weights are never
   * shown as installed and usable.
   */
  damaged: string | null;
  /** All 16 conv layers; false for files that stop early (block1–3 only), which serve shallow layer choices only. */
  complete: boolean;
  /** Canonical names of the layers present, in network order. */
  layers: string[];
  /** Where they came from (URL, or the file imported), its format, digests and install date; null when none. */
  provenance: { kind: 'download' | 'import' | 'builtin'; source: string; format: string; date: string; files: WeightsSourceFile[] } | null;
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

// --- Timelapse video (Export video, on the current or any past run) -------------------------------------------

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

/**
 * Which ffmpeg to use is the host's to say, never a path from the page: `reset: false` asks for the host's own way of
 * choosing one (Electron: a native open dialog), `reset: true` forgets the choice (found automatically again).
 */
export interface ChooseFfmpegRequest {
  reset: boolean;
}

/** For the ffmpeg line of the settings panel. */
export type FfmpegStatus =
  | { found: true; path: string; source: 'setting' | 'ffmpeg-static' | '@ffmpeg-installer/ffmpeg' | 'path'; version: string; notes: string[] }
  | { found: false; help: string };

// --- The batch queue: many content images under one setting set, run one after another, resumable -------------

export interface StartBatchRequest {
  contents: ImageInput[];
  styles: { image: ImageInput; blend: number }[];
  /** One setting set for every item (the panel sends the current settings). */
  settings: StudioSettings;
}

export type BatchItemState = 'pending' | 'running' | 'done' | 'failed';

export interface BatchItemInfo {
  index: number;
  /** The content image's name as it was added. */
  name: string;
  state: BatchItemState;
  /** Why it failed (the batch went on with the next item). */
  error: ErrorInfo | null;
  seconds: number | null;
}

export interface BatchStatus {
  /** empty: no batch; paused: stopped by the user (or by a problem every item would hit: `error` says). */
  state: 'empty' | 'running' | 'paused' | 'finished';
  items: BatchItemInfo[];
  /** The item being painted now, with its iteration. */
  current: { index: number; iteration: number; iterations: number } | null;
  total: number;
  done: number;
  failed: number;
  /** A problem that paused the whole batch (no weights, say); null otherwise. */
  error: ErrorInfo | null;
}

export type BatchEvent =
  | { type: 'status'; status: BatchStatus }
  | { type: 'progress'; index: number; iteration: number; iterations: number; loss: number; preview: PreviewFrame | null };

export interface BatchItemRef {
  index: number;
}

/** A finished item's image, PNG. */
export interface BatchOutput {
  fileName: string;
  bytes: Uint8Array;
}

// --- Interrupted runs: checkpoints a crash, a kill or a power loss left, offered for resuming -----------------

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

// --- Devices: the execution providers of this machine and the one `auto` uses (`nst devices` prints the same) ---

export interface DeviceInfo {
  /** cpu, cuda, dml, coreml, webgpu. */
  device: string;
  /** What it runs on: the CPU's name, a GPU's, a software adapter's; null when there is none. */
  adapter: string | null;
  software: boolean;
  /** true: measured (or the CPU, which always runs); false: it cannot run here (`why`); null: not tried yet. */
  canRun: boolean | null;
  /** ms per iteration of the loss graph at `DevicesInfo.sizePx`, when measured. */
  msPerIteration: number | null;
  /** Why it cannot run, or why automatic leaves it out. */
  why: string | null;
}

export interface DevicesInfo {
  /** What Automatic runs on and why, in one line. */
  auto: { device: string; reason: string; measured: boolean };
  devices: DeviceInfo[];
  /** When the timings were measured (ISO 8601) and at what size; null before any measurement. */
  measuredAt: string | null;
  sizePx: number | null;
}
