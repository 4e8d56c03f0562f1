// Whole-layer edits and the flood fill: pure functions on a row-major layer of bytes.

import type { Rect } from './mask-document.js';

export function invert(layer: Uint8Array): void {
  for (let i = 0; i < layer.length; i++) layer[i] = 255 - layer[i]!;
}

/**
 * Sets the region connected (4-neighbours) to (x, y) whose values are within `tolerance` of the value there to
 * `value`: a shape outlined with the brush fills with one click inside it. The rectangle changed, or null.
 */
export function floodFill(layer: Uint8Array, width: number, height: number, x: number, y: number, value: number, tolerance = 8): Rect | null {
  x = Math.floor(x);
  y = Math.floor(y);
  if (x < 0 || y < 0 || x >= width || y >= height) return null;
  const seed = layer[y * width + x]!;
  if (seed === value) return null;
  const inside = (v: number): boolean => Math.abs(v - seed) <= tolerance;
  // Scanline fill: each run of a row is filled at once and the rows above and below are searched for new runs.
  const seen = new Uint8Array(width * height);
  const stack: number[] = [x, y];
  let x0 = x;
  let x1 = x;
  let y0 = y;
  let y1 = y;
  while (stack.length > 0) {
    const sy = stack.pop()!;
    const sx = stack.pop()!;
    const row = sy * width;
    if (seen[row + sx] || !inside(layer[row + sx]!)) continue;
    let left = sx;
    while (left > 0 && !seen[row + left - 1] && inside(layer[row + left - 1]!)) left--;
    let right = sx;
    while (right < width - 1 && !seen[row + right + 1] && inside(layer[row + right + 1]!)) right++;
    for (let i = left; i <= right; i++) {
      layer[row + i] = value;
      seen[row + i] = 1;
    }
    x0 = Math.min(x0, left);
    x1 = Math.max(x1, right);
    y0 = Math.min(y0, sy);
    y1 = Math.max(y1, sy);
    for (const ny of [sy - 1, sy + 1]) {
      if (ny < 0 || ny >= height) continue;
      const nrow = ny * width;
      // One seed per run of fillable pixels on the neighbouring row.
      let inRun = false;
      for (let i = left; i <= right; i++) {
        const fillable = !seen[nrow + i] && inside(layer[nrow + i]!);
        if (fillable && !inRun) stack.push(i, ny);
        inRun = fillable;
      }
    }
  }
  return { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}
