// The Export video options (format, fps, hold, side-by-side, caption) and the "Record timelapse" toggle for new runs,
// persisted (debounced) through the API; the ffmpeg in use, chosen the host's way; one export at a time with its
// progress and cancel.

import type { ErrorInfo, FfmpegStatus, StudioApi, VideoExportEvent } from '../../shared/api.js';
import { DEFAULT_VIDEO_SETTINGS, type VideoFormatChoice, type VideoSettings } from '../../shared/studio-settings.js';
import { validateVideoSettings } from '../../shared/schemas.js';
import { downloadBytes } from '../Export/download.js';
import { Debouncer } from '../lib/debouncer.js';

export class VideoExportState {
  format = $state<VideoFormatChoice>(DEFAULT_VIDEO_SETTINGS.format);
  fps = $state(DEFAULT_VIDEO_SETTINGS.fps);
  holdFinalSeconds = $state(DEFAULT_VIDEO_SETTINGS.holdFinalSeconds);
  sideBySide = $state(DEFAULT_VIDEO_SETTINGS.sideBySide);
  caption = $state(DEFAULT_VIDEO_SETTINGS.caption);
  /** New runs spool a frame every `frameEvery` iterations for a video. */
  record = $state(DEFAULT_VIDEO_SETTINGS.record);
  frameEvery = $state(DEFAULT_VIDEO_SETTINGS.frameEvery);
  /** Which ffmpeg an export would use now (null until asked). */
  ffmpeg = $state.raw<FfmpegStatus | null>(null);
  /** Why no ffmpeg could be chosen here, and where it is chosen instead (the browser host's --ffmpeg); null: none. */
  ffmpegChoiceHelp = $state<string | null>(null);
  loaded = $state(false);
  /** The run being exported now, or null. */
  runId = $state<string | null>(null);
  /** 0..1 while exporting. */
  fraction = $state(0);
  message = $state<string | null>(null);
  private readonly off: () => void;
  private readonly saver: Debouncer;
  private lastSaved = '';

  constructor(
    private readonly api: StudioApi,
    saveDelayMs = 400,
  ) {
    this.saver = new Debouncer(saveDelayMs);
    this.off = api.onVideoEvent((event) => this.receive(event));
  }

  /** The options as saved: every field, plain values. */
  snapshot(): VideoSettings {
    return {
      format: this.format,
      frameEvery: Math.max(1, Math.round(this.frameEvery) || DEFAULT_VIDEO_SETTINGS.frameEvery),
      fps: this.fps,
      holdFinalSeconds: this.holdFinalSeconds,
      sideBySide: this.sideBySide,
      caption: this.caption,
      record: this.record,
    };
  }

  /** Loads the saved options, then asks which ffmpeg is in use. */
  async load(): Promise<ErrorInfo | null> {
    const result = await this.api.getVideoSettings();
    if (result.ok) {
      const v = result.value;
      this.format = v.format;
      this.frameEvery = v.frameEvery;
      this.fps = v.fps;
      this.holdFinalSeconds = v.holdFinalSeconds;
      this.sideBySide = v.sideBySide;
      this.caption = v.caption;
      this.record = v.record;
      this.lastSaved = JSON.stringify(this.snapshot());
    }
    this.loaded = true;
    await this.refreshFfmpeg();
    return result.ok ? null : result.error;
  }

  async refreshFfmpeg(): Promise<void> {
    const status = await this.api.getFfmpegStatus();
    this.ffmpeg = status.ok ? status.value : { found: false, help: status.error.message };
  }

  /**
   * Asks the host to choose the ffmpeg its own way (Electron: a native open dialog; the page never names a path,
   * which the host would run), or with `reset` to find one automatically again.
   */
  async chooseFfmpeg(reset: boolean): Promise<void> {
    const result = await this.api.chooseFfmpeg({ reset });
    this.ffmpegChoiceHelp = result.ok ? null : result.error.message;
    if (result.ok) this.ffmpeg = result.value;
  }

  /** Call when an option changed: saves once the user pauses. */
  scheduleSave(onError: (error: ErrorInfo) => void): void {
    if (!this.loaded) return;
    this.saver.schedule(() => {
      const snapshot = this.snapshot();
      const text = JSON.stringify(snapshot);
      // A field half-typed (an empty fps) is not saved; the last valid options stay until it is whole again.
      if (text === this.lastSaved || !validateVideoSettings(snapshot).ok) return;
      this.lastSaved = text;
      void this.api.saveVideoSettings(snapshot).then((result) => {
        if (!result.ok) onError(result.error);
      });
    });
  }

  get busy(): boolean {
    return this.runId !== null;
  }

  /** What a new run's request carries: the timelapse to record, or null for none. */
  timelapse(): { frameEvery: number } | null {
    return this.record ? { frameEvery: Math.max(1, Math.round(this.frameEvery) || DEFAULT_VIDEO_SETTINGS.frameEvery) } : null;
  }

  /** Exports one run's timelapse; resolves to an error to show, or null. */
  async export(runId: string): Promise<ErrorInfo | null> {
    if (this.runId) return null;
    this.runId = runId;
    this.fraction = 0;
    this.message = null;
    try {
      const result = await this.api.exportVideo({
        runId,
        format: this.format,
        fps: this.fps,
        holdFinalSeconds: this.holdFinalSeconds,
        sideBySide: this.sideBySide,
        caption: this.caption,
      });
      if (!result.ok) {
        if (result.error.code === 'ABORTED') {
          this.message = 'Export canceled.';
          return null;
        }
        return result.error;
      }
      const response = result.value;
      switch (response.kind) {
        case 'saved':
          this.message = `Saved ${response.info.frames} frames (${response.info.durationSeconds.toFixed(1)} s) to ${response.info.path}`;
          break;
        case 'download':
          downloadBytes(response.bytes, response.info.fileName, response.info.mimeType);
          this.message = `Downloaded ${response.info.fileName} (${response.info.frames} frames)`;
          break;
        case 'canceled':
          this.message = null;
          break;
      }
      return null;
    } finally {
      this.runId = null;
      this.fraction = 0;
    }
  }

  async cancel(): Promise<void> {
    if (!this.runId) return;
    await this.api.cancelVideoExport({ runId: this.runId });
  }

  dispose(): void {
    this.off();
    this.saver.cancel();
  }

  private receive(event: VideoExportEvent): void {
    if (event.runId !== this.runId) return;
    if (event.type === 'progress') this.fraction = event.fraction;
  }
}
