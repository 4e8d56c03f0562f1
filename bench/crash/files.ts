// What the crash harness checks on disk: user files byte for byte, outputs decoded whole (never cut short), final
// images and videos against a reference, and the debris a killed run may leave.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';

const run = promisify(execFile);

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Every file under `dir` (relative path → SHA-256). */
export function hashTree(dir: string): Map<string, string> {
  const hashes = new Map<string, string>();
  for (const file of listFiles(dir)) hashes.set(path.relative(dir, file), sha256(file));
  return hashes;
}

/** Every file and folder under `dir`, depth first; folders end in a slash in `entries`' answer. */
export function listFiles(dir: string): string[] {
  return listEntries(dir).filter((entry) => !entry.endsWith('/'));
}

export function listEntries(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    let isDir = false;
    try {
      isDir = statSync(full).isDirectory();
    } catch {
      continue; // removed while listed
    }
    if (isDir) out.push(`${full}/`, ...listEntries(full));
    else out.push(full);
  }
  return out;
}

export interface Rgb {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
}

/**
 * The image decoded strictly (libvips' warnings count, so a PNG cut short or a JPEG with broken entropy data is
 * refused), as RGB bytes; an Error says why it is not a whole image.
 */
export async function decodeWhole(file: string): Promise<Rgb> {
  const { data, info } = await sharp(readFileSync(file), { failOn: 'warning' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

export interface ImageDiff {
  /** Largest difference of one channel of one pixel, in levels of 255. */
  readonly maxAbs: number;
  readonly meanAbs: number;
}

export function diffRgb(a: Rgb, b: Rgb): ImageDiff | null {
  if (a.width !== b.width || a.height !== b.height || a.data.length !== b.data.length) return null;
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    sum += d;
    if (d > max) max = d;
  }
  return { maxAbs: max, meanAbs: a.data.length ? sum / a.data.length : 0 };
}

/** Every frame of a video as one RGB buffer (frames one after another), decoded by the system's ffmpeg. */
export async function decodeVideo(ffmpeg: string, file: string): Promise<{ frames: number; width: number; height: number; data: Buffer }> {
  const { stdout: probe } = await run(ffmpeg.replace(/ffmpeg(\.exe)?$/, 'ffprobe$1'), ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'json', file]);
  const stream = (JSON.parse(probe) as { streams: { width: number; height: number }[] }).streams[0];
  if (!stream) throw new Error(`${file} has no video stream`);
  // -xerror: a damaged stream fails instead of being concealed.
  const { stdout, stderr } = await run(ffmpeg, ['-v', 'error', '-xerror', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 });
  if (stderr.length > 0) throw new Error(`${file} decodes with errors: ${stderr.toString().trim().split('\n')[0]}`);
  const frameBytes = 3 * stream.width * stream.height;
  if (stdout.length === 0 || stdout.length % frameBytes !== 0) throw new Error(`${file} decodes to ${stdout.length} bytes, not whole ${stream.width}x${stream.height} frames`);
  return { frames: stdout.length / frameBytes, width: stream.width, height: stream.height, data: stdout };
}
