// How the masks look over the photo: each style's layer in its own colour (Okabe-Ito's palette, told apart by people
// with the common colour-vision deficiencies; the legend names them too), the content layer as white diagonal stripes.

import type { Rect } from './mask-document.js';

/** sRGB colours, one per style in order (repeating past seven styles). */
export const STYLE_COLOURS: readonly (readonly [number, number, number])[] = [
  [230, 159, 0],
  [86, 180, 233],
  [0, 158, 115],
  [204, 121, 167],
  [240, 228, 66],
  [0, 114, 178],
  [213, 94, 0],
];

export const styleColour = (index: number): readonly [number, number, number] => STYLE_COLOURS[index % STYLE_COLOURS.length]!;
export const cssColour = (c: readonly [number, number, number]): string => `rgb(${c[0]} ${c[1]} ${c[2]})`;

/**
 * Paints `rect` of `out` (RGBA, `width` wide): the styles' colours mixed by their values, their strongest value as
 * alpha; the content layer over them as stripes (white on 8 px diagonals, dark between) at its own value.
 */
export function compositeRect(out: Uint8ClampedArray, width: number, styles: readonly Uint8Array[], content: Uint8Array | null, rect: Rect): void {
  // A whole-layer edit redraws 4 million pixels at 2048 px: flat colour tables, and unpainted pixels in one write.
  const n = styles.length;
  const cr = Float32Array.from(styles, (_, i) => styleColour(i)[0]);
  const cg = Float32Array.from(styles, (_, i) => styleColour(i)[1]);
  const cb = Float32Array.from(styles, (_, i) => styleColour(i)[2]);
  const words = new Uint32Array(out.buffer, out.byteOffset, out.length >> 2);
  for (let y = rect.y; y < rect.y + rect.height; y++) {
    for (let x = rect.x; x < rect.x + rect.width; x++) {
      const p = y * width + x;
      let r = 0;
      let g = 0;
      let b = 0;
      let sum = 0;
      let alpha = 0;
      for (let k = 0; k < n; k++) {
        const v = styles[k]![p]!;
        if (v === 0) continue;
        r += v * cr[k]!;
        g += v * cg[k]!;
        b += v * cb[k]!;
        sum += v;
        if (v > alpha) alpha = v;
      }
      const keep = content ? content[p]! : 0;
      if (sum === 0 && keep === 0) {
        words[p] = 0;
        continue;
      }
      if (sum > 0) {
        r /= sum;
        g /= sum;
        b /= sum;
      }
      if (keep > 0) {
        const stripe = ((x + y) >> 3) & 1 ? 255 : 30;
        const t = sum > 0 ? keep / 255 : 1;
        r += (stripe - r) * t;
        g += (stripe - g) * t;
        b += (stripe - b) * t;
        if (keep > alpha) alpha = keep;
      }
      const o = p * 4;
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
      out[o + 3] = alpha;
    }
  }
}
