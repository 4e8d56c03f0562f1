// Images in and out of the engine: decode any common file to planar RGB floats, resize, encode, write atomically.

import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { OutputInfo, Sharp } from 'sharp';
import { writeFileAtomic } from '../sys/atomic-file.js';
import { NstError } from '../errors.js';
import { createRng } from '../sys/random.js';
import { loadSharp } from './sharp.js';

/** An RGB image as the engine uses it: planar CHW (all R, then all G, then all B), row-major, 0..255 floats. */
export interface PlanarImage {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

export interface DecodeOptions {
  /** Resize so the longest side is exactly this many pixels (up or down, Lanczos3); undefined keeps the size. */
  sizePx?: number;
  /**
   * Refuse images with more pixels than this, judged from the header before any pixel is decoded, so a
   * decompression bomb costs nothing. Default 100 megapixels: far beyond what style transfer can use.
   */
  maxInputPixels?: number;
  /** How error messages name the image when `input` is bytes (a file name from a drop, say). */
  sourceName?: string;
}

export type EncodeFormat = 'png' | 'jpeg' | 'webp' | 'tiff';

export interface EncodeOptions {
  /** JPEG/WebP quality 1..100. Default 92: visually lossless for painterly output, still far smaller than PNG. */
  quality?: number;
}

export const DEFAULT_MAX_INPUT_PIXELS = 100_000_000;
/** Largest longest side decodeImage resizes to: the CLI's --size ceiling (tiled rendering reaches it). */
export const MAX_DECODE_SIZE_PX = 16_384;
export const DEFAULT_QUALITY = 92;

const FORMAT_BY_EXTENSION: Readonly<Record<string, EncodeFormat>> = {
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.webp': 'webp',
  '.tif': 'tiff',
  '.tiff': 'tiff',
};

/**
 * Decodes a file (path) or encoded bytes to an sRGB PlanarImage: EXIF orientation applied, alpha flattened onto
 * white, grayscale / CMYK / 16-bit / ICC-profiled input converted to 8-bit sRGB, then optionally resized.
 * Errors: FILE_NOT_FOUND, NOT_AN_IMAGE (empty, not a regular file, unknown format, corrupt or truncated data),
 * IMAGE_TOO_LARGE (judged from the header, before decoding), BAD_ARGUMENT (sizePx not a whole number from 1 to
 * MAX_DECODE_SIZE_PX, maxInputPixels not a whole number ≥ 1).
 */
export async function decodeImage(input: string | Uint8Array, options: DecodeOptions = {}): Promise<PlanarImage> {
  const sizePx = options.sizePx === undefined ? undefined : requireWholeNumber('sizePx', options.sizePx);
  if (sizePx !== undefined && sizePx > MAX_DECODE_SIZE_PX) {
    throw new NstError('BAD_ARGUMENT', `sizePx must be at most ${MAX_DECODE_SIZE_PX} (the longest side in pixels), got ${sizePx}.`);
  }
  const maxInputPixels = requireWholeNumber('maxInputPixels', options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS);
  const label = typeof input === 'string' ? input : (options.sourceName ?? 'The image data');
  if (typeof input === 'string') await requireImageFile(input);
  else if (input.length === 0) throw new NstError('NOT_AN_IMAGE', `${label} is empty (0 bytes), not an image.`);

  // The header alone gives the size: check it ourselves so the message can say how large, and why it matters.
  let width: number;
  let height: number;
  try {
    // No pixel limit on the header read: sharp's own default (268 MP) would refuse a bomb here with a message
    // that does not say how large it is. metadata() reads only the header, whatever the size claims.
    const metadata = await (await loadSharp())(input, { limitInputPixels: false }).metadata();
    width = metadata.width;
    height = metadata.height;
  } catch (error) {
    throw notAnImage(label, error);
  }
  if (!(width > 0 && height > 0)) {
    throw new NstError('NOT_AN_IMAGE', `${label} does not say how large it is, so it cannot be read as an image.`);
  }
  if (width * height > maxInputPixels) throw tooLarge(label, `is ${width}x${height}`, maxInputPixels);

  // limitInputPixels backs up the check above.
  let pipeline = (await readUntrusted(input, maxInputPixels))
    .autoOrient()
    .flatten({ background: '#ffffff' });
  if (sizePx !== undefined) pipeline = pipeline.resize({ width: sizePx, height: sizePx, fit: 'inside', kernel: 'lanczos3' });
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await pipeline.toColourspace('srgb').removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (error) {
    if (/pixel limit/i.test(errorMessage(error))) throw tooLarge(label, 'has more pixels than allowed', maxInputPixels);
    throw notAnImage(label, error);
  }
  const { info, data } = decoded;
  if (info.channels !== 3) {
    throw new NstError('NOT_AN_IMAGE', `${label} decoded to ${info.channels} channels instead of RGB.`);
  }
  return { width: info.width, height: info.height, data: hwcUint8ToChw(data, info.width, info.height) };
}

/**
 * A sharp pipeline over an image file or bytes from outside (a photo, a painting, a video frame) that fails on any
 * decoder warning, not only on errors. libjpeg reports damaged scan data ("Corrupt JPEG data: bad Huffman code",
 * "premature end of data segment") as warnings and paints grey or smeared blocks for the rest: with failOn 'error'
 * such a photo decoded "successfully" as half garbage and was painted. Whole files, camera photos with EXIF and
 * ICC profiles, CMYK and 16-bit ones raise no warning; a file that does is damaged, and is refused (NOT_AN_IMAGE).
 */
export async function readUntrusted(input: string | Uint8Array, limitInputPixels: number | false = DEFAULT_MAX_INPUT_PIXELS): Promise<Sharp> {
  return (await loadSharp())(input, { failOn: 'warning', limitInputPixels });
}

/** Encodes to PNG, JPEG (4:4:4 chroma, so thin coloured strokes keep their colour), WebP or TIFF; values are clamped to 0..255 and rounded. */
export async function encodeImage(image: PlanarImage, format: EncodeFormat, options: EncodeOptions = {}): Promise<Buffer> {
  requireRgbImage('image', image);
  const quality = options.quality ?? DEFAULT_QUALITY;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new NstError('BAD_ARGUMENT', `quality must be a whole number from 1 to 100, got ${String(quality)}.`);
  }
  const sharp = await loadSharp();
  const pixels = sharp(chwToHwcUint8(image.data, image.width, image.height), {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  switch (format) {
    case 'png':
      return pixels.png().toBuffer();
    case 'jpeg':
      return pixels.jpeg({ quality, chromaSubsampling: '4:4:4' }).toBuffer();
    case 'webp':
      return pixels.webp({ quality }).toBuffer();
    case 'tiff':
      return pixels.tiff().toBuffer();
    default:
      throw new NstError('BAD_ARGUMENT', `Unknown image format "${String(format)}": expected png, jpeg, webp or tiff.`);
  }
}

/** The encode format a file name asks for (.png, .jpg/.jpeg, .webp, .tif/.tiff), or BAD_ARGUMENT. */
export function formatForPath(filePath: string): EncodeFormat {
  const extension = path.extname(filePath).toLowerCase();
  const format = FORMAT_BY_EXTENSION[extension];
  if (format === undefined) {
    throw new NstError(
      'BAD_ARGUMENT',
      `Cannot tell the image format of ${filePath}: use a .png, .jpg, .jpeg, .webp, .tif or .tiff name.`,
    );
  }
  return format;
}

/**
 * Writes the image to `filePath` (format from its extension) through a temporary file in the same folder
 * and a rename, so a crash or a full disk never leaves a half-written image under the real name, and a
 * viewer watching the file only ever sees whole images.
 */
export async function writeImageAtomic(filePath: string, image: PlanarImage, options: EncodeOptions = {}): Promise<void> {
  const encoded = await encodeImage(image, formatForPath(filePath), options);
  try {
    await writeFileAtomic(filePath, encoded);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      const directory = path.dirname(filePath);
      throw new NstError('FILE_NOT_FOUND', `Cannot write ${filePath}: the folder ${directory} does not exist.`, { cause: error });
    }
    throw error;
  }
}

/**
 * Resamples to width × height with a separable Lanczos3 filter widened on downscaling (as PIL and libvips do,
 * so shrinking does not alias), in float: no 8-bit rounding between optimisation stages. Lanczos rings a
 * little past sharp edges; results are clamped back to 0..255. Async so it can move off-thread later.
 */
export async function resizeImage(image: PlanarImage, width: number, height: number): Promise<PlanarImage> {
  requireRgbImage('image', image);
  requireImageSize(width, height);
  if (width === image.width && height === image.height) return { width, height, data: Float32Array.from(image.data) };
  const horizontal = lanczosTaps(image.width, width);
  const vertical = lanczosTaps(image.height, height);
  const rowsResized = new Float32Array(3 * image.height * width);
  const out = new Float32Array(3 * height * width);
  for (let plane = 0; plane < 3 * image.height; plane++) {
    // Each (channel, row) of the source is one contiguous line.
    resampleLine(image.data, plane * image.width, 1, rowsResized, plane * width, 1, horizontal);
  }
  for (let c = 0; c < 3; c++) {
    for (let x = 0; x < width; x++) {
      resampleLine(rowsResized, c * image.height * width + x, width, out, c * height * width + x, width, vertical);
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.max(0, out[i]!));
  return { width, height, data: out };
}

/** Uniform noise in [0, 255), reproducible from `seed`; values drawn in planar order (all R, then G, then B). */
export function noiseImage(width: number, height: number, seed: number): PlanarImage {
  requireImageSize(width, height);
  const rng = createRng(seed);
  const data = new Float32Array(3 * width * height);
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform() * 255;
  return { width, height, data };
}

/** Interleaved HWC bytes (RGBRGB…, as sharp and canvases hold them) → planar CHW floats. Extra channels (alpha) are dropped. */
export function hwcUint8ToChw(hwc: Uint8Array | Uint8ClampedArray, width: number, height: number, channels = 3): Float32Array {
  const pixels = width * height;
  if (channels < 3 || hwc.length !== pixels * channels) {
    throw new NstError(
      'BAD_ARGUMENT',
      `Expected ${pixels * channels} bytes for ${width}x${height} with ${channels} channels (at least 3), got ${hwc.length}.`,
    );
  }
  const chw = new Float32Array(3 * pixels);
  for (let p = 0; p < pixels; p++) {
    const source = p * channels;
    chw[p] = hwc[source]!;
    chw[pixels + p] = hwc[source + 1]!;
    chw[2 * pixels + p] = hwc[source + 2]!;
  }
  return chw;
}

/** Planar CHW floats → interleaved RGB bytes, clamped to 0..255 and rounded to nearest (NaN becomes 0). */
export function chwToHwcUint8(chw: Float32Array, width: number, height: number): Uint8Array {
  const pixels = requirePlanarLength(chw, width, height);
  const hwc = new Uint8Array(3 * pixels);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < pixels; p++) {
      const v = chw[c * pixels + p]!;
      hwc[p * 3 + c] = v >= 255 ? 255 : v > 0 ? Math.round(v) : 0;
    }
  }
  return hwc;
}

/** Planar CHW floats → interleaved HWC floats, unchanged values (NumPy/PyTorch [H, W, 3] layout). */
export function chwToHwc(chw: Float32Array, width: number, height: number): Float32Array {
  const pixels = requirePlanarLength(chw, width, height);
  const hwc = new Float32Array(3 * pixels);
  for (let c = 0; c < 3; c++) for (let p = 0; p < pixels; p++) hwc[p * 3 + c] = chw[c * pixels + p]!;
  return hwc;
}

/** Interleaved HWC floats ([H, W, 3]) → planar CHW floats, unchanged values. */
export function hwcToChw(hwc: Float32Array, width: number, height: number): Float32Array {
  const pixels = requirePlanarLength(hwc, width, height);
  const chw = new Float32Array(3 * pixels);
  for (let c = 0; c < 3; c++) for (let p = 0; p < pixels; p++) chw[c * pixels + p] = hwc[p * 3 + c]!;
  return chw;
}

/** For each output index: the first source index and the normalised filter weights from there on. */
interface Taps {
  readonly start: Int32Array;
  readonly count: Int32Array;
  readonly weights: Float64Array;
  readonly maxCount: number;
}

function lanczosTaps(sourceLength: number, targetLength: number): Taps {
  const scale = sourceLength / targetLength;
  // Downscaling widens the kernel by the scale so every source pixel contributes (anti-aliasing).
  const filterScale = Math.max(scale, 1);
  const support = 3 * filterScale;
  const maxCount = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(targetLength);
  const count = new Int32Array(targetLength);
  const weights = new Float64Array(targetLength * maxCount);
  for (let i = 0; i < targetLength; i++) {
    const center = (i + 0.5) * scale;
    const first = Math.max(0, Math.floor(center - support + 0.5));
    const last = Math.min(sourceLength, Math.floor(center + support + 0.5));
    let total = 0;
    for (let j = first; j < last; j++) {
      const w = lanczos3((j + 0.5 - center) / filterScale);
      weights[i * maxCount + (j - first)] = w;
      total += w;
    }
    const norm = total === 0 ? 1 : total;
    for (let k = i * maxCount; k < i * maxCount + (last - first); k++) weights[k] = weights[k]! / norm;
    start[i] = first;
    count[i] = last - first;
  }
  return { start, count, weights, maxCount };
}

function lanczos3(x: number): number {
  if (x === 0) return 1;
  if (x <= -3 || x >= 3) return 0;
  const px = Math.PI * x;
  return (3 * Math.sin(px) * Math.sin(px / 3)) / (px * px);
}

function resampleLine(
  source: Float32Array,
  sourceOffset: number,
  sourceStride: number,
  target: Float32Array,
  targetOffset: number,
  targetStride: number,
  taps: Taps,
): void {
  for (let i = 0; i < taps.start.length; i++) {
    const first = taps.start[i]!;
    const n = taps.count[i]!;
    const base = i * taps.maxCount;
    let sum = 0;
    for (let k = 0; k < n; k++) sum += taps.weights[base + k]! * source[sourceOffset + (first + k) * sourceStride]!;
    target[targetOffset + i * targetStride] = sum;
  }
}

async function requireImageFile(filePath: string): Promise<void> {
  let info;
  try {
    info = await stat(filePath);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') {
      throw new NstError('FILE_NOT_FOUND', `No file at ${filePath}.`, { cause: error });
    }
    throw new NstError('FILE_NOT_FOUND', `Cannot read ${filePath}: ${errorMessage(error)}`, { cause: error });
  }
  if (info.isDirectory()) throw new NstError('NOT_AN_IMAGE', `${filePath} is a folder, not an image.`);
  // A FIFO would block the decoder forever and a device (/dev/zero) never ends: only regular files are images.
  if (!info.isFile()) throw new NstError('NOT_AN_IMAGE', `${filePath} is not a regular file (a device, pipe or socket), not an image.`);
  if (info.size === 0) throw new NstError('NOT_AN_IMAGE', `${filePath} is empty (0 bytes), not an image.`);
}

function requireWholeNumber(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new NstError('BAD_ARGUMENT', `${name} must be a whole number of at least 1, got ${String(value)}.`);
  }
  return value;
}

/** Largest image the engine makes in memory: 16384 x 16384 (the CLI's --size ceiling, square), 3.2 GB of floats. */
export const MAX_IMAGE_PIXELS = 16_384 * 16_384;

/** Whole-number sides of at least 1 whose product the engine can hold (BAD_ARGUMENT otherwise, not a RangeError). */
function requireImageSize(width: number, height: number): void {
  requireWholeNumber('width', width);
  requireWholeNumber('height', height);
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new NstError('BAD_ARGUMENT', `A ${width}x${height} image is more than the ${MAX_IMAGE_PIXELS.toLocaleString('en-US')} pixels the engine works with.`);
  }
}

function requireRgbImage(name: string, image: PlanarImage): void {
  requireWholeNumber(`${name}.width`, image.width);
  requireWholeNumber(`${name}.height`, image.height);
  requirePlanarLength(image.data, image.width, image.height);
}

function requirePlanarLength(data: Float32Array, width: number, height: number): number {
  const pixels = width * height;
  if (data.length !== 3 * pixels) {
    throw new NstError('BAD_ARGUMENT', `A ${width}x${height} RGB image needs ${3 * pixels} values, got ${data.length}.`);
  }
  return pixels;
}

function notAnImage(label: string, error: unknown): NstError {
  return new NstError('NOT_AN_IMAGE', `${label} is not an image that can be decoded (${errorMessage(error)}).`, {
    cause: error,
  });
}

function tooLarge(label: string, what: string, maxInputPixels: number): NstError {
  return new NstError(
    'IMAGE_TOO_LARGE',
    `${label} ${what}: more than the ${maxInputPixels.toLocaleString('en-US')} pixels allowed. Scale it down first.`,
  );
}

function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // libvips reports one line per decoder complaint; the first says enough.
  return message.split('\n')[0]!.trim().replace(/:$/, '');
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}
