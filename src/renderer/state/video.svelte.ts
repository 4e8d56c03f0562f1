// The Export video options (format, fps, hold, side-by-side, caption), the "Record timelapse" toggle for new runs,
// and one export at a time with its progress and cancel.

import type { ErrorInfo, StudioApi, VideoExportEvent } from '../../shared/ipc.js';
import { DEFAULT_VIDEO_SETTINGS, type VideoFormatChoice } from '../../shared/studio-settings.js';
import { downloadBytes } from '../Export/download.js';

export class VideoExportState {
  format = $state<VideoFormatChoice>(DEFAULT_VIDEO_SETTINGS.format);
  fps = $state(DEFAULT_VIDEO_SETTINGS.fps);
  holdFinalSeconds = $state(DEFAULT_VIDEO_SETTINGS.holdFinalSeconds);
  sideBySide = $state(DEFAULT_VIDEO_SETTINGS.sideBySide);
  caption = $state(DEFAULT_VIDEO_SETTINGS.caption);
  /** New runs spool a frame every `frameEvery` iterations for a video. */
  record = $state(true);
  frameEvery = $state(DEFAULT_VIDEO_SETTINGS.frameEvery);
  /** The run being exported now, or null. */
  runId = $state<string | null>(null);
  /** 0..1 while exporting. */
  fraction = $state(0);
  message = $state<string | null>(null);
  private readonly off: () => void;

  constructor(private readonly api: StudioApi) {
    this.off = api.onVideoEvent((event) => this.receive(event));
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
  }

  private receive(event: VideoExportEvent): void {
    if (event.runId !== this.runId) return;
    if (event.type === 'progress') this.fraction = event.fraction;
  }
}
