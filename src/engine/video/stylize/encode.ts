// The finished frames as the output video: export.ts's encoder (H.264 / VP9 / palette GIF) at the input's rate,
// then the input's audio track, when it has one, muxed in beside the video without re-encoding the picture.

import { rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { NstError } from '../../errors.js';
import { removeStaleTemporaries, temporaryPath } from '../../sys/atomic-file.js';
import { exportVideo, videoFormatForPath, type VideoExportResult, type VideoProgress } from '../export.js';
import type { ResolvedTool } from '../ffmpeg.js';
import { runFfmpegToEnd } from './run-ffmpeg.js';

export interface EncodeOptions {
  /** The job's folder: its numbered frames are the video; the silent video is made here before the audio goes in. */
  readonly framesDir: string;
  readonly output: string;
  readonly fps: number;
  /** The original clip, whose audio is carried over (nothing for a GIF, or when it has none). */
  readonly audioFrom: string | null;
  readonly ffmpeg: Pick<ResolvedTool, 'path' | 'source'>;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: VideoProgress) => void;
}

export interface EncodedVideo extends VideoExportResult {
  /** Whether an audio track went in. */
  readonly audio: boolean;
}

/** Encodes the frames to `output` (replaced atomically). ABORTED when the signal fires; RUNTIME_FAILURE from ffmpeg. */
export async function encodeStylisedVideo(options: EncodeOptions): Promise<EncodedVideo> {
  const format = videoFormatForPath(options.output);
  const common = { framesDir: options.framesDir, fps: options.fps, holdFinalSeconds: 0, ffmpeg: options.ffmpeg, ...(options.signal ? { signal: options.signal } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) };
  if (format === 'gif' || options.audioFrom === null) return { ...(await exportVideo({ ...common, output: options.output })), audio: false };
  const silent = path.join(options.framesDir, `silent.${format}`);
  const exported = await exportVideo({ ...common, output: silent });
  await removeStaleTemporaries(path.dirname(options.output), (target) => target === path.basename(options.output));
  const temporary = temporaryPath(options.output);
  // The picture is copied as encoded; the sound is re-encoded to what the container takes (AAC in MP4, Opus in
  // WebM). `1:a?`: no audio stream is no error. -t (the frames' length) trims a longer track: -shortest cut the
  // sound of a short clip to its first packets (ffmpeg ends it once the copied video's few packets are out).
  const audio = format === 'mp4' ? ['-c:a', 'aac', '-b:a', '192k'] : ['-c:a', 'libopus', '-b:a', '128k'];
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', silent, '-i', options.audioFrom, '-map', '0:v:0', '-map', '1:a:0?', '-c:v', 'copy', ...audio, '-t', String(exported.durationSeconds), ...(format === 'mp4' ? ['-movflags', '+faststart', '-f', 'mp4'] : ['-f', 'webm']), temporary];
  try {
    await runFfmpegToEnd(options.ffmpeg.path, args, {
      ...(options.signal ? { signal: options.signal } : {}),
      failure: (detail) => new NstError('RUNTIME_FAILURE', `ffmpeg could not add the audio track: ${detail}`),
      abortedMessage: 'The video export was cancelled; no file was written.',
    });
    await rename(temporary, options.output);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  } finally {
    await rm(silent, { force: true });
  }
  return { ...exported, output: path.resolve(options.output), audio: true };
}
