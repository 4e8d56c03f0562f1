// A tiny seeded PRNG (mulberry32 + Box–Muller) so weights, noise and tests are reproducible from one number.

import { NstError } from '../errors.js';

export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal (mean 0, standard deviation 1). */
  normal(): number;
}

/**
 * A deterministic generator for `seed` (any safe integer; the same seed always gives the same stream).
 * Not cryptographic: mulberry32 is 32-bit state, plenty for initialisation and test data.
 */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) {
    throw new NstError('BAD_ARGUMENT', `The random seed must be a whole number, got ${String(seed)}.`);
  }
  let state = mixSeed(seed);
  // Box–Muller makes normals in pairs; keeping the spare halves the cost and keeps streams stable.
  let spare: number | undefined;

  const uniform = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  const normal = (): number => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    // 1 - u lies in (0, 1], so the logarithm is finite.
    const radius = Math.sqrt(-2 * Math.log(1 - uniform()));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };

  return { uniform, normal };
}

/** Folds the high bits of a large seed into the 32-bit state, so seeds 1 and 2**32 + 1 differ. */
function mixSeed(seed: number): number {
  const low = seed >>> 0;
  const high = Math.floor(seed / 4294967296) >>> 0;
  return (low ^ Math.imul(high, 0x9e3779b9)) | 0;
}
