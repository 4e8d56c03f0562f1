// A tiled render's masks per tile: the masks at the output's size, cropped to each tile, less the terms a crop empties.

import { resizeMask, type Mask } from '../../io/mask.js';
import { checkMask, styleRegionSeen, type LossMasks } from '../../model/masks.js';

/** A render's masks resized once to its output's size (the originals, never a coarser copy): what tiles crop. */
export interface OutputMasks {
  readonly styles: readonly Mask[];
  readonly content: Mask | null;
}

/** What one tile's objective gets: its crops, and which terms its crops leave with a region. */
export interface TileMasks {
  /** The crops the tile's objective takes; undefined when no mask is left for it. */
  readonly masks: LossMasks | undefined;
  /**
   * With style masks: the style images (indices, in style order) whose crop the deepest style layer sees. A style the
   * tile's crop gives no region has no say in that tile: its guided Gram would divide by Σ m² = 0, so its term is
   * dropped there. Null without style masks (every style, blended, as in a render without masks).
   */
  readonly styles: readonly number[] | null;
  /** False when the content mask's crop is all 0: the photo is free over the whole tile, so its content term is 0 there. */
  readonly content: boolean;
}

export function outputMasks(masks: LossMasks, width: number, height: number): OutputMasks {
  const fit = (mask: Mask, label: string): Mask => {
    checkMask(mask, label);
    return resizeMask(mask, width, height);
  };
  return {
    styles: (masks.styles ?? []).map((mask, k) => fit(mask, `Style mask ${k + 1}`)),
    content: masks.content ? fit(masks.content, 'The content mask') : null,
  };
}

/** The rectangle `rect` of a mask (RangeError when it leaves the mask). */
export function cropMask(mask: Mask, rect: { x: number; y: number; width: number; height: number }): Mask {
  const { x, y, width, height } = rect;
  if (x < 0 || y < 0 || width < 1 || height < 1 || x + width > mask.width || y + height > mask.height) {
    throw new RangeError(`The crop ${width}x${height}+${x}+${y} leaves the ${mask.width}x${mask.height} mask.`);
  }
  const data = new Float32Array(width * height);
  for (let row = 0; row < height; row++) data.set(mask.data.subarray((y + row) * mask.width + x, (y + row) * mask.width + x + width), row * width);
  return { width, height, data };
}

/**
 * One tile's masks: each output-size mask cropped to `rect`. A style crop the deepest of `styleLayers` does not see
 * (all 0, or only in the rows and columns its pools drop) is left out with its style; an all-zero content crop is
 * left out and the tile's content term with it (mean(0 ⊙ (F − P)²) is 0: the same loss, without a mask the objective
 * would refuse as black).
 */
export function tileMasks(masks: OutputMasks, rect: { x: number; y: number; width: number; height: number }, styleLayers: readonly string[]): TileMasks {
  const crops = masks.styles.map((mask) => cropMask(mask, rect));
  const styles = masks.styles.length === 0 ? null : crops.flatMap((crop, k) => (styleLayers.length > 0 && styleRegionSeen(crop, styleLayers) ? [k] : []));
  const contentCrop = masks.content ? cropMask(masks.content, rect) : null;
  const content = contentCrop === null || contentCrop.data.some((v) => v > 0);
  const kept: LossMasks = {
    ...(styles && styles.length > 0 ? { styles: styles.map((k) => crops[k]!) } : {}),
    ...(contentCrop && content ? { content: contentCrop } : {}),
  };
  return { masks: kept.styles || kept.content ? kept : undefined, styles, content };
}
