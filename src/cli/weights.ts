// The VGG19 weights of a command: --weights, else $NST_WEIGHTS, else the installed ones, else the built-in ones
// (the engine's locateWeights decides; this loads what it found and names the option at fault).

import { NstError, isNstError, loadWeights, locateWeights, randomVgg19Weights, WEIGHTS_HOW_TO, type Vgg19Weights } from '../engine/index.js';

export async function resolveWeights(options: { weights?: string; randomWeights?: boolean; seed?: number }): Promise<Vgg19Weights> {
  if (options.randomWeights) return randomVgg19Weights({ seed: options.seed ?? 1 });
  const location = await locateWeights({ argument: options.weights !== undefined ? { path: options.weights, label: '--weights' } : null });
  if (location.path === null) throw new NstError('WEIGHTS_NOT_FOUND', location.help);
  try {
    return await loadWeights(location.path);
  } catch (error) {
    // The engine says FILE_NOT_FOUND (exit 3, "a bad input image" to scripts); for the CLI a weights path that
    // leads nowhere, or a folder missing a shard, is a weights problem (exit 4), named by where the path came from.
    if (isNstError(error) && error.code === 'FILE_NOT_FOUND') {
      const from = location.origin === 'argument' ? '--weights' : location.origin === 'environment' ? 'NST_WEIGHTS' : location.source;
      throw new NstError('WEIGHTS_NOT_FOUND', `${from}: ${error.message} ${WEIGHTS_HOW_TO}`, { cause: error });
    }
    throw error;
  }
}
