// Encodes a folder of frames into an MP4 (H.264), WebM (VP9) or palette-optimised GIF with ffmpeg: frames are
// composed (side-by-side, caption, even padding) with sharp and piped to ffmpeg as raw RGB, one at a time.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { NstError } from '../errors.js';
import { MAX_IMAGE_PIXELS, readUntrusted } from '../io/image.js';
import { loadSharp } from '../io/sharp.js';
import { removeStaleTemporaries, temporaryPath } from '../sys/atomic-file.js';
import { makeTempFolder, removeStaleTempFolders } from '../sys/temp-folders.js';
import { listFrames, type FrameSource } from './frame-index.js';
import { resolveFfmpeg, type ResolveFfmpegOptions, type ResolvedTool } from './ffmpeg.js';

export type VideoFormat = 'mp4' | 'webm' | 'gif';

export const VIDEO_FORMATS: readonly VideoFormat[] = ['mp4', 'webm', 'gif'];
export const DEFAULT_FPS = 10;
export const DEFAULT_HOLD_SECONDS = 1;
/** H.264 CRF 18 / VP9 CRF 20: visually lossless for painterly frames (VP9's scale runs higher for the same look). */
const X264_CRF = 18;
const VP9_CRF = 20;
/**
 * Floyd–Steinberg: the closest error diffusion to the frames (it measured ~0.4 dB above sierra2_4a on real runs);
 * rectangle diff mode re-dithers only what changed, so still parts (and held frames) do not shimmer.
 */
const GIF_PALETTE_USE = 'paletteuse=dither=floyd_steinberg:diff_mode=rectangle';

export interface VideoProgress {
  /** GIF runs two passes: 'palette' (ffmpeg reads every frame to choose 256 colours), then 'encode'. */
  readonly phase: 'palette' | 'encode';
  /** Frames done in this phase. */
  readonly frame: number;
  readonly totalFrames: number;
  /** The whole export, 0..1. */
  readonly fraction: number;
}

export interface ExportVideoOptions {
  /** A frame spool (its frames.jsonl) or a folder of numbered images. */
  readonly framesDir: string;
  /** .mp4, .webm or .gif; written through a temp file in the same folder and a rename. */
  readonly output: string;
  /** Default: from the output's extension. */
  readonly format?: VideoFormat;
  /** Frames per second, 0.5..120. Default 10 (the seed's). */
  readonly fps?: number;
  /** Show the last frame this much longer, in seconds (0..60). Default 1. */
  readonly holdFinalSeconds?: number;
  /** The content image on the left of every frame: true = the spool's content.png, or a path to an image. */
  readonly sideBySide?: boolean | string;
  /** Draw "iteration N · loss L" onto each frame. */
  readonly caption?: boolean;
  /** An ffmpeg to use as it is (a path, or what resolveFfmpeg returned), or how to find one (default: resolveFfmpeg()). */
  readonly ffmpeg?: string | Pick<ResolvedTool, 'path' | 'source'> | ResolveFfmpegOptions;
  readonly onProgress?: (progress: VideoProgress) => void;
  /** Aborting kills ffmpeg and removes the partial file; exportVideo then rejects with ABORTED. */
  readonly signal?: AbortSignal;
}

export interface VideoExportResult {
  readonly output: string;
  readonly format: VideoFormat;
  /** The video's size: the frames' (plus the content panel), padded to even for MP4/WebM. */
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly capturedFrames: number;
  /** Copies of the last frame appended for holdFinalSeconds. */
  readonly heldFrames: number;
  readonly totalFrames: number;
  readonly durationSeconds: number;
  readonly ffmpeg: { readonly path: string; readonly source: string };
}

export function videoFormatForPath(file: string): VideoFormat {
  const extension = path.extname(file).toLowerCase();
  if (extension === '.mp4' || extension === '.m4v') return 'mp4';
  if (extension === '.webm') return 'webm';
  if (extension === '.gif') return 'gif';
  throw new NstError('BAD_ARGUMENT', `Cannot tell the video format of ${file}: use a .mp4, .webm or .gif name.`);
}

/** H.264 and VP9 in 4:2:0 need even sides (x264 refuses odd ones): pad by repeating the last row/column. GIF keeps its size. */
export function videoFrameSize(format: VideoFormat, width: number, height: number): { width: number; height: number } {
  if (format === 'gif') return { width, height };
  return { width: width + (width % 2), height: height + (height % 2) };
}

export function heldFrameCount(fps: number, holdFinalSeconds: number): number {
  return Math.round(fps * holdFinalSeconds);
}

export async function exportVideo(options: ExportVideoOptions): Promise<VideoExportResult> {
  const output = path.resolve(options.output);
  const format = options.format ?? videoFormatForPath(output);
  if (!VIDEO_FORMATS.includes(format)) throw new NstError('BAD_ARGUMENT', `The video format must be mp4, webm or gif, got "${String(format)}".`);
  const fps = options.fps ?? DEFAULT_FPS;
  if (!Number.isFinite(fps) || fps < 0.5 || fps > 120) throw new NstError('BAD_ARGUMENT', `fps must be a number from 0.5 to 120, got ${String(fps)}.`);
  const holdSeconds = options.holdFinalSeconds ?? DEFAULT_HOLD_SECONDS;
  if (!Number.isFinite(holdSeconds) || holdSeconds < 0 || holdSeconds > 60) {
    throw new NstError('BAD_ARGUMENT', `The final-frame hold must be 0 to 60 seconds, got ${String(holdSeconds)}.`);
  }
  throwIfAborted(options.signal);

  const list = await listFrames(options.framesDir);
  const folder = path.dirname(output);
  if (!(await stat(folder).then((s) => s.isDirectory(), () => false))) {
    throw new NstError('FILE_NOT_FOUND', `Cannot write ${output}: the folder ${folder} does not exist.`);
  }
  const contentPath = options.sideBySide === true ? list.contentPath : options.sideBySide || null;
  if (options.sideBySide === true && !contentPath) {
    throw new NstError('BAD_ARGUMENT', `Side-by-side needs the content image: ${list.dir} has no content.png, so give the content image's path.`);
  }
  const ffmpeg: Pick<ResolvedTool, 'path' | 'source'> =
    typeof options.ffmpeg === 'string'
      ? { path: options.ffmpeg, source: 'setting' }
      : options.ffmpeg && 'path' in options.ffmpeg
        ? options.ffmpeg
        : await resolveFfmpeg(options.ffmpeg);
  throwIfAborted(options.signal);

  // Every frame's shape from its header, before ffmpeg starts: a frame of another shape is refused, not stretched.
  await checkFrameShapes(list.frames);
  const renderer = await FrameRenderer.create(list.frames[0]!.path, { format, contentPath, caption: options.caption === true });
  const heldFrames = heldFrameCount(fps, holdSeconds);
  const sequence: FrameSource[] = [...list.frames, ...Array.from({ length: heldFrames }, () => list.frames.at(-1)!)];
  const total = sequence.length;
  const input = ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${renderer.width}x${renderer.height}`, '-framerate', String(fps), '-i', 'pipe:0'];
  const feed = (frames: readonly FrameSource[]) => async (stdin: Writable, signal: AbortSignal) => {
    for (const frame of frames) {
      if (signal.aborted) return;
      await write(stdin, await renderer.render(frame));
    }
  };

  // Named for this process, as every temporary file of nst's: what an export killed mid-way left is swept first.
  await removeStaleTemporaries(folder, (target) => target === path.basename(output));
  const temporary = temporaryPath(output);
  if (format === 'gif') await removeStaleTempFolders('palette');
  const scratch = format === 'gif' ? await makeTempFolder('palette') : null;
  try {
    if (format === 'gif') {
      // Pass 1 chooses the 256 colours from every distinct frame; pass 2 maps each frame onto them (dithered).
      // Two passes keep ffmpeg from buffering the whole video in memory, which a one-command split would.
      const palette = path.join(scratch!, 'palette.png');
      const paletteWeight = 0.25;
      let fed = 0;
      await runFfmpeg(ffmpeg.path, [...input, '-vf', 'palettegen=stats_mode=full', palette], {
        feed: async (stdin, signal) => {
          for (const frame of list.frames) {
            if (signal.aborted) return;
            await write(stdin, await renderer.render(frame));
            fed++;
            options.onProgress?.({ phase: 'palette', frame: fed, totalFrames: list.frames.length, fraction: (paletteWeight * fed) / list.frames.length });
          }
        },
        signal: options.signal,
      });
      await runFfmpeg(ffmpeg.path, [...input, '-i', palette, '-lavfi', `[0:v][1:v]${GIF_PALETTE_USE}`, '-loop', '0', '-f', 'gif', temporary], {
        feed: feed(sequence),
        onFrame: (frame) => options.onProgress?.({ phase: 'encode', frame, totalFrames: total, fraction: paletteWeight + ((1 - paletteWeight) * frame) / total }),
        signal: options.signal,
      });
    } else {
      // RGB → BT.709 limited-range 4:2:0, tagged so players convert back with the same matrix.
      const colour = ['-vf', 'scale=out_color_matrix=bt709:out_range=tv:flags=bicubic+accurate_rnd+full_chroma_int,format=yuv420p',
        '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv'];
      const codec =
        format === 'mp4'
          ? ['-c:v', 'libx264', '-preset', 'medium', '-crf', String(X264_CRF), ...colour, '-movflags', '+faststart', '-f', 'mp4']
          : ['-c:v', 'libvpx-vp9', '-crf', String(VP9_CRF), '-b:v', '0', '-deadline', 'good', '-cpu-used', '4', '-row-mt', '1', ...colour, '-f', 'webm'];
      await runFfmpeg(ffmpeg.path, [...input, ...codec, temporary], {
        feed: feed(sequence),
        onFrame: (frame) => options.onProgress?.({ phase: 'encode', frame, totalFrames: total, fraction: frame / total }),
        signal: options.signal,
      });
    }
    throwIfAborted(options.signal);
    await rename(temporary, output);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
  options.onProgress?.({ phase: 'encode', frame: total, totalFrames: total, fraction: 1 });
  return {
    output,
    format,
    width: renderer.width,
    height: renderer.height,
    fps,
    capturedFrames: list.frames.length,
    heldFrames,
    totalFrames: total,
    durationSeconds: total / fps,
    ffmpeg: { path: ffmpeg.path, source: ffmpeg.source },
  };
}

/**
 * Throws BAD_ARGUMENT naming the first frame whose shape (width:height, as shown: EXIF orientation applied) is not the
 * first frame's: fitting it to the first frame's size would stretch it. Frames of the same shape at another size (a
 * coarse scale's, rounded) are only scaled, which distorts nothing. A frame whose header cannot be read is
 * NOT_AN_IMAGE, as decoding it would be.
 */
async function checkFrameShapes(frames: readonly FrameSource[]): Promise<void> {
  let first: { width: number; height: number; path: string } | null = null;
  for (const frame of frames) {
    let size: { width: number; height: number };
    try {
      size = (await (await loadSharp())(frame.path).metadata()).autoOrient;
    } catch (error) {
      throw new NstError('NOT_AN_IMAGE', `Cannot read the frame ${frame.path} (${(error as Error).message.split('\n')[0]}).`, { cause: error });
    }
    if (!first) {
      first = { ...size, path: frame.path };
      continue;
    }
    // Same shape within a pixel of rounding either way (a 96x54 frame of a 1920x1080 run).
    const sameShape = Math.abs(size.width - (size.height * first.width) / first.height) <= 1 || Math.abs(size.height - (size.width * first.height) / first.width) <= 1;
    if (!sameShape) {
      throw new NstError(
        'BAD_ARGUMENT',
        `The frame ${frame.path} is ${size.width}x${size.height}, a different shape from the first frame ${first.path} (${first.width}x${first.height}): ` +
          'a video has one shape, and fitting it would stretch it. Remove it from the folder or crop it to that shape.',
      );
    }
  }
}

/** Turns frame files into the raw RGB frames ffmpeg reads: content panel, caption, even padding. */
class FrameRenderer {
  private constructor(
    /** The frames' own size (the first frame's; others are resized to it). */
    private readonly frameWidth: number,
    private readonly frameHeight: number,
    private readonly panel: { data: Buffer; width: number } | null,
    private readonly caption: boolean,
    /** The size ffmpeg gets. */
    readonly width: number,
    readonly height: number,
  ) {}

  static async create(firstFrame: string, options: { format: VideoFormat; contentPath: string | null; caption: boolean }): Promise<FrameRenderer> {
    const first = await decodeRaw(firstFrame);
    let panel: { data: Buffer; width: number } | null = null;
    if (options.contentPath) {
      const content = await decodeRaw(options.contentPath, { height: first.height });
      panel = { data: content.data, width: content.width };
    }
    const composed = (panel?.width ?? 0) + first.width;
    const size = videoFrameSize(options.format, composed, first.height);
    return new FrameRenderer(first.width, first.height, panel, options.caption, size.width, size.height);
  }

  async render(frame: FrameSource): Promise<Buffer> {
    const decoded = await decodeRaw(frame.path, { width: this.frameWidth, height: this.frameHeight });
    const composedWidth = (this.panel?.width ?? 0) + this.frameWidth;
    let pixels = this.panel ? besideEachOther(this.panel.data, this.panel.width, decoded.data, this.frameWidth, this.frameHeight) : decoded.data;
    if (this.caption) pixels = await drawCaption(pixels, composedWidth, this.frameHeight, captionText(frame));
    return padByRepeatingEdges(pixels, composedWidth, this.frameHeight, this.width, this.height);
  }
}

/**
 * Decodes to 8-bit sRGB RGB. `size` with a width: resized (fill) to exactly that, when it is not that already;
 * with a height only: resized to that height, keeping the aspect ratio.
 */
async function decodeRaw(file: string, size?: { width?: number; height: number }): Promise<{ data: Buffer; width: number; height: number }> {
  const decode = async (resize: { width?: number; height: number } | undefined) => {
    // Frames are as large as outputs are: up to 16384 x 16384.
    let image = (await readUntrusted(file, MAX_IMAGE_PIXELS)).autoOrient();
    if (resize) image = image.resize({ width: resize.width, height: resize.height, fit: resize.width === undefined ? 'inside' : 'fill', kernel: 'lanczos3' });
    return image.flatten({ background: '#000000' }).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  };
  try {
    let { data, info } = await decode(size?.width === undefined ? size : undefined);
    if (size?.width !== undefined && (info.width !== size.width || info.height !== size.height)) ({ data, info } = await decode(size));
    return { data, width: info.width, height: info.height };
  } catch (error) {
    throw new NstError('NOT_AN_IMAGE', `Cannot read the frame ${file} (${(error as Error).message.split('\n')[0]}).`, { cause: error });
  }
}

function besideEachOther(left: Buffer, leftWidth: number, right: Buffer, rightWidth: number, height: number): Buffer {
  const width = leftWidth + rightWidth;
  const out = Buffer.alloc(3 * width * height);
  for (let y = 0; y < height; y++) {
    left.copy(out, 3 * y * width, 3 * y * leftWidth, 3 * (y + 1) * leftWidth);
    right.copy(out, 3 * (y * width + leftWidth), 3 * y * rightWidth, 3 * (y + 1) * rightWidth);
  }
  return out;
}

/** Grows an RGB image to outWidth × outHeight by repeating its last column and row (no dark seam at the edge). */
function padByRepeatingEdges(pixels: Buffer, width: number, height: number, outWidth: number, outHeight: number): Buffer {
  if (outWidth === width && outHeight === height) return pixels;
  const out = Buffer.alloc(3 * outWidth * outHeight);
  for (let y = 0; y < outHeight; y++) {
    const sourceRow = Math.min(y, height - 1);
    pixels.copy(out, 3 * y * outWidth, 3 * sourceRow * width, 3 * (sourceRow + 1) * width);
    for (let x = width; x < outWidth; x++) pixels.copy(out, 3 * (y * outWidth + x), 3 * (sourceRow * width + width - 1), 3 * (sourceRow * width + width));
  }
  return out;
}

function captionText(frame: FrameSource): string {
  const iteration = frame.iteration === null ? '' : `iteration ${frame.iteration}`;
  const loss = frame.loss === null ? '' : `loss ${frame.loss.toExponential(3)}`;
  return [iteration, loss].filter(Boolean).join(' · ');
}

/**
 * A translucent strip along the bottom with the text in white, rendered by sharp's SVG rasteriser (librsvg) from
 * generic font families, so any installed monospace font serves and nothing is fetched.
 */
async function drawCaption(pixels: Buffer, width: number, height: number, text: string): Promise<Buffer> {
  if (!text) return pixels;
  const strip = Math.max(10, Math.round(height * 0.09));
  const margin = Math.max(2, Math.round(strip * 0.3));
  // Monospace glyphs are about 0.6 em wide: shrink the text until it fits the width.
  const fontSize = Math.max(5, Math.min(Math.round(strip * 0.7), Math.floor((width - 2 * margin) / (0.6 * text.length))));
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${strip}">` +
    `<rect width="${width}" height="${strip}" fill="#000" fill-opacity="0.55"/>` +
    `<text x="${margin}" y="${(strip + fontSize * 0.7) / 2}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="${fontSize}" fill="#fff">${escapeXml(text)}</text>` +
    '</svg>';
  const { data, info } = await (await loadSharp())(pixels, { raw: { width, height, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: height - strip, left: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== width || info.height !== height) throw new NstError('RUNTIME_FAILURE', 'Drawing the caption changed the frame\'s size.');
  return data;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface FfmpegJob {
  /** Writes the input to ffmpeg's stdin; stdin is closed after it resolves. */
  feed: (stdin: Writable, signal: AbortSignal) => Promise<void>;
  /** Output frames so far, from `-progress pipe:1`. */
  onFrame?: (frame: number) => void;
  signal?: AbortSignal;
}

/** Runs ffmpeg to completion; a non-zero exit becomes RUNTIME_FAILURE with ffmpeg's last error lines, an abort ABORTED. */
async function runFfmpeg(ffmpeg: string, args: readonly string[], job: FfmpegJob): Promise<void> {
  const stop = new AbortController();
  const child = spawn(ffmpeg, ['-hide_banner', '-nostats', '-loglevel', 'error', '-progress', 'pipe:1', '-y', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    windowsHide: true,
  });
  const onAbort = (): void => {
    stop.abort();
    child.kill('SIGKILL');
  };
  job.signal?.addEventListener('abort', onAbort, { once: true });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const match = /^frame=\s*(\d+)/.exec(line);
      if (match) job.onFrame?.(Number(match[1]));
    }
  });
  // ffmpeg exiting early closes the pipe under the feeder (EPIPE); its exit status tells the real story.
  child.stdin.on('error', () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  exited.catch(() => undefined);
  let feedError: unknown = null;
  const feeding = (async () => {
    try {
      await job.feed(child.stdin, stop.signal);
    } catch (error) {
      feedError = error;
      child.kill('SIGKILL');
    } finally {
      child.stdin.end();
    }
  })();
  try {
    let exit: { code: number | null; signal: NodeJS.Signals | null };
    try {
      exit = await exited;
    } catch (error) {
      stop.abort();
      throw new NstError('FFMPEG_NOT_FOUND', `Cannot run ffmpeg at ${ffmpeg} (${(error as Error).message}).`, { cause: error });
    }
    stop.abort();
    await feeding;
    throwIfAborted(job.signal);
    if (feedError) throw feedError;
    if (exit.code !== 0) {
      const detail = stderr.trim().split('\n').slice(-3).join(' ').trim() || `exit ${exit.code ?? exit.signal}`;
      throw new NstError('RUNTIME_FAILURE', `ffmpeg could not encode the video: ${detail}`);
    }
  } finally {
    job.signal?.removeEventListener('abort', onAbort);
  }
}

/** Writes one chunk, waiting for the pipe to drain (so only one frame is in flight), or for ffmpeg to go away. */
async function write(stream: Writable, chunk: Buffer): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return;
  if (stream.write(chunk)) return;
  const ended = new AbortController();
  await Promise.race([
    once(stream, 'drain', { signal: ended.signal }),
    once(stream, 'close', { signal: ended.signal }),
    once(stream, 'error', { signal: ended.signal }).then(() => undefined),
  ]).catch(() => undefined);
  ended.abort();
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new NstError('ABORTED', 'The video export was cancelled; no file was written.');
}
