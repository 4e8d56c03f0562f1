// The loss's spatial-control masks: checked, brought to the optimised image's size, refused where they hold no region.

import { NstError } from '../errors.js';
import { type Mask, resizeMask } from '../io/mask.js';
import { type ConvLayerSpec, layerSpec } from './vgg19.js';

/**
 * Where each style goes and where the photo stays (guided Grams; docs/loss.md "Masks"). Masks of another size than
 * the optimised image are resized to it bilinearly. Each is fed to the graph as an input, so a new mask reaches the
 * next evaluation without a rebuild (StyleObjective.setMasks).
 */
export interface LossMasks {
  /** One per style image, in style order: how much of that style each pixel takes. Each style is then its own target. */
  readonly styles?: readonly Mask[];
  /** How much each pixel keeps of the photo: the content term's weight per pixel (1 everywhere without it). */
  readonly content?: Mask;
}

/** What masks are checked against: the optimised image and the objective's style images and layers. */
export interface MaskTarget {
  readonly width: number;
  readonly height: number;
  readonly styleCount: number;
  readonly styleLayers: readonly string[];
}

/** Masks at the target's size, row-major (fresh copies: editing the caller's mask later changes nothing). */
export interface PreparedMasks {
  /** Empty without style masks. */
  readonly styles: readonly Float32Array[];
  readonly content: Float32Array | null;
}

/**
 * Checks each mask (checkMask), the count against the style images, resizes to the image, and refuses a style mask
 * whose region the deepest style layer never sees (only in the rows or columns its pools' floor drops): its guided
 * Gram would divide by zero.
 */
export function prepareMasks(masks: LossMasks | undefined, target: MaskTarget): PreparedMasks {
  const styles = masks?.styles ?? [];
  if (styles.length > 0 && styles.length !== target.styleCount) {
    throw new NstError(
      'BAD_ARGUMENT',
      `${styles.length} style mask${styles.length === 1 ? '' : 's'} for ${target.styleCount} style image${target.styleCount === 1 ? '' : 's'}: give one mask per style image, in style order.`,
    );
  }
  const fit = (mask: Mask, label: string): Float32Array => {
    checkMask(mask, label);
    return resizeMask(mask, target.width, target.height).data;
  };
  const prepared = { styles: styles.map((mask, k) => fit(mask, `Style mask ${k + 1}`)), content: masks?.content ? fit(masks.content, 'The content mask') : null };
  if (target.styleLayers.length > 0) {
    const deepest = deepestLayer(target.styleLayers);
    prepared.styles.forEach((mask, k) => {
      if (!styleRegionSeen({ width: target.width, height: target.height, data: mask }, target.styleLayers)) {
        throw new NstError(
          'BAD_ARGUMENT',
          `Style mask ${k + 1} covers only the last rows or columns of the ${target.width}x${target.height} image, which ${deepest.name} never sees ` +
            `(its ${deepest.block - 1} pools drop odd rows and columns): paint a larger region.`,
        );
      }
    });
  }
  return prepared;
}

/**
 * Whether the deepest of `styleLayers` sees any of the mask's region: a value > 0 where its floored 2x2 pools look
 * (the first 2^p·⌊H/2^p⌋ rows and as many columns). Without it the guided Gram divides by Σ m² = 0.
 */
export function styleRegionSeen(mask: Mask, styleLayers: readonly string[]): boolean {
  const span = 2 ** (deepestLayer(styleLayers).block - 1);
  const rows = Math.floor(mask.height / span) * span;
  const columns = Math.floor(mask.width / span) * span;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) if (mask.data[y * mask.width + x]! > 0) return true;
  }
  return false;
}

function deepestLayer(layers: readonly string[]): ConvLayerSpec {
  return layers.map((l) => layerSpec(l)).reduce((a, b) => (b.index > a.index ? b : a));
}

/**
 * A mask's own checks, whatever it is for: one value per pixel, each in [0, 1], not all 0 (an all-zero mask gives
 * its style or the photo no region; refused rather than dividing by zero or silently dropping a term). `label`
 * names the mask in the sentence (a file name, "Style mask 2").
 */
export function checkMask(mask: Mask, label: string): void {
  const { width, height, data } = mask;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1 || data.length !== width * height) {
    throw new RangeError(`${label}: a ${width}x${height} mask needs ${width * height} values, got ${data.length}.`);
  }
  let any = false;
  for (const v of data) {
    if (!(v >= 0 && v <= 1)) throw new NstError('BAD_ARGUMENT', `${label} has a value outside 0..1 (${v}): a mask holds one value per pixel from 0 to 1.`);
    any ||= v > 0;
  }
  if (!any) throw new NstError('BAD_ARGUMENT', `${label} is black everywhere, so it gives no region: paint where it applies (white), or leave it out.`);
}
