// Grey planes for flow estimation: luma of an RGB frame, separable Gaussian blur, halving pyramids, flow resampling.

import type { PlanarImage } from '../../io/image.js';
import { type FlowField, type Plane, sampleBilinear } from './field.js';

/** Luma (0.299 R + 0.587 G + 0.114 B, 0..255) of a planar RGB image: flow is estimated on brightness alone. */
export function luma(image: PlanarImage): Plane {
  const n = image.width * image.height;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = 0.299 * image.data[i]! + 0.587 * image.data[n + i]! + 0.114 * image.data[2 * n + i]!;
  return { width: image.width, height: image.height, data };
}

/** Normalised Gaussian taps g[0..radius] (one side; g[-k] = g[k]), radius = ceil(3 sigma). */
export function gaussianTaps(sigma: number): Float32Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const taps = new Float32Array(radius + 1);
  let sum = 0;
  for (let k = 0; k <= radius; k++) {
    taps[k] = Math.exp(-(k * k) / (2 * sigma * sigma));
    sum += k === 0 ? taps[k]! : 2 * taps[k]!;
  }
  for (let k = 0; k <= radius; k++) taps[k]! /= sum;
  return taps;
}

/**
 * Separable Gaussian blur of a row-major plane, borders replicated. Writes into `out` (may not alias `data`);
 * `scratch` holds the horizontal pass. Both passes run along rows (the vertical one adds whole rows), and only the
 * border columns pay for clamping.
 */
export function blurInto(data: Float32Array, width: number, height: number, taps: Float32Array, out: Float32Array, scratch: Float32Array): void {
  const radius = taps.length - 1;
  const g0 = taps[0]!;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let s = g0 * data[row + x]!;
      if (x >= radius && x < width - radius) {
        for (let k = 1; k <= radius; k++) s += taps[k]! * (data[row + x - k]! + data[row + x + k]!);
      } else {
        for (let k = 1; k <= radius; k++) {
          const left = x - k < 0 ? 0 : x - k;
          const right = x + k >= width ? width - 1 : x + k;
          s += taps[k]! * (data[row + left]! + data[row + right]!);
        }
      }
      scratch[row + x] = s;
    }
  }
  for (let y = 0; y < height; y++) {
    const target = y * width;
    for (let x = 0; x < width; x++) out[target + x] = g0 * scratch[target + x]!;
    for (let k = 1; k <= radius; k++) {
      const gk = taps[k]!;
      const up = (y - k < 0 ? 0 : y - k) * width;
      const down = (y + k >= height ? height - 1 : y + k) * width;
      for (let x = 0; x < width; x++) out[target + x]! += gk * (scratch[up + x]! + scratch[down + x]!);
    }
  }
}

/**
 * A blur close to a Gaussian of `sigma` px: three box passes each way, as running sums, so its cost does not grow
 * with sigma (the flow's window sums are most of its time). Borders replicated; writes into `out`, `data` is kept.
 */
export function boxBlurInto(data: Float32Array, width: number, height: number, sigma: number, out: Float32Array, scratch: Float32Array): void {
  // Three boxes of width 2r + 1 have variance 3 ((2r + 1)² - 1) / 12 = sigma².
  const radius = Math.max(1, Math.round((Math.sqrt(4 * sigma * sigma + 1) - 1) / 2));
  let source = data;
  for (let pass = 0; pass < 3; pass++) {
    boxRows(source, width, height, radius, scratch);
    boxColumns(scratch, width, height, radius, out);
    source = out;
  }
}

function boxRows(data: Float32Array, width: number, height: number, radius: number, out: Float32Array): void {
  const scale = 1 / (2 * radius + 1);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let sum = 0;
    for (let k = -radius; k <= radius; k++) sum += data[row + Math.min(Math.max(k, 0), width - 1)]!;
    for (let x = 0; x < width; x++) {
      out[row + x] = sum * scale;
      sum += data[row + Math.min(x + radius + 1, width - 1)]! - data[row + Math.max(x - radius, 0)]!;
    }
  }
}

function boxColumns(data: Float32Array, width: number, height: number, radius: number, out: Float32Array): void {
  const scale = 1 / (2 * radius + 1);
  const sums = new Float64Array(width);
  for (let k = -radius; k <= radius; k++) {
    const row = Math.min(Math.max(k, 0), height - 1) * width;
    for (let x = 0; x < width; x++) sums[x]! += data[row + x]!;
  }
  for (let y = 0; y < height; y++) {
    const target = y * width;
    const enter = Math.min(y + radius + 1, height - 1) * width;
    const leave = Math.max(y - radius, 0) * width;
    for (let x = 0; x < width; x++) {
      out[target + x] = sums[x]! * scale;
      sums[x]! += data[enter + x]! - data[leave + x]!;
    }
  }
}

/** Bilinear resample of a plane to width x height, pixel centres aligned (source x = (x + 0.5) * scale - 0.5). */
function resamplePlane(plane: Plane, width: number, height: number): Plane {
  const sx = plane.width / width;
  const sy = plane.height / height;
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data[y * width + x] = sampleBilinear(plane.data, plane.width, plane.height, (x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5);
  }
  return { width, height, data };
}

/**
 * Finest level first, each half the size of the one before (rounded), blurred with sigma 1 before sampling (so the
 * half-size level does not alias), until another halving would make the shorter side less than `minSidePx`, or
 * `maxLevels` levels exist.
 */
export function buildPyramid(plane: Plane, minSidePx: number, maxLevels: number): Plane[] {
  const levels = [plane];
  const taps = gaussianTaps(1);
  for (;;) {
    const last = levels[levels.length - 1]!;
    const width = Math.round(last.width / 2);
    const height = Math.round(last.height / 2);
    if (levels.length >= maxLevels || Math.min(width, height) < minSidePx) return levels;
    const blurred = new Float32Array(last.data.length);
    blurInto(last.data, last.width, last.height, taps, blurred, new Float32Array(last.data.length));
    levels.push(resamplePlane({ width: last.width, height: last.height, data: blurred }, width, height));
  }
}

/** A coarser level's flow carried to a finer size: resampled bilinearly and its displacements scaled with the grid. */
export function resizeFlow(flow: FlowField, width: number, height: number): FlowField {
  const u = resamplePlane({ width: flow.width, height: flow.height, data: flow.u }, width, height).data;
  const v = resamplePlane({ width: flow.width, height: flow.height, data: flow.v }, width, height).data;
  const scaleX = width / flow.width;
  const scaleY = height / flow.height;
  for (let i = 0; i < u.length; i++) {
    u[i]! *= scaleX;
    v[i]! *= scaleY;
  }
  return { width, height, u, v };
}
