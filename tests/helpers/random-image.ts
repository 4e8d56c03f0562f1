// A seeded random image for tests (free of vitest: child processes import it too).

import type { PlanarImage } from '../../src/engine/io/image.js';
import { createRng } from '../../src/engine/sys/random.js';

/** A seeded image whose channels are uniform in [low, low + span). */
export function randomImage(width: number, height: number, seed: number, low = 40, span = 175): PlanarImage {
  const rng = createRng(seed);
  const data = new Float32Array(3 * width * height);
  for (let i = 0; i < data.length; i++) data[i] = low + span * rng.uniform();
  return { width, height, data };
}
