// Reads exported videos back as a player would: ffprobe for the stream facts, ffmpeg + sharp for decoded frames.

import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { resolveFfprobe, type ResolvedTool } from '../../src/engine/video/ffmpeg.js';

const run = promisify(execFile);

/** ffprobe and the ffmpeg beside it (the system's, not the one under test), or why the video tests must skip. */
export async function findProbeTools(): Promise<{ ffprobe: string; ffmpeg: string } | { reason: string }> {
  let ffprobe: ResolvedTool;
  try {
    ffprobe = await resolveFfprobe();
  } catch (error) {
    return { reason: `ffprobe is not installed (${(error as Error).message.slice(0, 120)}…)` };
  }
  const ffmpeg = path.join(path.dirname(ffprobe.path), process.platform === 'win32' ? 'ffmpeg.exe' : 'ffmpeg');
  try {
    await run(ffmpeg, ['-hide_banner', '-version']);
  } catch {
    return { reason: `no ffmpeg beside ${ffprobe.path} to decode frames with` };
  }
  return { ffprobe: ffprobe.path, ffmpeg };
}

export interface ProbedVideo {
  codec: string;
  width: number;
  height: number;
  pixFmt: string;
  /** Frames a decoder actually produced (ffprobe -count_frames). */
  frames: number;
  /** Frame rate as a number (r_frame_rate). */
  fps: number;
  /** Container duration in seconds. */
  duration: number;
}

export async function probeVideo(ffprobe: string, file: string): Promise<ProbedVideo> {
  const { stdout } = await run(ffprobe, [
    '-v', 'error', '-count_frames', '-select_streams', 'v:0',
    '-show_entries', 'stream=codec_name,width,height,pix_fmt,nb_read_frames,r_frame_rate:format=duration',
    '-of', 'json', file,
  ]);
  const parsed = JSON.parse(stdout) as { streams: Record<string, string | number>[]; format: { duration: string } };
  const stream = parsed.streams[0]!;
  const [num, den] = String(stream.r_frame_rate).split('/').map(Number);
  return {
    codec: String(stream.codec_name),
    width: Number(stream.width),
    height: Number(stream.height),
    pixFmt: String(stream.pix_fmt),
    frames: Number(stream.nb_read_frames),
    fps: num! / (den ?? 1),
    duration: Number(parsed.format.duration),
  };
}

/**
 * Decoded frame `index` as interleaved RGB bytes. YUV is converted back with the BT.709 limited-range matrix the
 * stream is tagged with (as browsers do), interpolating chroma at full precision.
 */
export async function decodeFrame(ffmpeg: string, file: string, index: number): Promise<RgbBytes> {
  const toRgb = 'scale=in_color_matrix=bt709:in_range=tv:flags=bicubic+accurate_rnd+full_chroma_int,format=rgb24';
  const { stdout } = await run(
    ffmpeg,
    ['-v', 'error', '-i', file, '-vf', `select=eq(n\\,${index}),${toRgb}`, '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  const { data, info } = await sharp(stdout).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

export async function decodePng(file: string): Promise<RgbBytes> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

export interface RgbBytes {
  data: Buffer;
  width: number;
  height: number;
}

export function crop(image: RgbBytes, left: number, top: number, width: number, height: number): RgbBytes {
  const data = Buffer.alloc(3 * width * height);
  for (let y = 0; y < height; y++) image.data.copy(data, 3 * y * width, 3 * ((top + y) * image.width + left), 3 * ((top + y) * image.width + left + width));
  return { data, width, height };
}

/**
 * PSNR in dB of `test` against `reference` over the reference's width × height: the top-left corner of `test`,
 * so the padding an encoder added on the right and bottom is left out. All three channels.
 */
export function psnr(reference: RgbBytes, test: RgbBytes): number {
  const region = crop(test, 0, 0, reference.width, reference.height);
  let squared = 0;
  for (let i = 0; i < reference.data.length; i++) {
    const d = reference.data[i]! - region.data[i]!;
    squared += d * d;
  }
  const mse = squared / reference.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}
