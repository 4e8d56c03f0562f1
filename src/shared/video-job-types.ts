// The studio API's payload types for the Video tab's calls (startVideoJob … videoJobEvent in api.ts); re-exported
// by api-types.ts, so consumers import them from api.ts like every other payload.

import type { ImageInput, PreviewFrame } from './api-types.js';
import type { ErrorInfo } from './result.js';
import type { StudioSettings } from './studio-settings.js';

/** The per-frame choices of a video job; size, optimizer, layers and weights come from the photo's settings. */
export interface VideoJobOptions {
  /** Iterations of every frame after the first (the cap; the settings' stop decides when a frame ends sooner). */
  iterations: number;
  /** Iterations of the first frame, which starts from the photo rather than a warped painting. */
  firstIterations: number;
  /** How strongly a frame keeps to the previous painting where the motion is trusted (0: each frame on its own). */
  temporalWeight: number;
  /** What Export gives once every frame is painted (the clip's frame rate and sound kept). */
  format: 'mp4' | 'webm' | 'gif';
}

/**
 * The Video tab's and `nst stylize-video`'s defaults. Frames are many: fewer iterations than a photo's (the warped
 * start is close), twice for the first. Temporal weight: Ruder et al.'s w_t on the normalised terms (pixels in 0..1
 * units), measured on the shared clips (docs/video.md "Flicker"): 5-20x less flicker than per-frame painting for
 * little paint loss; 2000 blurs a zooming clip.
 */
export const DEFAULT_VIDEO_JOB_OPTIONS: Readonly<VideoJobOptions> = { iterations: 100, firstIterations: 200, temporalWeight: 200, format: 'mp4' };

/**
 * A clip as the page read it, never a path: a video file's bytes (anything ffmpeg decodes), or a folder's frames in
 * their order (images of one size) with the rate to play them at.
 */
export type VideoClipInput =
  | { kind: 'video'; file: ImageInput }
  /** `name`: the folder's, for display and the video's file name. */
  | { kind: 'frames'; name: string; frames: ImageInput[]; fps: number };

export interface StartVideoJobRequest {
  clip: VideoClipInput;
  styles: { image: ImageInput; blend: number }[];
  settings: StudioSettings;
  video: VideoJobOptions;
}

export interface VideoJobStatus {
  /**
   * empty: no job; running / paused: painting (paused after the current iteration); stopped: ended by Stop, its
   * finished frames kept (resume continues from the last); encoding; finished: the video is ready; failed: `error` says.
   */
  state: 'empty' | 'running' | 'paused' | 'stopped' | 'encoding' | 'finished' | 'failed';
  clipName: string | null;
  /** 0 until the clip is decoded. */
  frames: number;
  framesDone: number;
  fps: number;
  width: number;
  height: number;
  hasAudio: boolean;
  /** The frame being painted now, with its iteration. */
  current: { frame: number; iteration: number; iterations: number } | null;
  /** The encoding's progress, 0..1, while encoding. */
  encoded: number | null;
  /** The encoded video, once finished. */
  output: { fileName: string; format: 'mp4' | 'webm' | 'gif'; sizeBytes: number } | null;
  error: ErrorInfo | null;
}

export type VideoJobEvent =
  | { type: 'status'; status: VideoJobStatus }
  /** A frame finished: its stylised picture (PNG) for the strip. */
  | { type: 'frame'; frame: number; png: Uint8Array }
  /** The frame in progress: its iteration and, now and then, its picture. */
  | { type: 'progress'; frame: number; iteration: number; iterations: number; loss: number; preview: PreviewFrame | null };

/** A stylised frame (1-based), for the strip of a job opened again. */
export interface VideoJobFrameRef {
  frame: number;
}

/** The encoded video, for the page to save. */
export interface VideoJobOutput {
  fileName: string;
  mimeType: 'video/mp4' | 'video/webm' | 'image/gif';
  bytes: Uint8Array;
}
