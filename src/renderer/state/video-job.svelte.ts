// The Video tab's state: the clip chosen (a video file or a folder's frames, its first frame shown by the page), the per-frame
// options, and the host's video job (its status, a thumbnail per finished frame, the live preview of the frame in
// progress), kept in step with the host's videoJobEvent. Styles and photo settings are the studio's own, passed in.

import type { ErrorInfo, ImageInput, Result, StudioApi, VideoClipInput, VideoJobEvent, VideoJobOptions, VideoJobStatus } from '../../shared/api.js';
import type { StudioSettings } from '../../shared/studio-settings.js';
import { DEFAULT_VIDEO_JOB_OPTIONS } from '../../shared/video-job-types.js';

/** The file types the clip chooser offers: a video (anything else ffmpeg decodes is taken too) or a clip's frames. */
export const CLIP_ACCEPT = 'video/*,.mp4,.webm,.mov,.mkv,.avi,.gif,image/*';
const VIDEO_NAME = /\.(mp4|m4v|webm|mov|mkv|avi|gif|ogv|mpe?g)$/i;
const IMAGE_NAME = /\.(png|jpe?g|webp|tiff?|avif)$/i;
/** A folder's frames in natural order: frame_2 before frame_10 (as the engine lists a folder). */
const natural = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

/** The clip chosen: a video file, or a folder's frames (images) played at a rate the user gives. */
export type ChosenClip = { kind: 'video'; name: string; file: File; url: string } | { kind: 'frames'; name: string; files: File[]; url: string };


const EMPTY: VideoJobStatus = { state: 'empty', clipName: null, frames: 0, framesDone: 0, fps: 0, width: 0, height: 0, hasAudio: false, current: null, encoded: null, output: null, error: null };

export class VideoJobState {
  /** The clip chosen for the next job, with an object URL for its first frame. */
  clip = $state.raw<ChosenClip | null>(null);
  options = $state<VideoJobOptions>({ ...DEFAULT_VIDEO_JOB_OPTIONS });
  /** The rate a folder's frames play at (a video keeps its own); 12: the shared clips'. */
  folderFps = $state(12);
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

  /**
   * One video file is the clip; images (several files, or a folder chosen) are its frames in natural order, the folder
   * naming it. Anything else is refused in words.
   */
  choose(files: readonly File[]): void {
    const first = files[0];
    if (!first) return;
    const isVideo = (f: File): boolean => f.type.startsWith('video/') || f.type === 'image/gif' || VIDEO_NAME.test(f.name);
    const frames = files.filter((f) => !isVideo(f) && (f.type.startsWith('image/') || IMAGE_NAME.test(f.name))).sort((a, b) => natural.compare(a.name, b.name));
    let clip: ChosenClip;
    if (files.length === 1 && isVideo(first)) clip = { kind: 'video', name: first.name, file: first, url: URL.createObjectURL(first) };
    else if (frames.length > 0) {
      const folder = first.webkitRelativePath.split('/')[0] || 'frames';
      clip = { kind: 'frames', name: folder, files: frames, url: URL.createObjectURL(frames[0]!) };
    } else {
      this.error = { code: 'NOT_A_CLIP', message: `${files.length === 1 ? first.name : `These ${files.length} files`}: give one video file, or the frames of a clip (images).` };
      return;
    }
    if (this.clip) URL.revokeObjectURL(this.clip.url);
    this.clip = clip;
    this.error = null;
  }

  /** Starts a job of the chosen clip with these styles and settings (the studio's current ones). */
  async start(styles: { image: ImageInput; blend: number }[], settings: StudioSettings): Promise<void> {
    const clip = this.clip;
    if (!clip) return;
    const bytes = async (file: File): Promise<Uint8Array> => new Uint8Array(await file.arrayBuffer());
    const input: VideoClipInput =
      clip.kind === 'video'
        ? { kind: 'video', file: { name: clip.name, bytes: await bytes(clip.file) } }
        : { kind: 'frames', name: clip.name, fps: this.folderFps, frames: await Promise.all(clip.files.map(async (f) => ({ name: f.name, bytes: await bytes(f) }))) };
    await this.act(() => this.api.startVideoJob({ clip: input, styles, settings, video: $state.snapshot(this.options) }), true);
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
