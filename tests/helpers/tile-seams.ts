// Seam visibility of a tiled image: the measure the tiled-rendering tests hold the compositor to.

import type { PlanarImage } from '../../src/engine/io/image.js';
import type { TileRect } from '../../src/engine/render/tiles/layout.js';

/** The interior tile edges: where a hard paste would show its seams. */
export function tileSeams(tiles: readonly TileRect[], width: number, height: number): { columns: number[]; rows: number[] } {
  const columns = new Set<number>();
  const rows = new Set<number>();
  for (const t of tiles) {
    for (const x of [t.x, t.x + t.width]) if (x > 0 && x < width) columns.add(x);
    for (const y of [t.y, t.y + t.height]) if (y > 0 && y < height) rows.add(y);
  }
  return { columns: [...columns].sort((a, b) => a - b), rows: [...rows].sort((a, b) => a - b) };
}

/**
 * Mean |difference| between neighbouring pixels across the seams (column c: pixels c−1 and c; row r likewise)
 * against the mean over every other neighbouring pair: a ratio near 1 means no visible seam.
 */
export function seamGradientRatio(image: PlanarImage, seams: { columns: readonly number[]; rows: readonly number[] }): { seam: number; elsewhere: number; ratio: number } {
  const { width, height, data } = image;
  const seamColumns = new Set(seams.columns);
  const seamRows = new Set(seams.rows);
  // [sum, count] across seams and elsewhere.
  const seam = [0, 0];
  const other = [0, 0];
  const add = (atSeam: boolean, d: number): void => {
    const acc = atSeam ? seam : other;
    acc[0]! += d;
    acc[1]! += 1;
  };
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      const row = (c * height + y) * width;
      for (let x = 1; x < width; x++) add(seamColumns.has(x), Math.abs(data[row + x]! - data[row + x - 1]!));
      if (y > 0) for (let x = 0; x < width; x++) add(seamRows.has(y), Math.abs(data[row + x]! - data[row + x - width]!));
    }
  }
  const atSeams = seam[1]! > 0 ? seam[0]! / seam[1]! : 0;
  const elsewhere = other[1]! > 0 ? other[0]! / other[1]! : 0;
  return { seam: atSeams, elsewhere, ratio: elsewhere > 0 ? atSeams / elsewhere : atSeams > 0 ? Infinity : 1 };
}

