// The `normalize` balance: each term's weight divided by the size of its target, so that weights of 1 give every
// term an equal say whatever the image or the weights file (docs/loss.md). One place for the objective and for
// tiled renders, which balance against the whole image's targets.

import type { PlanarImage } from '../io/image.js';

/** Style layer l: 1 / mean(A_l²) of its target Gram. */
export function styleBalance(gram: Float32Array): number {
  return 1 / Math.max(meanSquare(gram), 1e-12);
}

/**
 * A guided style layer (one term per masked style image k, each against its own Gram A_l^k): 1 / Σ_k mean(A_l^k²),
 * so the layer's terms together have the say one unguided layer has; with one style this is styleBalance.
 */
export function guidedStyleBalance(grams: readonly Float32Array[]): number {
  return 1 / Math.max(grams.reduce((acc, gram) => acc + meanSquare(gram), 0), 1e-12);
}

/** Content layer l: 1 / mean(P_l²), given that mean of its target features. */
export function contentBalance(featuresMeanSquare: number): number {
  return 1 / Math.max(featuresMeanSquare, 1e-12);
}

/** At most this tv, an image is one flat colour (resampling a single pixel leaves float dust, not variation). */
export const FLAT_TV = 1e-6;

/**
 * TV: 1 / tv of the reference image (the content photo). A flat reference has no variation to measure by: 1 / its tv
 * of 0 made TV outweigh every other term a million-fold, and the run could not take a step. Then the first of
 * `fallbacks` (the style images) that is not flat sets the scale: the variation the painting has.
 */
export function tvBalance(reference: PlanarImage, fallbacks: readonly PlanarImage[] = []): number {
  for (const image of [reference, ...fallbacks]) {
    const tv = totalVariation(image);
    if (tv > FLAT_TV) return 1 / tv;
  }
  return 1 / FLAT_TV;
}

export function isFlat(image: PlanarImage): boolean {
  return totalVariation(image) <= FLAT_TV;
}

export function meanSquare(values: Float32Array): number {
  let acc = 0;
  for (const v of values) acc += v * v;
  return acc / values.length;
}

/** The loss convention's tv of an image (see graph/ops/losses.ts). */
export function totalVariation(image: PlanarImage): number {
  const { width, height, data } = image;
  if (width < 2 || height < 2) return 0;
  let acc = 0;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height - 1; y++) {
      for (let x = 0; x < width - 1; x++) {
        const i = (c * height + y) * width + x;
        acc += (data[i + width]! - data[i]!) ** 2 + (data[i + 1]! - data[i]!) ** 2;
      }
    }
  }
  return acc / (3 * (height - 1) * (width - 1));
}
