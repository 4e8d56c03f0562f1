// The frames a video job paints: a video file decoded by ffmpeg, scaled to the stylisation size and streamed to
// numbered PNGs on disk (never the clip in memory), or a folder of numbered frames in natural order.

import { createHash } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { NstError } from '../../errors.js';
import { fileSha256, isImageName } from '../../persist/batch-manifest.js';
import { sizeWithLongest } from '../../render/memory.js';
import type { VideoFacts } from './probe.js';
import { runFfmpegToEnd } from './run-ffmpeg.js';

export type InputKind = 'video' | 'frames';

/** What the job's input is, before anything is decoded: enough to tell whether a saved job is of the same input. */
export interface InputIdentity {
  readonly kind: InputKind;
  /** Absolute path of the video file or the frames folder. */
  readonly path: string;
  /** SHA-256 of the video file; of a folder, of its frame names and their contents in order. */
  readonly fingerprint: string;
}

/** Says whether `input` is a video file or a folder of frames, and fingerprints it. FILE_NOT_FOUND when it is neither. */
export async function identifyInput(input: string): Promise<InputIdentity> {
  const absolute = path.resolve(input);
  const info = await stat(absolute).catch((error: unknown) => {
    throw new NstError('FILE_NOT_FOUND', `No video or frames folder at ${absolute}.`, { cause: error });
  });
  if (info.isDirectory()) {
    const frames = await listFrameFolder(absolute);
    const hash = createHash('sha256');
    for (const frame of frames) hash.update(`${path.basename(frame)}\0${await fileSha256(frame)}\n`);
    return { kind: 'frames', path: absolute, fingerprint: hash.digest('hex') };
  }
  return { kind: 'video', path: absolute, fingerprint: await fileSha256(absolute) };
}

/**
 * The images directly in `dir` (PNG, JPEG, WebP, TIFF…), in natural order: frame_2 before frame_10.
 * BAD_ARGUMENT when it holds none.
 */
export async function listFrameFolder(dir: string): Promise<string[]> {
  const names = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isFile() && isImageName(entry.name)).map((entry) => entry.name);
  if (names.length === 0) throw new NstError('BAD_ARGUMENT', `${dir} holds no frames: give a folder of numbered images (frame_0001.png, …) or a video file.`);
  const natural = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });
  return names.sort((a, b) => natural.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0)).map((name) => path.join(dir, name));
}

/** The decoded frames' names: frame_000001.png, … (1-based, as ffmpeg's image2 muxer numbers them). */
export const DECODED_FRAME_PATTERN = 'frame_%06d.png';

/**
 * Decodes every frame of `file` into `dir` (emptied first) as PNGs of the stylisation size (`sizePx` on the longest
 * side, as decodeImage would scale a photo), one frame per input frame (no rate conversion). Returns their paths
 * in order. ffmpeg writes each frame to disk as it decodes it, so memory does not grow with the clip. Aborting
 * kills ffmpeg (ABORTED).
 */
export async function decodeVideoFrames(options: { file: string; facts: VideoFacts; sizePx: number; dir: string; ffmpeg: string; signal?: AbortSignal }): Promise<string[]> {
  const { width, height } = sizeWithLongest(options.facts.width, options.facts.height, options.sizePx);
  await rm(options.dir, { recursive: true, force: true });
  await mkdir(options.dir, { recursive: true });
  const args = [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', options.file, '-map', '0:v:0',
    '-vf', `scale=${width}:${height}:flags=lanczos+accurate_rnd+full_chroma_int,format=rgb24`,
    // Every decoded frame once, none duplicated or dropped for a rate (-vsync: older ffmpegs lack -fps_mode).
    '-vsync', 'passthrough', '-start_number', '1', path.join(options.dir, DECODED_FRAME_PATTERN),
  ];
  await runFfmpegToEnd(options.ffmpeg, args, {
    ...(options.signal ? { signal: options.signal } : {}),
    failure: (detail) => new NstError('NOT_AN_IMAGE', `ffmpeg could not decode ${options.file}: ${detail}`),
    abortedMessage: 'Decoding the video was stopped.',
  });
  const frames = (await readdir(options.dir)).filter((name) => /^frame_\d{6}\.png$/.test(name)).sort();
  if (frames.length === 0) throw new NstError('NOT_AN_IMAGE', `${options.file} holds no video frames ffmpeg could decode.`);
  return frames.map((name) => path.join(options.dir, name));
}
