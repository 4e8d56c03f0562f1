// The temporal term of video stylisation (Ruder et al. 2016): its inputs, their checks, and their resizes and crops.

import { NstError } from '../errors.js';
import { resizeMask } from '../io/mask.js';
import { MAX_LOSS_WEIGHT } from './objective.js';

/**
 * Frame t's pull towards frame t−1's result: the loss adds `weight · mean(mask ⊙ (x − target)²)` over all 3·H·W
 * values (docs/loss.md "Temporal term"). Warping happens outside the graph: target and mask are graph inputs, so a
 * new frame is new feeds (StyleObjective.setTemporal), not a new graph.
 */
export interface TemporalTerm {
  /** The previous stylised frame warped to this frame: 3×H×W planar, in the same value space as RunInputs.content.data. */
  readonly target: Float32Array;
  /** Consistency c per pixel, H×W in [0,1]: 0 where the flow is unreliable (occluded, motion boundary). */
  readonly mask: Float32Array;
  /** w_t ≥ 0 (0 = the term is off). */
  readonly weight: number;
}

/**
 * `normalize`'s factor for the temporal weight: the term measured in 0..1 pixel units. Pixels have a fixed range
 * (0..255), unlike features: a balance by the target's own mean square would blow up on a fade to black.
 */
export const TEMPORAL_BALANCE = 1 / 255 ** 2;

export interface ImageSize {
  readonly width: number;
  readonly height: number;
}

/**
 * Refuses a term that cannot belong to a width × height image (BAD_ARGUMENT, one sentence naming the part at fault):
 * a target of other than 3·W·H values or a value that is not finite, a mask of other than W·H values or one outside
 * 0..1, a weight that is not a finite number from 0 to MAX_LOSS_WEIGHT. An all-zero mask is allowed (a scene cut:
 * nothing of the last frame is consistent; the term is 0).
 */
export function checkTemporal(term: TemporalTerm, size: ImageSize): void {
  const { width, height } = size;
  const plane = width * height;
  const { weight } = term;
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > MAX_LOSS_WEIGHT) {
    throw new NstError('BAD_ARGUMENT', `The temporal weight must be a finite number from 0 to ${MAX_LOSS_WEIGHT.toExponential().replace('e+', 'e')}, got ${weight}.`);
  }
  if (!(term.target instanceof Float32Array) || term.target.length !== 3 * plane) {
    throw new NstError('BAD_ARGUMENT', `The temporal target holds ${term.target?.length ?? 'no'} values; a ${width}x${height} image needs ${3 * plane} (the previous frame warped to this one, planar RGB).`);
  }
  if (!(term.mask instanceof Float32Array) || term.mask.length !== plane) {
    throw new NstError('BAD_ARGUMENT', `The temporal mask holds ${term.mask?.length ?? 'no'} values; a ${width}x${height} image needs ${plane} (one consistency value per pixel).`);
  }
  for (let i = 0; i < term.target.length; i++) {
    const v = term.target[i]!;
    if (!Number.isFinite(v)) throw new NstError('BAD_ARGUMENT', `The temporal target has a value that is not finite (${v}) at index ${i}: the warped frame must hold numbers.`);
  }
  for (let i = 0; i < plane; i++) {
    const v = term.mask[i]!;
    if (!(v >= 0 && v <= 1)) throw new NstError('BAD_ARGUMENT', `The temporal mask has a value outside 0..1 (${v}) at pixel ${i}: consistency is one value per pixel from 0 to 1.`);
  }
}

/**
 * The term for another size of the same frame (a coarser scale, a downscaled plan): target and mask resampled
 * bilinearly (io/mask.ts's triangle filter, widened when shrinking; per plane for the target), the weight kept. The
 * term is checked against `from` first. Same size: the term itself.
 */
export function resizeTemporal(term: TemporalTerm, from: ImageSize, to: ImageSize): TemporalTerm {
  checkTemporal(term, from);
  if (from.width === to.width && from.height === to.height) return term;
  const plane = from.width * from.height;
  const resized = (data: Float32Array): Float32Array => resizeMask({ width: from.width, height: from.height, data }, to.width, to.height).data;
  const target = new Float32Array(3 * to.width * to.height);
  for (let c = 0; c < 3; c++) target.set(resized(term.target.subarray(c * plane, (c + 1) * plane)), c * to.width * to.height);
  return { target, mask: resized(term.mask), weight: term.weight };
}

/** The rectangle `rect` of a term at `size` (a tile), the weight times `weightFactor` (RangeError when it leaves the image). */
export function cropTemporal(term: TemporalTerm, size: ImageSize, rect: { x: number; y: number; width: number; height: number }, weightFactor = 1): TemporalTerm {
  const { x, y, width, height } = rect;
  if (x < 0 || y < 0 || width < 1 || height < 1 || x + width > size.width || y + height > size.height) {
    throw new RangeError(`The crop ${width}x${height}+${x}+${y} leaves the ${size.width}x${size.height} image.`);
  }
  const planes = (data: Float32Array, count: number): Float32Array => {
    const out = new Float32Array(count * width * height);
    for (let c = 0; c < count; c++) {
      for (let row = 0; row < height; row++) {
        const from = (c * size.height + y + row) * size.width + x;
        out.set(data.subarray(from, from + width), (c * height + row) * width);
      }
    }
    return out;
  };
  return { target: planes(term.target, 3), mask: planes(term.mask, 1), weight: term.weight * weightFactor };
}
