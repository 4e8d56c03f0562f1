// The tagged messages between the video job service (services/video-job-service.ts) and the job worker's video
// half (worker/video-job.ts); structured-cloned, buffers transferred.

import type { ErrorInfo, PreviewFrame } from '../../shared/api.js';
import type { VideoJobSettings } from '../../engine/index.js';

export interface VideoStartMessage {
  type: 'video-start';
  /** The clip (a video file, or a folder of frames) and the style images, as files the service wrote. */
  input: string;
  /** A folder's frame rate; null for a video (its own). */
  fps: number | null;
  styles: string[];
  jobDir: string;
  /** The video encoded once every frame is painted. */
  output: string;
  settings: VideoJobSettings;
  weightsPath: string;
  /** The ffmpeg the studio uses (its setting, NST_FFMPEG, else found as the CLI finds it). */
  ffmpegPath: string | null;
  /** A preview of the frame in progress at most this often. */
  previewIntervalMs: number;
}

export type VideoParentToWorker = VideoStartMessage | { type: 'video-pause' } | { type: 'video-resume' } | { type: 'video-stop' };

/** What the job reports, in the engine's order (input, then per frame started, progress… done, then encoding). */
export type VideoWorkerEvent =
  | { type: 'input'; frames: number; fps: number; width: number; height: number; hasAudio: boolean; alreadyDone: number }
  | { type: 'frame-started'; frame: number; iterations: number }
  | { type: 'progress'; frame: number; iteration: number; iterations: number; loss: number; preview: PreviewFrame | null }
  | { type: 'frame-done'; frame: number; file: string }
  | { type: 'encoding'; fraction: number };

export type VideoWorkerToParent =
  | { type: 'video-event'; event: VideoWorkerEvent }
  /** The job ended: every frame painted and the video written, or stopped with its finished frames kept. */
  | { type: 'video-done'; stopped: boolean; framesDone: number; frames: number; output: { path: string; sizeBytes: number } | null }
  | { type: 'video-error'; error: ErrorInfo };

export const isVideoMessage = (message: { type: string }): message is VideoParentToWorker => message.type.startsWith('video-');
