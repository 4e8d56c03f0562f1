// Spatial-control masks in the engine: one grey level per pixel in [0, 1], decoded from any image file, resized.

import { NstError } from '../errors.js';
import { decodeImage, type DecodeOptions } from './image.js';
import { loadSharp } from './sharp.js';

/** A mask: row-major, one value per pixel in [0, 1] (`pixel / 255` of a grey image; 1 = fully there). */
export interface Mask {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/**
 * Decodes a mask file (path) or bytes at its own size. A grey image gives `pixel / 255` exactly; a colour one its
 * luma (0.299 R + 0.587 G + 0.114 B, as PIL's 'L'); transparent pixels are 0 (no region): flattened onto black,
 * not onto white as photos are, so strokes painted on a transparent layer are the region and the rest is not.
 * Every check a photo gets comes first (FILE_NOT_FOUND, NOT_AN_IMAGE, IMAGE_TOO_LARGE: decodeImage).
 */
export async function decodeMask(input: string | Uint8Array, options: Pick<DecodeOptions, 'sourceName' | 'maxInputPixels'> = {}): Promise<Mask> {
  const image = await decodeImage(input, options);
  const { width, height } = image;
  const plane = width * height;
  let rgb: ArrayLike<number> = image.data;
  let stride = 1;
  let offset = plane;
  // decodeImage has checked the file and its size by now: the header can be read without limits.
  const sharp = await loadSharp();
  if ((await sharp(input, { limitInputPixels: false }).metadata()).hasAlpha) {
    try {
      rgb = await sharp(input, { failOn: 'warning', limitInputPixels: false })
        .autoOrient()
        .flatten({ background: '#000000' })
        .toColourspace('srgb')
        .removeAlpha()
        .raw({ depth: 'uchar' })
        .toBuffer();
    } catch (error) {
      const label = typeof input === 'string' ? input : (options.sourceName ?? 'The mask data');
      throw new NstError('NOT_AN_IMAGE', `${label} is not an image that can be decoded (${error instanceof Error ? error.message : String(error)}).`, { cause: error });
    }
    stride = 3;
    offset = 1;
  }
  const data = new Float32Array(plane);
  for (let p = 0; p < plane; p++) {
    const i = p * stride;
    const r = rgb[i]!;
    const g = rgb[i + offset]!;
    const b = rgb[i + 2 * offset]!;
    data[p] = (r === g && g === b ? r : 0.299 * r + 0.587 * g + 0.114 * b) / 255;
  }
  return { width, height, data };
}

/**
 * Resamples to width × height bilinearly (a triangle filter on pixel centres, edges held), widened when shrinking
 * so every pixel of a thin brush stroke counts rather than falling between samples (as PIL's BILINEAR does). The
 * weights are ≥ 0 and sum to 1: values stay in [0, 1] and a mask with a region keeps one.
 */
export function resizeMask(mask: Mask, width: number, height: number): Mask {
  if (width === mask.width && height === mask.height) return { width, height, data: Float32Array.from(mask.data) };
  const horizontal = triangleTaps(mask.width, width);
  const vertical = triangleTaps(mask.height, height);
  const rows = new Float32Array(mask.height * width);
  for (let y = 0; y < mask.height; y++) resample(mask.data, y * mask.width, 1, rows, y * width, 1, horizontal);
  const out = new Float32Array(height * width);
  for (let x = 0; x < width; x++) resample(rows, x, width, out, x, width, vertical);
  return { width, height, data: out };
}

/** For each output index: the first source index, how many follow, and their normalised weights. */
interface Taps {
  readonly start: Int32Array;
  readonly count: Int32Array;
  readonly weights: Float64Array;
  readonly stride: number;
}

function triangleTaps(sourceLength: number, targetLength: number): Taps {
  const scale = sourceLength / targetLength;
  const radius = Math.max(scale, 1);
  const stride = Math.ceil(radius) * 2 + 1;
  const start = new Int32Array(targetLength);
  const count = new Int32Array(targetLength);
  const weights = new Float64Array(targetLength * stride);
  for (let i = 0; i < targetLength; i++) {
    const center = (i + 0.5) * scale;
    const first = Math.max(0, Math.floor(center - radius + 0.5));
    const last = Math.min(sourceLength, Math.floor(center + radius + 0.5));
    let total = 0;
    for (let j = first; j < last; j++) {
      const w = Math.max(0, 1 - Math.abs(j + 0.5 - center) / radius);
      weights[i * stride + j - first] = w;
      total += w;
    }
    for (let k = 0; k < last - first; k++) weights[i * stride + k]! /= total;
    start[i] = first;
    count[i] = last - first;
  }
  return { start, count, weights, stride };
}

function resample(source: Float32Array, sourceOffset: number, sourceStep: number, target: Float32Array, targetOffset: number, targetStep: number, taps: Taps): void {
  for (let i = 0; i < taps.start.length; i++) {
    const first = taps.start[i]!;
    let sum = 0;
    for (let k = 0; k < taps.count[i]!; k++) sum += taps.weights[i * taps.stride + k]! * source[sourceOffset + (first + k) * sourceStep]!;
    target[targetOffset + i * targetStep] = sum;
  }
}
