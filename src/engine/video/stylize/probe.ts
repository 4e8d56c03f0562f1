// What a video file holds, for decoding and re-encoding it: size as shown (rotation applied), frame rate, audio.
// ffprobe when there is one (exact rational rates); else ffmpeg's own description of its input (rates as it prints them).

import { execFile } from 'node:child_process';
import { NstError } from '../../errors.js';
import { resolveFfprobe } from '../ffmpeg.js';

export interface VideoFacts {
  /** Size as players show it: a ±90° rotation tag swaps the coded sides (ffmpeg rotates when it decodes). */
  readonly width: number;
  readonly height: number;
  /** Frames per second: the stream's average rate (its nominal rate when that is not given). */
  readonly fps: number;
  readonly hasAudio: boolean;
  /** Which tool said so: 'ffprobe', or 'ffmpeg' where no ffprobe was found (its rate is rounded to 2 decimals). */
  readonly via: 'ffprobe' | 'ffmpeg';
}

/** Reads `file`'s first video stream. NOT_AN_IMAGE (exit 3) when it has none or the tools cannot read it. */
export async function probeVideoFile(file: string, ffmpegPath: string): Promise<VideoFacts> {
  const ffprobe = await resolveFfprobe({ ffmpegPath }).catch(() => null);
  return ffprobe ? viaFfprobe(file, ffprobe.path) : viaFfmpeg(file, ffmpegPath);
}

interface ProbeStream {
  codec_type?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  side_data_list?: { rotation?: number }[];
  tags?: { rotate?: string };
}

async function viaFfprobe(file: string, ffprobe: string): Promise<VideoFacts> {
  const args = ['-v', 'error', '-show_entries', 'stream=codec_type,width,height,r_frame_rate,avg_frame_rate:stream_side_data=rotation:stream_tags=rotate', '-of', 'json', file];
  const { code, stdout, stderr } = await capture(ffprobe, args);
  let streams: ProbeStream[] = [];
  try {
    streams = (JSON.parse(stdout) as { streams?: ProbeStream[] }).streams ?? [];
  } catch {
    // ffprobe wrote no JSON: said below from its stderr.
  }
  const video = streams.find((s) => s.codec_type === 'video' && (s.width ?? 0) > 0 && (s.height ?? 0) > 0);
  if (code !== 0 || !video) throw unreadable(file, stderr);
  const fps = [video.avg_frame_rate, video.r_frame_rate].map(rate).find((r) => r !== null) ?? null;
  if (fps === null) throw new NstError('NOT_AN_IMAGE', `${file} does not say its frame rate, so it cannot be stylised as a clip: extract its frames to a folder and give that with --fps.`);
  const rotation = video.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation ?? Number(video.tags?.rotate ?? 0);
  return { ...shown(video.width!, video.height!, rotation), fps, hasAudio: streams.some((s) => s.codec_type === 'audio'), via: 'ffprobe' };
}

async function viaFfmpeg(file: string, ffmpeg: string): Promise<VideoFacts> {
  // `ffmpeg -i FILE` with no output describes the input on stderr, then exits 1 ("At least one output file…").
  const { stderr } = await capture(ffmpeg, ['-hide_banner', '-i', file]);
  const video = /Stream #\d+:\d+.*?: Video: .*?, (\d{1,5})x(\d{1,5})\b.*?, ([\d.]+) (?:fps|tbr)/.exec(stderr);
  if (!video) throw unreadable(file, stderr);
  const rotation = /rotation of (-?[\d.]+) degrees/.exec(stderr);
  return { ...shown(Number(video[1]), Number(video[2]), rotation ? Number(rotation[1]) : 0), fps: Number(video[3]), hasAudio: /Stream #\d+:\d+.*?: Audio: /.test(stderr), via: 'ffmpeg' };
}

/** `30000/1001` → 29.97…; null for 0/0 and other non-rates. */
function rate(text: string | undefined): number | null {
  const [num, den] = (text ?? '').split('/').map(Number);
  const value = den === undefined ? num! : num! / den;
  return Number.isFinite(value) && value > 0 ? value : null;
}

function shown(width: number, height: number, rotation: number): { width: number; height: number } {
  return Math.abs(Math.round(rotation / 90)) % 2 === 1 ? { width: height, height: width } : { width, height };
}

function unreadable(file: string, stderr: string): NstError {
  const detail = stderr.trim().split('\n').filter(Boolean).at(-1)?.trim();
  return new NstError('NOT_AN_IMAGE', `${file} is not a video ffmpeg can read${detail ? ` (${detail})` : ''}: give a video file (MP4, WebM, MOV, …) or a folder of numbered frames.`);
}

function capture(executable: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(executable, args, { maxBuffer: 4 * 1024 * 1024, windowsHide: true }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
