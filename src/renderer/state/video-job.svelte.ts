// The Video tab's state: the clip chosen (shown by the page's own <video> until the job decodes it), the per-frame
// options, and the host's video job (its status, a thumbnail per finished frame, the live preview of the frame in
// progress), kept in step with the host's videoJobEvent. Styles and photo settings are the studio's own, passed in.

import type { ErrorInfo, ImageInput, Result, StudioApi, VideoJobEvent, VideoJobOptions, VideoJobStatus } from '../../shared/api.js';
import type { StudioSettings } from '../../shared/studio-settings.js';

/** The file types the clip chooser offers; anything else ffmpeg decodes is taken too (the host says if not). */
export const CLIP_ACCEPT = 'video/*,.mp4,.webm,.mov,.mkv,.avi,.gif';

/** Frames are many: smaller defaults than a photo's (the CLI's: 100 a frame, twice for the first; temporal weight 200). */
export const DEFAULT_VIDEO_JOB_OPTIONS: VideoJobOptions = { iterations: 100, firstIterations: 200, temporalWeight: 200, format: 'mp4' };

const EMPTY: VideoJobStatus = { state: 'empty', clipName: null, frames: 0, framesDone: 0, fps: 0, width: 0, height: 0, hasAudio: false, current: null, encoded: null, output: null, error: null };

export class VideoJobState {
  /** The clip chosen for the next job, with an object URL for its first frame. */
  clip = $state.raw<{ name: string; file: File; url: string } | null>(null);
  options = $state<VideoJobOptions>({ ...DEFAULT_VIDEO_JOB_OPTIONS });
  status = $state.raw<VideoJobStatus>(EMPTY);
  /** Object URLs of the finished frames' pictures, by frame number (1-based). */
  thumbs = $state.raw<Record<number, string>>({});
  /** The frame in progress: its picture now and then, and its iteration. */
  preview = $state.raw<{ frame: number; url: string; width: number; height: number } | null>(null);
  error = $state<ErrorInfo | null>(null);
  busy = $state(false);
  private readonly off: () => void;

  /** 0..1 over the whole clip: finished frames plus the share of the one in progress. */
  overall = $derived.by(() => {
    const { frames, framesDone, current } = this.status;
    if (frames === 0) return 0;
    const partial = current && current.iterations > 0 ? current.iteration / current.iterations : 0;
    return Math.min(1, (framesDone + partial) / frames);
  });

  /** Painting or encoding: the controls that change the job wait. */
  active = $derived(this.status.state === 'running' || this.status.state === 'paused' || this.status.state === 'encoding');

  constructor(private readonly api: StudioApi) {
    this.off = api.onVideoJobEvent((event) => this.receive(event));
  }

  /** The job the host holds (one started in an earlier session, or in another window): its status and its frames. */
  async refresh(): Promise<void> {
    const result = await this.api.getVideoJobStatus();
    if (!result.ok) return void (this.error = result.error);
    this.show(result.value);
    for (let frame = 1; frame <= result.value.framesDone; frame++) {
      if (this.thumbs[frame]) continue;
      const png = await this.api.getVideoJobFrame({ frame });
      if (png.ok) this.addThumb(frame, png.value);
    }
  }

  /** Takes the first file as the clip (a video the page can show; the host decodes it with ffmpeg). */
  choose(files: readonly File[]): void {
    const file = files[0];
    if (!file) return;
    if (this.clip) URL.revokeObjectURL(this.clip.url);
    this.clip = { name: file.name, file, url: URL.createObjectURL(file) };
    this.error = null;
  }

  /** Starts a job of the chosen clip with these styles and settings (the studio's current ones). */
  async start(styles: { image: ImageInput; blend: number }[], settings: StudioSettings): Promise<void> {
    const clip = this.clip;
    if (!clip) return;
    const bytes = new Uint8Array(await clip.file.arrayBuffer());
    await this.act(() => this.api.startVideoJob({ clip: { name: clip.name, bytes }, styles, settings, video: $state.snapshot(this.options) }), true);
  }

  pause(): Promise<void> {
    return this.act(() => this.api.pauseVideoJob());
  }

  /** A paused job goes on; a stopped one continues from its last finished frame. */
  resume(): Promise<void> {
    return this.act(() => this.api.resumeVideoJob());
  }

  stop(): Promise<void> {
    return this.act(() => this.api.stopVideoJob());
  }

  /** The encoded video's bytes to save, or null (the error is shown). */
  async output(): Promise<{ fileName: string; mimeType: string; bytes: Uint8Array } | null> {
    const result = await this.api.getVideoJobOutput();
    if (result.ok) return result.value;
    this.error = result.error;
    return null;
  }

  dispose(): void {
    this.off();
    this.dropThumbs();
    if (this.clip) URL.revokeObjectURL(this.clip.url);
    if (this.preview) URL.revokeObjectURL(this.preview.url);
  }

  private receive(event: VideoJobEvent): void {
    if (event.type === 'status') this.show(event.status);
    else if (event.type === 'frame') this.addThumb(event.frame, event.png);
    else if (event.preview) {
      if (this.preview) URL.revokeObjectURL(this.preview.url);
      const url = URL.createObjectURL(new Blob([event.preview.jpeg.slice()], { type: 'image/jpeg' }));
      this.preview = { frame: event.frame, url, width: event.preview.width, height: event.preview.height };
    }
    if (event.type === 'progress' && this.status.current) this.status = { ...this.status, current: { frame: event.frame, iteration: event.iteration, iterations: event.iterations } };
  }

  private show(status: VideoJobStatus): void {
    // Another clip (or none): the strip starts again.
    if (status.clipName !== this.status.clipName || status.framesDone < Object.keys(this.thumbs).length) this.dropThumbs();
    this.status = status;
  }

  private addThumb(frame: number, png: Uint8Array): void {
    const old = this.thumbs[frame];
    if (old) URL.revokeObjectURL(old);
    this.thumbs = { ...this.thumbs, [frame]: URL.createObjectURL(new Blob([png.slice()], { type: 'image/png' })) };
  }

  private dropThumbs(): void {
    for (const url of Object.values(this.thumbs)) URL.revokeObjectURL(url);
    this.thumbs = {};
  }

  private async act(call: () => Promise<Result<VideoJobStatus>>, fresh = false): Promise<void> {
    this.busy = true;
    this.error = null;
    try {
      const result = await call();
      if (!result.ok) return void (this.error = result.error);
      if (fresh) {
        this.dropThumbs();
        if (this.preview) URL.revokeObjectURL(this.preview.url);
        this.preview = null;
      }
      this.show(result.value);
    } finally {
      this.busy = false;
    }
  }
}
