// The flicker of a stylised clip measured as its warping error: how far each output frame is from the next one
// carried back along the motion (issue 17's target), over the pixels seen in both.

import { NstError } from '../../errors.js';
import type { PlanarImage } from '../../io/image.js';
import { type FlowField, sampleBilinear } from './field.js';

/** One pair's figure: the mean squared difference in 0..255 levels² (the three channels averaged) and its support. */
export interface PairWarpingError {
  readonly meanSquared: number;
  /** Pixels of frame t whose motion lands inside frame t+1 (each counted once, not per channel). */
  readonly visiblePixels: number;
}

export interface WarpingError {
  /** The mean over pairs of each pair's mean squared difference, 0..255 levels² (RGB averaged). */
  readonly meanSquared: number;
  /** Each pair (t, t+1) in order. */
  readonly pairs: readonly PairWarpingError[];
}

/**
 * mean over pixels p of `current` visible in `next` of (current(p) − next(p + u(p)))², u = `motion` from `current` to
 * `next`, next sampled bilinearly. A pixel whose p + u falls outside [0, W−1] × [0, H−1] (pixel centres) is not
 * visible: it left the frame, and a clamped edge sample would count a difference that is no flicker.
 * Errors: BAD_ARGUMENT (the frames or the flow differ in size; no pixel is visible).
 */
export function pairWarpingError(current: PlanarImage, next: PlanarImage, motion: FlowField): PairWarpingError {
  const { width, height } = current;
  if (next.width !== width || next.height !== height || motion.width !== width || motion.height !== height) {
    throw new NstError('BAD_ARGUMENT', `A warping error needs two frames and a flow of one size, got frames ${width}x${height} and ${next.width}x${next.height} and a flow ${motion.width}x${motion.height}.`);
  }
  const n = width * height;
  const planes = [0, 1, 2].map((c) => next.data.subarray(c * n, (c + 1) * n));
  let sum = 0;
  let visible = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const qx = x + motion.u[i]!;
      const qy = y + motion.v[i]!;
      if (!(qx >= 0 && qy >= 0 && qx <= width - 1 && qy <= height - 1)) continue;
      visible++;
      for (let c = 0; c < 3; c++) {
        const d = current.data[c * n + i]! - sampleBilinear(planes[c]!, width, height, qx, qy);
        sum += d * d;
      }
    }
  }
  if (visible === 0) throw new NstError('BAD_ARGUMENT', `No pixel of the ${width}x${height} frame is visible in the next one along the flow: there is no warping error to measure.`);
  return { meanSquared: sum / (3 * visible), visiblePixels: visible };
}

/**
 * The warping error of a sequence: pairWarpingError of every consecutive pair, `motionAt(t)` the flow from frame t
 * to t+1 (0-based), and their mean. Errors: BAD_ARGUMENT (fewer than two frames; as pairWarpingError).
 */
export function warpingError(frames: readonly PlanarImage[], motionAt: (t: number) => FlowField): WarpingError {
  if (frames.length < 2) throw new NstError('BAD_ARGUMENT', `A warping error needs at least two frames, got ${frames.length}.`);
  const pairs: PairWarpingError[] = [];
  for (let t = 0; t + 1 < frames.length; t++) pairs.push(pairWarpingError(frames[t]!, frames[t + 1]!, motionAt(t)));
  return { meanSquared: pairs.reduce((sum, pair) => sum + pair.meanSquared, 0) / pairs.length, pairs };
}

/**
 * A flow field from a formula of motion, for a clip's true motion: `motion(x, y)` in the clip's own pixels, sampled
 * at each pixel centre of a frame `scale` times that size (centres map back by (p + 0.5) / scale − 0.5, and the
 * motion scales with the frame).
 */
export function flowFromMotion(width: number, height: number, motion: (x: number, y: number) => readonly [number, number], scale = 1): FlowField {
  const u = new Float32Array(width * height);
  const v = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [mu, mv] = motion((x + 0.5) / scale - 0.5, (y + 0.5) / scale - 0.5);
      u[y * width + x] = mu * scale;
      v[y * width + x] = mv * scale;
    }
  }
  return { width, height, u, v };
}
