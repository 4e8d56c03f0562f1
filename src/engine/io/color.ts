// Original colours: keep the content photo's chroma and take only the luminance from the painted result.

import type { PlanarImage } from './image.js';

// BT.601 luma and the matching YUV transform (the form Gatys et al. 2016, "Preserving Color", use).
const KR = 0.299;
const KG = 0.587;
const KB = 0.114;

/**
 * Returns the result's luminance combined with the content's chrominance (U, V), clamped to 0–255. Both
 * images must have the same size. Transfers the painting's brush work and tone while the photo keeps its colours.
 */
export function keepOriginalColors(result: PlanarImage, content: PlanarImage): PlanarImage {
  if (result.width !== content.width || result.height !== content.height) {
    throw new RangeError(`keepOriginalColors needs images of one size: ${result.width}x${result.height} vs ${content.width}x${content.height}.`);
  }
  const plane = result.width * result.height;
  const out = new Float32Array(3 * plane);
  const r = result.data;
  const c = content.data;
  for (let i = 0; i < plane; i++) {
    const y = KR * r[i]! + KG * r[plane + i]! + KB * r[2 * plane + i]!;
    const cr = c[i]!;
    const cg = c[plane + i]!;
    const cb = c[2 * plane + i]!;
    const contentY = KR * cr + KG * cg + KB * cb;
    // Same chroma as the content pixel: shift all three channels by the luminance difference.
    const shift = y - contentY;
    out[i] = clamp(cr + shift);
    out[plane + i] = clamp(cg + shift);
    out[2 * plane + i] = clamp(cb + shift);
  }
  return { width: result.width, height: result.height, data: out };
}

const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** BT.601 luminance plane of a planar RGB image. */
export function luminance(image: PlanarImage): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(plane);
  for (let i = 0; i < plane; i++) out[i] = KR * image.data[i]! + KG * image.data[plane + i]! + KB * image.data[2 * plane + i]!;
  return out;
}
