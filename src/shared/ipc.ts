// The IPC contract: channel names and request/response/event types, imported by main, preload, renderer and
// the browser host alike. Payloads from the renderer are validated against src/shared/schemas.ts.

import type { StudioSettings } from './studio-settings.js';

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
} as const;
export type Channel = (typeof CHANNELS)[keyof typeof CHANNELS];

/** An image as the renderer read it (File API): its name for display, its encoded bytes. Never a path. */
export interface ImageInput {
  name: string;
  bytes: Uint8Array;
}

export interface StartRunRequest {
  content: ImageInput;
  styles: { image: ImageInput; blend: number }[];
  settings: StudioSettings;
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
}

/** Errors cross as data: a stable code and one human sentence. */
export interface ErrorInfo {
  code: string;
  message: string;
}

export type RunEvent =
  | { runId: string; type: 'queued'; position: number }
  | { runId: string; type: 'started'; width: number; height: number; device: string; fallbackReason: string | null }
  | { runId: string; type: 'progress'; loss: LossPoint; iterations: number; msPerIteration: number; preview: PreviewFrame | null }
  | { runId: string; type: 'rebuilt'; reason: string; iteration: number }
  | { runId: string; type: 'paused'; iteration: number }
  | { runId: string; type: 'resumed'; iteration: number }
  | { runId: string; type: 'done'; iterations: number; stopped: boolean; final: PreviewFrame; loss: LossPoint }
  | { runId: string; type: 'error'; error: ErrorInfo };

export interface AppInfo {
  version: string;
  /** Where the VGG19 weights come from, or null when none are installed (with how to get them). */
  weights: { source: string } | { source: null; help: string };
  devices: string[];
  platform: string;
}

/** Every call resolves to data: a result or an error, never a thrown exception across the bridge. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

/** The API the renderer sees (window.api in Electron; the same over WebSocket in the browser host). */
export interface StudioApi {
  startRun(request: StartRunRequest): Promise<Result<RunRef>>;
  pauseRun(ref: RunRef): Promise<Result<null>>;
  resumeRun(ref: RunRef): Promise<Result<null>>;
  stopRun(ref: RunRef): Promise<Result<null>>;
  updateRunSettings(request: UpdateRunSettingsRequest): Promise<Result<null>>;
  exportImage(request: ExportImageRequest): Promise<Result<ExportImageResponse>>;
  getSettings(): Promise<Result<StudioSettings>>;
  saveSettings(settings: StudioSettings): Promise<Result<null>>;
  getAppInfo(): Promise<Result<AppInfo>>;
  /** Subscribes to run events; returns the unsubscribe function. */
  onRunEvent(listener: (event: RunEvent) => void): () => void;
}
