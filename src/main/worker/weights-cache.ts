// The weights of a worker thread's last job, kept for its next job with the same file (each thread has its own).

import { loadWeights, type Vgg19Weights } from '../../engine/index.js';

let weightsCache: { path: string; weights: Promise<Vgg19Weights> } | null = null;

/** The weights at `weightsPath`, loaded once per thread; a failed load is not kept (the user may fix the file). */
export function cachedWeights(weightsPath: string): Promise<Vgg19Weights> {
  if (weightsCache?.path !== weightsPath) {
    const weights = loadWeights(weightsPath);
    weightsCache = { path: weightsPath, weights };
    weights.catch(() => {
      if (weightsCache?.weights === weights) weightsCache = null;
    });
  }
  return weightsCache.weights;
}
