// Tile geometry: equal overlapping tiles over an image, their feathered blend weights, and crops.

import type { PlanarImage } from '../../io/image.js';

export interface TileRect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly row: number;
  readonly col: number;
  /** Overlap with the tile to the left / above / right / below (0 at the image's edges): the feather ramps' lengths. */
  readonly rampLeft: number;
  readonly rampTop: number;
  readonly rampRight: number;
  readonly rampBottom: number;
}

/** Where along one axis equal tiles of `tile` px start so that neighbours overlap by at least `overlap` px. */
function axisStarts(length: number, tile: number, overlap: number): number[] {
  if (length <= tile) return [0];
  const count = Math.ceil((length - overlap) / (tile - overlap));
  return Array.from({ length: count }, (_, i) => Math.round((i * (length - tile)) / (count - 1)));
}

/**
 * Equal tiles (so every tile has one graph shape) of `tilePx` square, or the image's side where it is smaller,
 * covering the image row by row with overlaps of at least `overlapPx`; the last tile of a row or column is pulled
 * back to end at the edge, which spreads the extra overlap evenly.
 */
export function planTiles(width: number, height: number, tilePx: number, overlapPx: number): TileRect[] {
  for (const [label, value] of [['width', width], ['height', height], ['tilePx', tilePx]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${label} must be a whole number ≥ 1, got ${value}.`);
  }
  if (!Number.isInteger(overlapPx) || overlapPx < 0 || overlapPx >= tilePx / 2) {
    throw new RangeError(`overlapPx must be a whole number from 0 to below half the tile (${tilePx / 2}), got ${overlapPx}.`);
  }
  const tileW = Math.min(tilePx, width);
  const tileH = Math.min(tilePx, height);
  const xs = axisStarts(width, tileW, overlapPx);
  const ys = axisStarts(height, tileH, overlapPx);
  const tiles: TileRect[] = [];
  ys.forEach((y, row) => {
    xs.forEach((x, col) => {
      tiles.push({
        x, y, width: tileW, height: tileH, row, col,
        rampLeft: col > 0 ? xs[col - 1]! + tileW - x : 0,
        rampTop: row > 0 ? ys[row - 1]! + tileH - y : 0,
        rampRight: col + 1 < xs.length ? x + tileW - xs[col + 1]! : 0,
        rampBottom: row + 1 < ys.length ? y + tileH - ys[row + 1]! : 0,
      });
    });
  });
  return tiles;
}

/**
 * Weight of the later tile at position i of an overlap `length` px long: 0 over the outer quarter, a linear ramp
 * over the middle half, 1 over the inner quarter. The earlier tile gets 1 minus this, so the two always sum to 1;
 * neither tile's edge band, where zero padding skews its features, counts, and the band where two different
 * textures are averaged (and lose contrast) is only half the overlap.
 */
function rampIn(i: number, length: number): number {
  if (i >= length) return 1;
  const margin = Math.floor(length / 4);
  return Math.min(1, Math.max(0, (i - margin + 1) / (length - 2 * margin + 1)));
}

/** One axis: ramps in over the overlap with the previous tile, out (complementary to the next tile's) over the next. */
function axisWeight(i: number, size: number, before: number, after: number): number {
  const out = after > 0 && i >= size - after ? 1 - rampIn(i - (size - after), after) : 1;
  return rampIn(i, before) * out;
}

/**
 * The tile's blend weight per pixel: the product of its two axes' ramps. Over the tile grid these weights sum to 1
 * at every pixel (each axis is a partition of unity), so the blended image is a weighted mean of the tiles.
 */
export function featherAlpha(tile: TileRect): Float32Array {
  const alpha = new Float32Array(tile.width * tile.height);
  for (let y = 0; y < tile.height; y++) {
    const ay = axisWeight(y, tile.height, tile.rampTop, tile.rampBottom);
    for (let x = 0; x < tile.width; x++) alpha[y * tile.width + x] = ay * axisWeight(x, tile.width, tile.rampLeft, tile.rampRight);
  }
  return alpha;
}

export function cropImage(image: PlanarImage, rect: { x: number; y: number; width: number; height: number }): PlanarImage {
  const { x, y, width, height } = rect;
  if (x < 0 || y < 0 || x + width > image.width || y + height > image.height) {
    throw new RangeError(`The crop ${width}x${height}+${x}+${y} leaves the ${image.width}x${image.height} image.`);
  }
  const data = new Float32Array(3 * width * height);
  for (let c = 0; c < 3; c++) {
    for (let row = 0; row < height; row++) {
      const from = (c * image.height + y + row) * image.width + x;
      data.set(image.data.subarray(from, from + width), (c * height + row) * width);
    }
  }
  return { width, height, data };
}

