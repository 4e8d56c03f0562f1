// Finds the VGG19 weights for a command: --weights, else $NST_WEIGHTS, else the installed ones, else how to get them.

import { NstError, isNstError, loadWeights, randomVgg19Weights, dataDir, loadConvertedWeights, readWeightsIndex, type Vgg19Weights } from '../engine/index.js';

export const WEIGHTS_HELP =
  'Run `nst weights fetch` to download them (about 80 MB, once), or `nst weights import PATH` to install a VGG19 file ' +
  'you have (a Keras vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5, an ONNX model-zoo vgg19 .onnx, or a TF.js ' +
  'model folder); or pass --weights PATH, or set NST_WEIGHTS to that path.';

export async function resolveWeights(options: { weights?: string; randomWeights?: boolean; seed?: number }): Promise<Vgg19Weights> {
  if (options.randomWeights) return randomVgg19Weights({ seed: options.seed ?? 1 });
  const location = options.weights ?? process.env.NST_WEIGHTS;
  if (!location) {
    const root = dataDir();
    if (await readWeightsIndex(root)) return loadConvertedWeights(root);
    throw new NstError('WEIGHTS_NOT_FOUND', `No VGG19 weights found. ${WEIGHTS_HELP}`);
  }
  try {
    return await loadWeights(location);
  } catch (error) {
    // The engine says FILE_NOT_FOUND (exit 3, "a bad input image" to scripts); for the CLI a weights path that
    // leads nowhere, or a folder missing a shard, is a weights problem (exit 4), named by where the path came from.
    if (isNstError(error) && error.code === 'FILE_NOT_FOUND') {
      const from = options.weights !== undefined ? '--weights' : 'NST_WEIGHTS';
      throw new NstError('WEIGHTS_NOT_FOUND', `${from}: ${error.message} ${WEIGHTS_HELP}`, { cause: error });
    }
    throw error;
  }
}
